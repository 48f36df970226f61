# Two entry points for a fresh machine: `make serve` and `make test`. Both create .venv at the repo root.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test install browser index lint bench bench-peers eval clean teacher-base teacher reader-e1 reader-e2 reader-avg student student-avg distillation-report

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

# ---- Training readers (hours on 2 CPU cores; never needed to serve) -------------------------------------
# Every run checkpoints under $(CACHE)/runs/<name> and resumes when its target is made again, so
# `nohup make student &` in each session carries the whole chain on. Logs: $(CACHE)/runs/<name>/train.log.
CACHE ?= $(HOME)/.cache/qa
SQUAD ?= ../shared/data/squad
READERS := $(CACHE)/readers
SPLIT := $(CACHE)/data/squad-v2.0-dev.train.json
MPNET := $(CACHE)/teacher-base/all-mpnet-base-v2
TRAIN = mkdir -p $(CACHE)/runs/$(notdir $(@D)) && HF_HUB_OFFLINE=1 $(VENV)/bin/qa train-reader \
	--train $(SQUAD)/squad-v1.1-train.json $(SPLIT) \
	--validate $(SQUAD)/squad-v1.1-dev-open.json $(CACHE)/data/squad-v2.0-dev.holdout.json \
	--out $(@D) --batch-size 32 --max-length 256 --stride 128
LOG = >> $(CACHE)/runs/$(notdir $(@D))/train.log 2>&1

# SQuAD v2.0 dev split by whole articles: 23 to learn abstention from, 12 held out for validation.
$(SPLIT): | $(STAMP)
	$(VENV)/bin/qa split-squad $(SQUAD)/squad-v2.0-dev.json --holdout 12 --seed 13 --out $(CACHE)/data

# The teacher's base encoder (all-mpnet-base-v2, ~440 MB).
$(MPNET)/model.safetensors: | $(STAMP)
	$(VENV)/bin/qa fetch-teacher-base --cache $(CACHE)/teacher-base
teacher-base: $(MPNET)/model.safetensors

# First epoch of the small reader, from the all-MiniLM-L6-v2 encoder.
$(READERS)/minilm-e1/training.json: | $(SPLIT)
	$(TRAIN) --base "$$($(VENV)/bin/python -c 'from index.embedding import bundled_embedding_model as m; print(m())')" \
		--epochs 1 --lr 1e-4 --seed 42 $(LOG)
reader-e1: $(READERS)/minilm-e1/training.json

# Second epoch, from the first, with 20 % borrowed-paragraph negatives. Without a teacher it is the control
# for the student, which is the same run plus the teacher: one definition keeps the two comparable.
SECOND_EPOCH = --base $(READERS)/minilm-e1 --epochs 1 --lr 5e-5 --seed 43 --negatives 0.2 --checkpoint-every 100
$(READERS)/minilm-e2/training.json: $(READERS)/minilm-e1/training.json
	$(TRAIN) $(SECOND_EPOCH) $(LOG)
reader-e2: $(READERS)/minilm-e2/training.json

# The shipped reader: the mean of the two epochs' weights (held-out F1 82.16 against 81.53 for epoch 2 alone).
$(READERS)/minilm-avg12/training.json: $(READERS)/minilm-e1/training.json $(READERS)/minilm-e2/training.json
	HF_HUB_OFFLINE=1 $(VENV)/bin/qa average-readers $(READERS)/minilm-e1 $(READERS)/minilm-e2 --out $(@D)
reader-avg: $(READERS)/minilm-avg12/training.json

# The teacher: MPNet-base fine-tuned on the same data.
$(READERS)/mpnet-teacher/training.json: | $(SPLIT) $(MPNET)/model.safetensors
	$(TRAIN) --base $(MPNET) --epochs 1 --lr 5e-5 --checkpoint-every 50 $(LOG)
teacher: $(READERS)/mpnet-teacher/training.json

# The student: the second epoch, learning also from the teacher's span distributions.
$(READERS)/minilm-distilled/training.json: $(READERS)/minilm-e1/training.json $(READERS)/mpnet-teacher/training.json
	$(TRAIN) $(SECOND_EPOCH) --teacher $(READERS)/mpnet-teacher --temperature 2 --distill-weight 0.7 $(LOG)
student: $(READERS)/minilm-distilled/training.json

# The student averaged with its start, as the shipped reader is the mean of epochs 1 and 2.
$(READERS)/minilm-distilled-avg/training.json: $(READERS)/minilm-e1/training.json $(READERS)/minilm-distilled/training.json
	HF_HUB_OFFLINE=1 $(VENV)/bin/qa average-readers $(READERS)/minilm-e1 $(READERS)/minilm-distilled --out $(@D)
student-avg: $(READERS)/minilm-distilled-avg/training.json

# The end of the chain: every reader of it side by side on held-out SQuAD v1.1 and v2.0 and the gold set
# (bench/compare.py, about an hour on 2 cores), so a session finds the figures ready.
REPORT := $(CACHE)/reports/distillation.md
COMPARED := minilm-e2 minilm-avg12 minilm-distilled minilm-distilled-avg mpnet-teacher
$(REPORT): $(READERS)/minilm-distilled-avg/training.json $(READERS)/minilm-avg12/training.json
	mkdir -p $(@D) && HF_HUB_OFFLINE=1 $(VENV)/bin/python -m bench.compare $(addprefix $(READERS)/,$(COMPARED)) \
		--v1 $(SQUAD)/squad-v1.1-dev-open.json --exclude-seen $(SPLIT) \
		--v2 $(CACHE)/data/squad-v2.0-dev.holdout.json > $@.tmp 2> $(@D)/distillation.log && mv $@.tmp $@
distillation-report: $(REPORT)
