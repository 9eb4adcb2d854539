# `make setup` builds .venv/ once (again only when pyproject.toml changes).
VENV := .venv
PYTHON := $(VENV)/bin/python
READY := $(VENV)/.ready

.PHONY: setup demo test bench

setup: $(READY)

$(READY): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	# The CPU build of torch first (pip finds it on this machine's disk), then the rest.
	$(PYTHON) -m pip install --quiet torch==2.13.0
	$(PYTHON) -m pip install --quiet -e '.[test,train]'
	# OpenRLHF without its GPU requirements (flash-attn, vLLM, deepspeed do not build here); its
	# wheel also ships a top-level `tests` package, removed so it cannot shadow ours.
	$(PYTHON) -m pip install --quiet --no-deps openrlhf==0.11.2
	rm -rf $(VENV)/lib/python3*/site-packages/tests
	touch $(READY)

demo: setup
	$(VENV)/bin/aural score -o build/demo/scored.jsonl

test: setup
	$(PYTHON) -m pytest

bench: setup
	$(PYTHON) benchmarks/bench_score.py
	$(PYTHON) benchmarks/bench_server.py
