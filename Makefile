# The two commands of README: `make demo` and `make test`. Both install what they need from
# uv.lock first (uv itself is bootstrapped with pip when it is missing).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export DO_NOT_TRACK := 1
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")

.PHONY: setup demo test lint

$(UV):
	python3 -m pip install --user --quiet uv

setup: | $(UV)
	$(UV) sync --frozen

demo: setup
	$(UV) run --frozen beacon demo

test: setup
	$(UV) run --frozen pytest

lint: setup
	$(UV) run --frozen ruff check . && $(UV) run --frozen ruff format --check .
