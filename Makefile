# The two commands of the README: `make run` and `make test`.
# Both create .venv on first use with nothing but python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-deep lint typecheck check bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/tiara run

test: $(STAMP)
	$(BIN)/ruff check bot adapters storage tests bench
	$(BIN)/ruff format --check bot adapters storage tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4

# Long: the property tests with 500 examples per command instead of 20.
test-deep: $(STAMP)
	TIARA_PROPERTY_EXAMPLES=500 $(BIN)/python -m pytest -q tests/test_properties.py

lint: $(STAMP)
	$(BIN)/ruff check bot adapters storage tests bench
	$(BIN)/ruff format --check bot adapters storage tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Long: loads up to 1,000,000 rows on SQLite and PostgreSQL, then runs the Slack HTTP
# server under load for a minute. Shows progress, prints numbers, writes JSON.
bench: $(STAMP)
	$(BIN)/python bench/bench_tick.py --out bench/results.json
	$(BIN)/python bench/bench_pairing.py --out bench/pairing_results.json
	$(BIN)/python bench/bench_dispatch.py --out bench/dispatch_results.json
	$(BIN)/python bench/bench_slack_http.py --out bench/slack_http_results.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
