"""pyproject.toml is the source of truth; environment.yml mirrors it."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _req(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(>=\s*[0-9.]+)?", spec)
    assert m, spec
    return m.group(1).lower().replace("_", "-"), (m.group(2) or "").replace(" ", "")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _env_yml():
    """Parse environment.yml's dependency list without PyYAML (flat list + pip sub-list)."""
    deps, pip = [], []
    section = None
    for line in (ROOT / "environment.yml").read_text().splitlines():
        s = line.split("#", 1)[0].rstrip()
        if not s.strip():
            continue
        if re.match(r"^\S", s):
            section = s.split(":")[0]
            continue
        item = s.strip()
        if section == "dependencies" and item.startswith("- "):
            if line.startswith("      - "):
                pip.append(item[2:].strip())
            elif item == "- pip:":
                continue
            else:
                deps.append(item[2:].strip())
    return deps, pip


def test_requires_python_311():
    assert _pyproject()["project"]["requires-python"] == ">=3.11"


def test_environment_yml_mirrors_pyproject():
    proj = _pyproject()["project"]
    extras = proj["optional-dependencies"]
    wanted = dict(_req(s) for s in proj["dependencies"] + extras["lab"] + extras["dev"])
    deps, pip = _env_yml()
    have = dict(_req(s) for s in deps if not s.startswith("python") and s != "pip")
    assert have == wanted, f"environment.yml {have} != pyproject {wanted}"
    py = [d for d in deps if d.startswith("python")]
    assert py == ["python>=3.11"]
    assert "pip" in deps and pip == ["-e ."]


def test_required_runtime_packages():
    names = {_req(s)[0] for s in _pyproject()["project"]["dependencies"]}
    for n in ["numpy", "numba", "polars", "altair", "anywidget", "ipywidgets", "vl-convert-python"]:
        assert n in names
    # the notebook stack is an extra, not a runtime dependency of the library
    assert "jupyterlab" not in names
    lab = {_req(s)[0] for s in _pyproject()["project"]["optional-dependencies"]["lab"]}
    assert {"jupyterlab", "ipykernel"} <= lab


def _lock() -> dict[str, list[str]]:
    """requirements.lock as name -> pinned versions (one per environment marker)."""
    pins: dict[str, list[str]] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([0-9A-Za-z.+!]+)", line)
        if m:
            pins.setdefault(m.group(1).lower().replace("_", "-"), []).append(m.group(2))
    return pins


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", v)[:3])


def test_lock_pins_every_dependency_within_its_floor():
    """make setup installs requirements.lock: it must pin every dependency of pyproject.toml
    (all extras) at a version that satisfies the floor there (re-pin with `make lock`)."""
    proj = _pyproject()["project"]
    extras = proj["optional-dependencies"]
    pins = _lock()
    for spec in proj["dependencies"] + extras["lab"] + extras["dev"]:
        name, floor = _req(spec)
        assert name in pins, f"{name} is not pinned in requirements.lock; run `make lock`"
        if floor:
            for v in pins[name]:
                assert _version_tuple(v) >= _version_tuple(floor[2:]), (name, v, floor)


def test_data_dir_is_found_through_the_package():
    import infra_lab as il

    assert (il.catalog.DATA_DIR / "accelerators.csv").is_file()
    assert (ROOT / "infra_lab" / "py.typed").is_file()


