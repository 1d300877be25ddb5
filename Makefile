# The two commands most people need: `make run` (the bot; without a Telegram token, the
# sandbox with its chat page) and `make test`. Both install what they need first.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run sandbox reset-sandbox screenshot test test-unit test-e2e lint format typecheck bench migrate clean

install: $(VENV)/.installed

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

run: install
	$(BIN)/python -m bot

sandbox: install
	$(BIN)/python -m bot sandbox

# Forget the sandbox's conversations, payments and settings (stop `make run` first).
reset-sandbox:
	rm -rf sandbox-data

# docs/sandbox.png, the README's picture (needs /usr/bin/chromium: apt-get install chromium).
screenshot: install
	$(BIN)/python -m scripts.sandbox_screenshot

migrate: install
	$(BIN)/python -m bot migrate

test: install
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest tests/unit

test-e2e: install
	$(BIN)/pytest tests/e2e

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache sandbox-data
