# Two commands on a fresh machine: `make demo` (install + the main job) and `make test` (install + tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Extra pip arguments for torch, e.g. a CPU-only index on machines whose default torch wheel is CUDA.
TORCH_PIP_ARGS ?=
PYTEST_ARGS ?=

.PHONY: install demo test test-slow test-all clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned, so nothing later resolves a different (multi-GB CUDA) build.
	$(BIN)/pip install "torch==2.13.0" $(TORCH_PIP_ARGS)
	$(BIN)/pip install -e ".[dev]"
	touch $@

demo: install
	$(BIN)/alignrl sft configs/tiny_sort.yaml --out runs/demo

# The fast tier; pytest's exit 5 (nothing collected) is not a failure.
test: install
	$(BIN)/pytest -m "not slow and not gpu" $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

test-slow: install
	$(BIN)/pytest -m "slow and not gpu" $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && exit 0; exit $$rc

test-all: install
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache
