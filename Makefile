# Two entry points for a fresh machine: `make serve` and `make test`. Both create .venv at the repo root.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test install browser index lint bench bench-peers eval clean teacher-base

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	# torch first: 2.13.0 is the CPU build on this disk; a plain `torch` would pull a CUDA build of several GB
	$(VENV)/bin/pip install --quiet torch==2.13.0
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

serve: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/qa serve --host $(HOST) --port $(PORT)

index: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/qa index

# Debian's chromium and chromium-driver drive the chat page tests.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	fi

test: $(STAMP) browser
	HF_HUB_OFFLINE=1 $(VENV)/bin/pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

eval: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/qa eval eval/seed_gold.jsonl --out eval/out

# Peers for bench/readers.py: Haystack in .venv, transformers<5 (the old QA pipeline) in .venv-hf4.
bench-peers: $(STAMP)
	$(VENV)/bin/pip install --quiet -e '.[bench]'
	test -x .venv-hf4/bin/python || $(PYTHON) -m venv .venv-hf4
	.venv-hf4/bin/pip install --quiet torch==2.13.0 'transformers<5'

bench: bench-peers
	HF_HUB_OFFLINE=1 $(VENV)/bin/python -m bench.readers
	HF_HUB_OFFLINE=1 $(VENV)/bin/python -m bench.load

clean:
	rm -rf $(VENV) var .pytest_cache

# The teacher's base encoder (all-mpnet-base-v2, ~440 MB) for reader distillation; never needed to serve.
teacher-base: $(STAMP)
	$(VENV)/bin/qa fetch-teacher-base
