# Two set-up commands on a fresh machine: `make demo` and `make test`. Everything else is bootstrapped here.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv

.PHONY: demo test test-fast deps postgres chromium lint bench clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

# Bytecode compiled at install: where PYTHONDONTWRITEBYTECODE is set, every koppel process would otherwise
# compile Django, DBOS and the rest again (measured: 8.4 s -> 3.3 s CPU to import what `koppel sync` needs).
.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	touch $@

deps: .venv/.synced

# PostgreSQL server binaries for the tests (the tests start and stop their own server).
postgres:
	@if command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; else \
	  echo "installing PostgreSQL from Debian's packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  service postgresql stop >/dev/null 2>&1 || true; \
	fi

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser itself).
chromium:
	@if command -v chromium >/dev/null; then :; else \
	  echo "installing Chromium from Debian's packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

demo: deps
	.venv/bin/koppel demo

test: deps postgres chromium
	.venv/bin/python -m pytest -q

# The inner loop: everything but PostgreSQL, the browser and the tests marked slow, on three workers for two
# cores (a third of the time a worker waits on a sandbox's socket; measured idle: 107 s with two workers,
# 87 s with three; a test file stays on one worker, so its module fixtures start once), with a fifth of the
# property tests' examples (tests/examples.py). CI runs `make test`, in one process. Bytecode is kept even where
# PYTHONDONTWRITEBYTECODE is set: else every worker rewrites and compiles the tests and pytest's plugins again
# (measured: 21 s -> 9 s CPU per worker to collect).
test-fast: deps
	env -u PYTHONDONTWRITEBYTECODE .venv/bin/python -m pytest -q -m "not postgres and not browser and not slow" \
	  -n 3 --dist loadfile --hypothesis-profile=fast

lint: deps
	.venv/bin/ruff check src tests bench
	.venv/bin/mypy

bench: deps
	.venv/bin/python bench/orders.py

clean:
	rm -rf .venv .tools var .pytest_cache .mypy_cache .ruff_cache
