# infra_lab — the two commands:
#   make lab    set up (local .venv) and open JupyterLab on notebooks/00_index.ipynb
#   make test   set up and run every test, notebooks included
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8888
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
JUPYTER_ENV := JUPYTER_CONFIG_DIR=$(CURDIR)/.jupyter_local/config JUPYTER_DATA_DIR=$(CURDIR)/.jupyter_local/data \
               JUPYTER_RUNTIME_DIR=$(CURDIR)/.jupyter_local/runtime IPYTHONDIR=$(CURDIR)/.jupyter_local/ipython

PIP    := $(PY) -m pip --disable-pip-version-check -q
# The numba kernels compiled into numba's cache once per change of their sources, so that the
# first notebook opened does not pay for compiling them, and the busiest-rank expert tables stored
# in the user's cache folder (tools/warm_kernels.py).
WARM   := $(VENV)/.kernels-warm

.PHONY: setup lab test test-fast browser-test wheel-test site bench lint lock clean

# setup also compiles the numba kernels into numba's cache (below), so that every later command --
# a notebook opened in the lab, executed headless (jupyter nbconvert --execute, the notebook
# tests), or the infra-lab command -- starts from compiled kernels instead of compiling them first.
setup: $(STAMP) $(WARM)

# Installs the pinned versions of requirements.lock (all extras), then the project itself.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# Re-pin requirements.lock after changing dependencies in pyproject.toml (needs the network).
lock: setup
	$(PIP) install uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra lab --extra dev --python-version 3.11 \
		--universal --quiet -o requirements.lock

$(WARM): $(STAMP) tools/warm_kernels.py $(wildcard infra_lab/_kernels/*.py) infra_lab/compute/moe.py infra_lab/_disk_cache.py
	$(PY) tools/warm_kernels.py
	@touch $(WARM)

lab: setup
	$(JUPYTER_ENV) $(VENV)/bin/jupyter lab --port=$(PORT) $(ROOT_FLAG) notebooks/00_index.ipynb

# The tests run in parallel (pytest-xdist) on PYTEST_WORKERS workers: by default one per CPU
# core this process may use, at most 8 (the browser and notebook groups, each on one worker, are
# the floor of the wall time beyond a few workers). PYTEST_WORKERS=1 runs serially, without
# xdist. The grouping (--dist loadgroup, pyproject's addopts) is described in tests/conftest.py.
NCPU           := $(shell nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
PYTEST_WORKERS ?= $(shell n=$(NCPU); [ "$$n" -gt 8 ] 2>/dev/null && n=8; echo $$n)
PYTEST_N       := -n $(if $(filter 1,$(PYTEST_WORKERS)),0,$(PYTEST_WORKERS))

# Every test: unit, property-based, notebooks (executed headless), and the browser test.
test: setup
	$(PY) tests/browser_setup.py
	$(PY) -m pytest -q $(PYTEST_N)

# Everything except the notebooks, the browser and the wheel build.
test-fast: setup
	$(PY) -m pytest -q $(PYTEST_N) -m "not notebook and not browser and not wheel"

# Build sdist + wheel, install the wheel in a fresh venv outside the checkout, smoke-run it.
wheel-test: setup
	$(PY) -m pytest -q -m wheel

browser-test: setup
	$(PY) tests/browser_setup.py
	$(PY) -m pytest -q -m browser

# Static HTML site of the executed notebooks in build/site/ (open build/site/index.html; no
# network needed). Reuses build/executed/ (written by the notebook tests) when it is fresh.
site: setup
	$(PY) tools/sitebuild.py

bench: setup
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

lint: setup
	$(VENV)/bin/ruff check infra_lab tests benchmarks tools

clean:
	rm -rf $(VENV) .jupyter_local build .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
