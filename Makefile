# Two commands do everything on a fresh machine:  `make study`  and  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
# Offline by construction: nothing may reach a model hub at run time.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup data study test lab clean-study

setup: $(VENV)/.installed  ## create .venv with the pinned environment and the `tcd` command

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

data: setup  ## build the embedded SynthTextVR corpus (deterministic) and pin it with data.dvc
	$(BIN)/tcd data synth --params params.yaml
	$(BIN)/dvc add --quiet data

study: data  ## the whole study: every stage's notebook through papermill, via DVC
	$(BIN)/dvc repro
	$(BIN)/tcd summary

test: setup  ## the test suite (CI runs exactly this)
	$(BIN)/python -m pytest -q

lab: setup  ## jupyterlab on the notebooks (right-click a script -> Open With -> Notebook); as root too, like containers
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

clean-study:  ## remove stage outputs (DVC cache kept)
	rm -rf artifacts reports/notebooks reports/figures reports/tables reports/report.html
