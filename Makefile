# The two commands of README.md, each doing its own set-up on a machine with Python >= 3.11
# and make: a virtual environment in .venv with the project installed editable (installed
# again whenever pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test check clean

# The main job: Han's 2/100 Hz dense-disperse profile on the built-in simulator, in virtual
# time, recorded, with what each channel delivered printed at the end.
run: $(VENV)/.installed-run
	$(BIN)/eactl run lbp_2_100hz_han --fast --yes

# The whole suite as CI runs it (two workers, every optional extra installed; the system
# tools its browser and firmware tests need, installed as .ci/run does when missing: Debian's
# chromium, gcc and clang, with apt-get as root).
test: $(VENV)/.installed-test
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	command -v gcc >/dev/null || (apt-get update && apt-get install -y gcc)
	command -v clang >/dev/null || (apt-get update && apt-get install -y clang)
	$(BIN)/pytest -n 2

# What CI runs besides the tests.
check: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy --strict benchmarks
	$(BIN)/mypy --strict firmware/tools

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable ".[test,plot,data,nwb,lsl,dask,panel]"
	touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV)
