# `make train` and `make test` create the virtual environment from requirements.txt when it is
# missing or older than requirements.txt, then run.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
BASE_PYTHON ?= $(shell command -v python3.11 || command -v python3)

.PHONY: train test venv clean-venv

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

clean-venv:
	rm -rf $(VENV)
