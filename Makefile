# Two commands do everything on a fresh machine:
#   make demo   set up, transcribe the bundled sample calls, write outputs under reports/
#   make test   set up (with test extras) and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of PyTorch; an unpinned torch would pull several GB of CUDA packages.
TORCH_PIN ?= torch==2.13.0

.PHONY: setup setup-dev demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.setup: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# openai-whisper is installed without its triton requirement (a CUDA-only kernel compiler of
# ~200 MB that CPU inference never loads); its other runtime dependencies are listed here.
$(VENV)/.setup-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH_PIN)"
	$(BIN)/pip install --quiet --no-deps openai-whisper==20250625
	$(BIN)/pip install --quiet numba tiktoken more-itertools tqdm
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.setup

setup: $(VENV)/.setup
setup-dev: $(VENV)/.setup-dev

demo: setup
	$(BIN)/qa transcribe samples/recordings --out reports/transcripts --format txt,vtt

test: setup-dev
	$(BIN)/python -m pytest -q -rs

bench: setup-dev
	$(BIN)/python benchmarks/transcribe.py

clean:
	rm -rf $(VENV) reports/transcripts .pytest_cache
