# `make train`, `make test` and `make bench` create the virtual environment from requirements.txt when it is
# missing or older than requirements.txt, then run.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
BASE_PYTHON ?= $(shell command -v python3.11 || command -v python3)

.PHONY: train test bench venv clean-venv

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(PYTHON) || $(BASE_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements.txt
	touch $@

train: venv
	$(PYTHON) train.py

test: venv
	$(PYTHON) -m pytest -q

# Timing of the training loop against a naive TF1 loop, NumPy, scikit-learn and Keras; writes
# bench/RESULTS.md. `make bench BENCH_ARGS=--quick` takes under a minute and only prints.
bench: venv
	$(PYTHON) -m bench $(BENCH_ARGS)

clean-venv:
	rm -rf $(VENV)
