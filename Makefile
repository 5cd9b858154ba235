# socialcard developer commands. `make check` is exactly what .ci/run runs.
VENV ?= .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: help setup fmt lint typecheck test test-pg migrate serve demo check bench-smoke

help:
	@echo "setup      create .venv and install socialcard with its dev tools"
	@echo "fmt        format and autofix (ruff)"
	@echo "lint       ruff check, ruff format --check, import-linter"
	@echo "typecheck  mypy --strict"
	@echo "test       the whole test suite (SQLite and PostgreSQL)"
	@echo "migrate    upgrade the configured database"
	@echo "serve      start the platform on a demo city"
	@echo "check      lint + typecheck + alembic check + test + benchmark smoke (what CI runs)"

setup:
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'

fmt:
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

lint:
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy

test:
	SOCIALCARD_TEST_POSTGRES_URL=$(PG_URL) $(BIN)/pytest

migrate:
	$(BIN)/socialcard migrate

serve:
	$(BIN)/socialcard serve --demo

alembic-check:
	rm -rf .alembic-check && mkdir .alembic-check
	SOCIALCARD_DATABASE_URL=sqlite:///.alembic-check/check.sqlite3 $(BIN)/alembic upgrade head
	SOCIALCARD_DATABASE_URL=sqlite:///.alembic-check/check.sqlite3 $(BIN)/alembic check
	rm -rf .alembic-check

bench-smoke:
	$(BIN)/python benchmarks/run.py --smoke

check:
	./scripts/check
