# The two commands of README: `make demo` and `make test`. Both install what they need from
# uv.lock first (uv itself is bootstrapped with pip when it is missing).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export DO_NOT_TRACK := 1
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")

.PHONY: setup setup-spark demo test lint browser

# a user install of uv; a distribution's Python that refuses user installs (PEP 668) is
# told that this one package is meant for the user's own bin folder
$(UV):
	python3 -m pip install --user --quiet uv 2>/dev/null \
		|| python3 -m pip install --user --quiet --break-system-packages uv

setup: | $(UV)
	$(UV) sync --frozen

# setup plus the optional `spark` extra (dbt-spark, PySpark; Java 17 from the machine): the
# test suite builds the dbt project on a local Spark session too (tests/test_spark_parity.py)
setup-spark: | $(UV)
	$(UV) sync --frozen --extra spark

demo: setup
	$(UV) run --frozen beacon demo

# headless Chromium for the report's browser test (tests/test_report.py): Debian's package,
# installed only when no chromium is on the PATH and apt-get is there (root, or sudo without
# a password); otherwise nothing happens and that test skips outside CI
browser:
	@command -v chromium >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 \
		|| { [ "$$(id -u)" = 0 ] && SUDO= || SUDO="sudo -n"; \
		     $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; } \
		|| echo "chromium could not be installed: the report's browser test skips (fails in CI)"

test: setup-spark browser
	$(UV) run --frozen --extra spark pytest

lint: setup
	$(UV) run --frozen ruff check . && $(UV) run --frozen ruff format --check .