def test_import_is_light():
    """`import infra_lab` must not pull in altair or numba (they load lazily)."""
    code = (
        "import sys, infra_lab; "
        "bad = [m for m in ('altair', 'numba', 'ipywidgets', 'jupyterlab') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"heavy modules imported by `import infra_lab`: {out.stdout}"


def test_every_lazy_submodule_and_call_resolves():
    """Each name that ``infra_lab.__getattr__`` promises imports (no dangling entries)."""
    import infra_lab as il

    for name in sorted(il._SUBMODULES):
        assert getattr(il, name).__name__ == f"infra_lab.{name}"
    for name in il._LAZY_FUNCS:
        assert callable(getattr(il, name))


def test_gitignore_covers_caches():
    gi = (ROOT / ".gitignore").read_text()
    for pat in ["*.nbi", "*.nbc", ".ipynb_checkpoints", ".venv"]:
        assert pat in gi


def test_no_tracked_numba_caches():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:  # not a git checkout (e.g. an sdist): nothing to check
        return
    bad = [f for f in out.stdout.splitlines() if f.endswith((".nbi", ".nbc")) or ".ipynb_checkpoints" in f]
    assert bad == []


def test_ruff_is_clean():
    """The code passes the project's linter (``make lint``): unused imports and loop-bound
    lambdas have hidden real bugs before."""
    import shutil

    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    assert ruff, "ruff is a dev dependency; run `make setup`"
    out = subprocess.run([ruff, "check", "--output-format", "concise",
                          "infra_lab", "tests", "benchmarks", "tools"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_kernel_cache_guard_clears_stale_numba_objects(tmp_path):
    """numba keys a cached kernel on its own file only; the guard in infra_lab._kernels
    drops every cached object when any kernel module changed (a caller would otherwise keep
    an old compiled callee from another module)."""
    from infra_lab import _kernels as K

    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text("x = 1\n")
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in ("a.f-1.py311.nbi", "a.f-1.py311.1.nbc"):
        (cache / name).write_bytes(b"compiled")
    first = K.sources_digest(src)
    assert K.clear_stale_cache(cache, first) == 2          # no stamp yet: cleared, stamped
    (cache / "a.f-1.py311.nbi").write_bytes(b"compiled")
    assert K.clear_stale_cache(cache, first) == 0          # same sources: cache kept
    assert (cache / "a.f-1.py311.nbi").is_file()
    (src / "a.py").write_text("x = 2\n")
    second = K.sources_digest(src)
    assert second != first
    assert K.clear_stale_cache(cache, second) == 1         # a source changed: cleared
    assert not list(cache.glob("*.nb[ic]"))
    assert (cache / K.STAMP_NAME).read_text().strip() == second


def _kernel_calls_with_literal_ints(folder: Path = ROOT / "infra_lab" / "_kernels") -> list[str]:
    """Calls from one numba kernel to another (not inlined) kernel that pass an int literal
    or a module-level int constant as an argument, as ``module.caller:line callee(args)``."""
    import ast

    trees = {p.stem: ast.parse(p.read_text()) for p in sorted(folder.glob("*.py"))}

    def kernels(tree):
        out = {}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                for d in node.decorator_list:
                    f = d.func if isinstance(d, ast.Call) else d
                    if isinstance(f, ast.Name) and f.id == "njit":
                        inline = isinstance(d, ast.Call) and any(
                            k.arg == "inline" and isinstance(k.value, ast.Constant) and k.value.value == "always"
                            for k in d.keywords)
                        out[node.name] = inline
        return out

    def int_constants(tree):
        names = set()
        for node in tree.body:
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    for e in t.elts if isinstance(t, ast.Tuple) else [t]:
                        if isinstance(e, ast.Name) and e.id.isupper():
                            names.add(e.id)
        return names

    kern = {m: kernels(t) for m, t in trees.items()}
    for _ in range(2):   # kernels a module re-exports (fabric re-exports the collective kernels)
        for mod, tree in trees.items():
            for node in tree.body:
                if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module in kern:
                    for a in node.names:
                        if a.name in kern[node.module]:
                            kern[mod].setdefault(a.asname or a.name, kern[node.module][a.name])
    found = []
    for mod, tree in trees.items():
        by_name = kern[mod]
        aliases = {a.asname or a.name: a.name for node in tree.body
                   if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module is None
                   for a in node.names if a.name in kern}
        consts = int_constants(tree)
        for fn in tree.body:
            if not (isinstance(fn, ast.FunctionDef) and fn.name in kern[mod]):
                continue
            for call in ast.walk(fn):
                if not isinstance(call, ast.Call):
                    continue
                f = call.func
                if isinstance(f, ast.Name) and f.id in by_name:
                    name, inline = f.id, by_name[f.id]
                elif (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in aliases
                      and f.attr in kern[aliases[f.value.id]]):
                    name, inline = f.attr, kern[aliases[f.value.id]][f.attr]
                else:
                    continue
                if inline:
                    continue
                bad = [ast.unparse(a) for a in call.args
                       if (isinstance(a, ast.Constant) and type(a.value) is int)
                       or (isinstance(a, ast.UnaryOp) and isinstance(a.operand, ast.Constant))
                       or (isinstance(a, ast.Name) and a.id in consts)]
                if bad:
                    found.append(f"{mod}.{fn.name}:{call.lineno} {name}({', '.join(bad)})")
    return found


def test_kernels_pass_typed_ints_to_kernels():
    """numba types an int literal argument (``2``, ``-1``, a module-level int such as an index
    constant) as ``Literal[int]`` and compiles a separate specialization of the called kernel,
    and of everything it calls, for each value: the collective kernel was compiled six times
    over for one notebook. Kernels hand such values on as ``np.int64(...)`` (same value, one
    compile); functions inlined at the IR level (``inline="always"``) are exempt."""
    assert _kernel_calls_with_literal_ints() == []


def test_the_literal_int_scan_sees_a_literal(tmp_path):
    """The scan above flags a literal argument (on a copy of the kernels with one put back)."""
    import shutil

    src = ROOT / "infra_lab" / "_kernels"
    for p in src.glob("*.py"):
        shutil.copy(p, tmp_path / p.name)
    t = tmp_path / "training.py"
    text = t.read_text()
    assert "best_collective(op, np.int64(-1), size, n, k, P)" in text
    t.write_text(text.replace("best_collective(op, np.int64(-1), size, n, k, P)",
                              "best_collective(op, -1, size, n, k, P)"))
    found = _kernel_calls_with_literal_ints(tmp_path)
    assert len(found) == 1 and found[0].startswith("training.coll:") and found[0].endswith("best_collective(-1)")


def _asserts_that_cannot_fail(folder: Path = ROOT / "tests") -> list[str]:
    """``assert`` statements of the test files whose condition is an ``or`` with a constant true
    operand (``assert x == y or True``): such an assert passes whatever the code does."""
    import ast

    found = []
    for p in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Assert) and isinstance(node.test, ast.BoolOp) and isinstance(node.test.op, ast.Or)
                    and any(isinstance(v, ast.Constant) and v.value for v in node.test.values)):
                found.append(f"{p.name}:{node.lineno}")
    return found


def test_no_assert_is_made_true_by_an_or_constant(tmp_path):
    """The December 2026 review found ``… or True`` in test_training.py (an assert that could not
    fail); none has come back. The scan flags one put back (in a copy)."""
    assert _asserts_that_cannot_fail() == []
    (tmp_path / "test_x.py").write_text("def test_x():\n    x = 1\n    assert x == 2 or True\n", encoding="utf-8")
    assert _asserts_that_cannot_fail(tmp_path) == ["test_x.py:3"]
