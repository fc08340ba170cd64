# clusterwatch: `make run` and `make test` set everything up themselves on a fresh Debian machine.
VENV   := .venv
PY     := $(VENV)/bin/python
# Byte-compiled at install: with PYTHONDONTWRITEBYTECODE set (as on CI machines) every process would
# otherwise recompile evidently, great-expectations and prefect on import (≈16 s of CPU per process here).
UVSYNC := sync -q --compile-bytecode
STAMP  := $(VENV)/.installed-$(shell (cat requirements.lock pyproject.toml; echo $(UVSYNC)) | sha256sum | cut -c1-12)
UV     := uv==0.13.9

.PHONY: env system run test test-fast lint lock docs bench-ingest clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q $(UV)
	$(VENV)/bin/uv pip $(UVSYNC) --python $(PY) requirements.lock
	$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $(STAMP)

system:
	bash scripts/system-deps.sh

env: system $(STAMP)

run: env
	$(VENV)/bin/clusterwatch run

# The unit layer (every test that runs no night: no Prefect flow, no clusterwatch process) runs its modules in
# parallel, one module per worker so module-scoped fixtures are built once (pytest-xdist); the night layer runs
# after it the same way, each worker with its own Prefect test server, the first to need the sample night
# running it for all. Modules are handed out in the order tests/conftest.py gives them (longest first).
# Both layers always run.
XDIST := -n auto --maxprocesses=4 --dist loadfile --no-loadscope-reorder

test: env lint
	$(VENV)/bin/pytest -m "not night" $(XDIST); unit=$$?; $(VENV)/bin/pytest -m night $(XDIST) && exit $$unit

# The unit layer: 522 tests, 59.9 s wall in the clean-clone CI at the end of session 10 (session 9: 513 tests, 58.2 s;
# session 8: 497 tests, 60.3 s;
# session 7: 456 tests, 51 s wall and 92 CPU-seconds alone on the idle machine; session 6: 438 tests, 67–70 s).
test-fast: env lint
	$(VENV)/bin/pytest -m "not night" $(XDIST)

lint: $(STAMP)
	$(VENV)/bin/ruff check flows tests bench

# Re-pin every dependency after editing pyproject.toml.
lock:
	$(VENV)/bin/uv pip compile -q pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

# Regenerate the README's indicator dictionary from flows/registry/indicators.toml.
docs: $(STAMP)
	$(PY) -m flows.render.dictionary

bench-ingest: env
	$(PY) bench/bench_ingest.py --scale province

clean:
	rm -rf data/warehouse data/landing reports/out
