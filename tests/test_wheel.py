"""The package as users install it: build the sdist and wheel, install the wheel into a
fresh virtual environment outside the checkout, and run tools/smoke_installed.py there."""

import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The three tests share one build (the module's ``dist`` fixture): under pytest-xdist they run
# on one worker, so the sdist and wheel are built once.
pytestmark = [pytest.mark.wheel, pytest.mark.xdist_group("wheel")]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel",
                    "--outdir", str(out), str(ROOT)], check=True, capture_output=True, text=True)
    return out


def test_wheel_carries_data_and_no_caches(dist):
    (whl,) = dist.glob("infra_lab-*.whl")
    names = zipfile.ZipFile(whl).namelist()
    assert "infra_lab/data/accelerators.csv" in names
    assert "infra_lab/data/models/presets.csv" in names
    assert any(n.startswith("infra_lab/data/scenarios/") and n.endswith(".toml") for n in names)
    assert "infra_lab/py.typed" in names
    assert not [n for n in names if n.endswith((".nbi", ".nbc", ".pyc"))]
    # every tracked data file travels
    tracked = subprocess.run(["git", "ls-files", "data"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode == 0:
        missing = [f for f in tracked.stdout.split() if f"infra_lab/{f}" not in names]
        assert missing == []


def test_sdist_carries_data(dist):
    (sd,) = dist.glob("infra_lab-*.tar.gz")
    names = tarfile.open(sd).getnames()
    assert any(n.endswith("/data/accelerators.csv") for n in names)
    assert any(n.endswith("/infra_lab/catalog.py") for n in names)


def test_installed_wheel_smoke(dist, tmp_path):
    (whl,) = dist.glob("infra_lab-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "--constraint", str(ROOT / "requirements.lock"), str(whl)],
                   check=True, capture_output=True, text=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run = subprocess.run([str(py), str(ROOT / "tools" / "smoke_installed.py")], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=900)
    print(run.stdout)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "smoke: all checks passed" in run.stdout
