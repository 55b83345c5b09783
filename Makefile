# Two commands do everything on a fresh machine:
#   make demo   set up, transcribe and score the bundled sample calls, write reports/
#   make test   set up (with test extras) and run the whole test suite (make test-fast: no e2e)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of PyTorch; an unpinned torch would pull several GB of CUDA packages.
TORCH_PIN ?= torch==2.13.0

# Debian packages: pango/harfbuzz for the PDF renderer, a CJK font for Chinese names and
# evidence in charts and PDFs; the tests also render PDFs to PNG (poppler), start a real
# PostgreSQL server, speak a Mandarin clip for the language gate (espeak-ng) and check the
# report site in a real browser (Debian's chromium, driven by Playwright's Python package,
# which downloads no browser of its own).
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk
TEST_SYSTEM_PACKAGES := $(SYSTEM_PACKAGES) poppler-utils postgresql espeak-ng chromium

.PHONY: setup setup-dev system-packages system-packages-dev speedups demo test test-fast bench docs clean

# Installs what is missing, with apt-get as root (or through sudo).
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null; then echo "Please install: $$missing" >&2; exit 1; fi; \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "Installing system packages: $$missing"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

system-packages:
	$(call apt_install,$(SYSTEM_PACKAGES))

system-packages-dev:
	$(call apt_install,$(TEST_SYSTEM_PACKAGES))

# Packages install with uv: downloads and bytecode compilation run in parallel, about half of
# pip's time for the test extras. Bytecode is compiled at install because worker processes
# started by multiprocessing's spawn run with -B and would otherwise compile PyTorch and the
# rest from source on every start. PyTorch itself comes through pip, which reads the machine's
# pip configuration (find-links, mirrors) for the CPU build. INSTALLER=pip installs everything
# with pip, e.g. behind a package mirror only pip is configured for.
INSTALLER ?= uv
UV_PIN ?= uv==0.13.9
ifeq ($(INSTALLER),uv)
INSTALL = $(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode
INSTALLER_BIN := $(BIN)/uv
else
INSTALL = $(BIN)/pip install --quiet
INSTALLER_BIN := $(BIN)/python
endif

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(BIN)/uv: | $(BIN)/python
	$(BIN)/pip install --quiet "$(UV_PIN)"

# Mono recordings need speaker diarization (resemblyzer on the CPU build of PyTorch): installed
# without resemblyzer's own requirements, which name a source-only VAD package and an obsolete
# backport; what it really imports is listed here.
define install_diarization
	$(BIN)/pip install --quiet "$(TORCH_PIN)"
	$(INSTALL) --no-deps resemblyzer==0.1.4
	$(INSTALL) webrtcvad-wheels librosa
endef

$(VENV)/.setup: pyproject.toml | $(INSTALLER_BIN)
	$(install_diarization)
	$(INSTALL) -e .
	touch $@

# openai-whisper is installed without its triton requirement (a CUDA-only kernel compiler of
# ~200 MB that CPU inference never loads); its other runtime dependencies are listed here.
$(VENV)/.setup-dev: pyproject.toml | $(INSTALLER_BIN)
	$(install_diarization)
	$(INSTALL) --no-deps openai-whisper==20250625
	$(INSTALL) numba tiktoken more-itertools tqdm -e ".[dev]"
	touch $@ $(VENV)/.setup

# Scoring's inner loops (qa_pipeline/kernels.py) compiled with mypyc: the same results about a
# fifth faster. Optional: where the build fails (no C compiler, no Python headers) scoring runs
# the source, and a build older than the source is never loaded.
KERNELS_BUILD := $(VENV)/.kernels-build
$(KERNELS_BUILD): qa_pipeline/kernels.py | $(INSTALLER_BIN)
	@$(INSTALL) "mypy>=1.13"
	@if $(BIN)/mypyc qa_pipeline/kernels.py >$(VENV)/mypyc.log 2>&1; then \
	  touch qa_pipeline/kernels*.so; \
	  echo "Compiled qa_pipeline/kernels.py (scoring speedups)"; \
	else \
	  rm -f qa_pipeline/kernels*.so; \
	  echo "Warning: could not compile qa_pipeline/kernels.py (see $(VENV)/mypyc.log); scoring runs the source" >&2; \
	fi
	@touch $@

speedups: $(KERNELS_BUILD)

setup: system-packages $(VENV)/.setup $(KERNELS_BUILD)
setup-dev: system-packages-dev $(VENV)/.setup-dev $(KERNELS_BUILD)

# Transcribes, scores and stores the sample calls (./qa.db), then writes the report site and
# the team PDF to ./reports/. Running it again skips the calls already done.
demo: setup
	$(BIN)/qa run samples/recordings --pdf
	@echo "Open reports/index.html (team report: reports/qa-report.pdf)"

# The suite runs on TEST_WORKERS pytest-xdist workers, each test file whole on one worker (its
# module fixtures, such as a rendered batch, are built once) and the files with end-to-end tests
# first (tests/conftest.py). --dist loadgroup would ignore its groups: xdist 3.8 sets a node id
# attribute that pytest 9 no longer reads. TEST_WORKERS=0 runs everything in one process.
# test-fast leaves out the tests marked e2e: the inner loop while editing; CI runs `make test`.
TEST_WORKERS ?= 2
PYTEST_WORKERS := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

test: setup-dev
	$(BIN)/python -m pytest -q -rs $(PYTEST_WORKERS)

test-fast: setup-dev
	$(BIN)/python -m pytest -q -rs -m "not e2e" $(PYTEST_WORKERS)

bench: setup-dev
	$(BIN)/python benchmarks/transcribe.py

# docs/cli.md, the reference of every command and option, is generated from the commands'
# help: run after adding or changing one (tests/test_docs.py fails while one is missing).
docs: | $(VENV)/.setup
	$(BIN)/python -m qa_pipeline.cli.reference docs/cli.md

clean:
	rm -rf $(VENV) .pytest_cache qa.db qa.db-* qa.db.lock logs build qa_pipeline/kernels*.so
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +
