# Two entry points for a fresh machine: `make serve` and `make test`. Both create .venv at the repo root.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
APT_INSTALL := apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q

.PHONY: serve test install browser index lint bench bench-peers eval clean teacher-base teacher reader-control student student-avg student-continued student-swa distillation-report unanswerable verifier reader-hardneg reader-trust calibration reader-negation reader-negation-trust accurate-reader cascade-sweep

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	# torch first: 2.13.0 is the CPU build on this disk; a plain `torch` would pull a CUDA build of several GB
	$(VENV)/bin/pip install --quiet torch==2.13.0
	$(VENV)/bin/pip install --quiet -e '.[dev,train]'
	touch $@

install: $(STAMP)

serve: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/qa serve --host $(HOST) --port $(PORT)

index: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/qa index

# Debian's chromium and chromium-driver drive the chat page tests.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		$(APT_INSTALL) chromium chromium-driver; \
	fi

# The tests start with the linters: ruff, mypy (settings in pyproject.toml) and the import contracts (serving never
# imports training; api -> qa -> index). Two pytest workers: on 2 cores faster than one process; a worker that
# finds no test left takes one from the other.
test: lint browser
	HF_HUB_OFFLINE=1 $(VENV)/bin/pytest -q -n 2 --dist worksteal

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy && $(VENV)/bin/lint-imports

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

# ---- Training readers (never needed to serve; the [train] extra) ----------------------------------------
# The chain (teacher, its targets, the student) takes minutes on a GPU (DEVICE=auto finds one when torch sees it)
# and about a day on 2 CPU cores with native bf16 (docs/experiments.md). Every run checkpoints under
# $(CACHE)/runs/<name> and resumes when its target is made again, so on a CPU `nohup make student-swa &` in each
# session carries the chain on. Logs: $(CACHE)/runs/<name>/train.log. tools/device-train.sh carries a run to a
# GPU machine that takes and returns little data a call, and back.
CACHE ?= $(HOME)/.cache/qa
SQUAD ?= ../shared/data/squad
DEVICE ?= auto
READERS := $(CACHE)/readers
RUNS := $(CACHE)/runs
SPLIT := $(CACHE)/data/squad-v2.0-dev.train.json
MPNET := $(CACHE)/teacher-base/all-mpnet-base-v2
MINILM = "$$($(VENV)/bin/python -c 'from index.embedding import bundled_embedding_model as m; print(m())')"
# Training allocates through jemalloc, which `qa-train train-reader` runs itself under when it is installed: glibc's
# malloc let the teacher's memory grow until the kernel killed it (training/allocator.py says how jemalloc is
# tuned). The training targets install it.
JEMALLOC := /usr/lib/$(shell uname -m)-linux-gnu/libjemalloc.so.2
TRAIN = mkdir -p $(RUNS)/$(notdir $(@D)) && HF_HUB_OFFLINE=1 $(VENV)/bin/qa-train train-reader \
	--train $(SQUAD)/squad-v1.1-train.json $(SPLIT) \
	--validate $(SQUAD)/squad-v1.1-dev-open.json $(CACHE)/data/squad-v2.0-dev.holdout.json \
	--out $(@D) --batch-size 32 --max-length 256 --stride 128 --device $(DEVICE)
LOG = >> $(RUNS)/$(notdir $(@D))/train.log 2>&1

$(JEMALLOC):
	$(APT_INSTALL) libjemalloc2

# SQuAD v2.0 dev split by whole articles: 23 to learn abstention from, 12 held out for validation.
$(SPLIT): | $(STAMP)
	$(VENV)/bin/qa-train split-squad $(SQUAD)/squad-v2.0-dev.json --holdout 12 --seed 13 --out $(CACHE)/data

# The teacher's base encoder (all-mpnet-base-v2, ~440 MB).
$(MPNET)/model.safetensors: | $(STAMP)
	$(VENV)/bin/qa-train fetch-teacher-base --cache $(CACHE)/teacher-base
teacher-base: $(MPNET)/model.safetensors

# The teacher: MPNet-base fine-tuned on the same data. One epoch at lr 5e-5 reached held-out F1 90.5 in about 9 h
# on 2 CPU cores in bf16; the shipped reader's teacher, two epochs at 3e-5 on a GPU (`TEACHER_EPOCHS=2
# TEACHER_LR=3e-5`), reached 90.0 and would take twice as long on a CPU. A run resumes only with the settings it
# started with. Its weights are also kept every 200 steps (`--snapshot-every`, which a run may take up when it
# resumes): averaged, the last ones stand in for a finished run when a CPU cannot finish it.
TEACHER_EPOCHS ?= 1
TEACHER_LR ?= 5e-5
$(READERS)/mpnet-teacher/training.json: | $(SPLIT) $(MPNET)/model.safetensors $(JEMALLOC)
	$(TRAIN) --base $(MPNET) --epochs $(TEACHER_EPOCHS) --lr $(TEACHER_LR) --seed 42 --checkpoint-every 200 \
		--snapshot-every 200 $(LOG)
teacher: $(READERS)/mpnet-teacher/training.json

# The small reader's recipe: from the all-MiniLM-L6-v2 encoder, 20 % of the answerable questions also paired with
# another paragraph of their article as unanswerable. Without a teacher (3 epochs) it is the control.
SMALL = --base $(MINILM) --lr 1e-4 --seed 42 --negatives 0.2 --checkpoint-every 200
$(READERS)/minilm-3ep/training.json: | $(SPLIT) $(JEMALLOC)
	$(TRAIN) $(SMALL) --epochs 3 $(LOG)
reader-control: $(READERS)/minilm-3ep/training.json

# The student: the same run, learning also from the teacher's softened span distributions (4 epochs at
# distillation weight 0.9 did better than 3 at 0.7: docs/experiments.md). A run resumes only with the settings it
# started with.
STUDENT_EPOCHS ?= 4
DISTILL_WEIGHT ?= 0.9
DISTILL = --teacher $(READERS)/mpnet-teacher --temperature 2 --distill-weight $(DISTILL_WEIGHT)
$(READERS)/minilm-distilled/training.json: $(READERS)/mpnet-teacher/training.json | $(JEMALLOC)
	$(TRAIN) $(SMALL) --epochs $(STUDENT_EPOCHS) $(DISTILL) $(LOG)
student: $(READERS)/minilm-distilled/training.json

# The reader shipped before: the mean of the student's weights after its last two epochs (the run keeps each
# epoch's).
$(READERS)/distilled-avg/training.json: $(READERS)/minilm-distilled/training.json
	HF_HUB_OFFLINE=1 $(VENV)/bin/qa-train average-readers $(READERS)/minilm-distilled \
		$(RUNS)/minilm-distilled/epoch-$$(($(STUDENT_EPOCHS) - 1)) --out $(@D)
student-avg: $(READERS)/distilled-avg/training.json

# The short way to a better student: the shipped reader (models/reader) distilled further from the teacher, at a
# low learning rate, reusing the full student's features and teacher targets. One epoch is about 2 hours on
# 2 CPU cores against 8 for the full student; it ships only if it beats the shipped reader on held-out SQuAD.
CONTINUE_EPOCHS ?= 1
CONTINUE_LR ?= 3e-5
$(READERS)/minilm-continued/training.json: $(READERS)/mpnet-teacher/training.json | $(JEMALLOC)
	$(TRAIN) --base models/reader --lr $(CONTINUE_LR) --seed 42 --negatives 0.2 --checkpoint-every 200 \
		--epochs $(CONTINUE_EPOCHS) $(DISTILL) $(LOG)
student-continued: $(READERS)/minilm-continued/training.json

# The shipped reader: a fifth epoch of the student at a low learning rate, its weights kept every 1,000 of its
# 3,960 steps, and the mean of those three and its end (weight averaging along the run's path). About 1 h 15 min
# on 2 CPU cores.
$(READERS)/minilm-epoch5/training.json: $(READERS)/minilm-distilled/training.json | $(JEMALLOC)
	$(TRAIN) --base $(READERS)/minilm-distilled --lr 3e-5 --seed 42 --negatives 0.2 --checkpoint-every 200 \
		--snapshot-every 1000 --epochs 1 $(DISTILL) $(LOG)
$(READERS)/student-swa/training.json: $(READERS)/minilm-epoch5/training.json
	HF_HUB_OFFLINE=1 $(VENV)/bin/qa-train average-readers $(READERS)/minilm-epoch5 \
		$(addprefix $(RUNS)/minilm-epoch5/epoch-1-step-,1000 2000 3000) --out $(@D)
student-swa: $(READERS)/student-swa/training.json

# Every reader of the chain side by side on held-out SQuAD v1.1 and v2.0 and the gold set (bench/compare.py).
REPORT := $(CACHE)/reports/distillation.md
COMPARED := minilm-3ep minilm-distilled distilled-avg mpnet-teacher
$(REPORT): $(READERS)/distilled-avg/training.json $(READERS)/minilm-3ep/training.json
	mkdir -p $(@D) && HF_HUB_OFFLINE=1 $(VENV)/bin/python -m bench.compare $(addprefix $(READERS)/,$(COMPARED)) \
		--v1 $(SQUAD)/squad-v1.1-dev-open.json --exclude-seen $(SPLIT) \
		--v2 $(CACHE)/data/squad-v2.0-dev.holdout.json > $@.tmp 2> $(@D)/distillation.log && mv $@.tmp $@
distillation-report: $(REPORT)

# ---- Trust: hard unanswerable questions and the answer verifier (issue "Trust"; none ships yet) --------------
# Questions of SQuAD v1.1 made unanswerable by swapping an entity, number, date or role for another of the same
# kind (training/unanswerable.py; about 12 minutes on 2 cores), then the pipeline's answers to held-out articles
# as verifier rows, and the verifier fitted on them. QA_VERIFIER=$(CACHE)/verifier/verifier.json tries it.
VERIFY := $(CACHE)/verifier
$(CACHE)/data/%.unanswerable.json:
	mkdir -p $(@D) && $(VENV)/bin/python -m training.unanswerable $(SQUAD)/$*.json --out $@
unanswerable: $(CACHE)/data/squad-v1.1-train.unanswerable.json $(CACHE)/data/squad-v1.1-dev-open.unanswerable.json

# The reader fine-tuned to withhold: the reader before it (student-swa) one more epoch at a low learning rate on
# 20,000 made questions drawn at random, each beside the question it was made from, with the 23 SQuAD v2.0 articles
# and the other-paragraph negatives; gold labels only (no teacher). About an hour on 2 CPU cores.
PAIRED := $(CACHE)/data/squad-v1.1-train.paired-20k.json
$(PAIRED): $(CACHE)/data/squad-v1.1-train.unanswerable.json
	$(VENV)/bin/qa-train pair-negatives $< $(SQUAD)/squad-v1.1-train.json --count 20000 --seed 13 --out $@
$(READERS)/minilm-hardneg/training.json: $(READERS)/student-swa/training.json | $(PAIRED) $(SPLIT) $(JEMALLOC)
	mkdir -p $(RUNS)/minilm-hardneg && HF_HUB_OFFLINE=1 $(VENV)/bin/qa-train train-reader \
		--train $(PAIRED) $(SPLIT) --out $(@D) --base $(READERS)/student-swa --epochs 1 --lr 3e-5 --seed 42 \
		--negatives 0.2 --batch-size 32 --max-length 256 --stride 128 --checkpoint-every 200 --snapshot-every 500 \
		--device $(DEVICE) $(LOG)
reader-hardneg: $(READERS)/minilm-hardneg/training.json

# The shipped reader: the mean of the reader before it and that reader fine-tuned above (weight-space
# interpolation keeps the reading of the one and much of the other's "no answer"; docs/experiments.md).
$(READERS)/trust/training.json: $(READERS)/minilm-hardneg/training.json
	HF_HUB_OFFLINE=1 $(VENV)/bin/qa-train average-readers $(READERS)/minilm-hardneg $(READERS)/student-swa \
		--weights 0.5 0.5 --out $(@D)
reader-trust: $(READERS)/trust/training.json

# Negated questions (training/negation.py: "did X not conquer ...?" over paragraphs that say nothing in the
# negative; about 2 minutes), and the questions already negative, answered, so that "not" alone does not mean
# "unanswerable". The fine-tune: the reader above one more epoch on 7,000 negated questions beside their
# originals, 4,000 swapped ones beside theirs, the negative answered ones and the 23 SQuAD v2.0 articles (about 30
# minutes on 2 CPU cores); the next shipped reader is its mean with the reader above.
NEGATED := $(CACHE)/data/squad-v1.1-train.negated.json
NEGATIVE_ANSWERED := $(CACHE)/data/squad-v1.1-train.negative-answerable.json
$(NEGATED):
	mkdir -p $(@D) && $(VENV)/bin/python -m training.negation $(SQUAD)/squad-v1.1-train.json --out $@ \
		--answerable-out $(NEGATIVE_ANSWERED)
$(NEGATIVE_ANSWERED): $(NEGATED) ;
$(CACHE)/data/squad-v1.1-train.negated-7k.json: $(NEGATED)
	$(VENV)/bin/qa-train pair-negatives $< $(SQUAD)/squad-v1.1-train.json --count 7000 --seed 13 --out $@
$(CACHE)/data/squad-v1.1-train.paired-4k.json: $(CACHE)/data/squad-v1.1-train.unanswerable.json
	$(VENV)/bin/qa-train pair-negatives $< $(SQUAD)/squad-v1.1-train.json --count 4000 --seed 14 --out $@
NEGATION_DATA := $(addprefix $(CACHE)/data/squad-v1.1-train.,negated-7k.json paired-4k.json negative-answerable.json)
$(READERS)/minilm-negation/training.json: $(READERS)/trust/training.json | $(NEGATION_DATA) $(SPLIT) $(JEMALLOC)
	mkdir -p $(RUNS)/minilm-negation && HF_HUB_OFFLINE=1 $(VENV)/bin/qa-train train-reader \
		--train $(NEGATION_DATA) $(SPLIT) --out $(@D) --base $(READERS)/trust --epochs 1 --lr 3e-5 --seed 42 \
		--negatives 0.2 --batch-size 32 --max-length 256 --stride 128 --checkpoint-every 200 \
		--device $(DEVICE) $(LOG)
reader-negation: $(READERS)/minilm-negation/training.json
$(READERS)/negation-trust/training.json: $(READERS)/minilm-negation/training.json
	HF_HUB_OFFLINE=1 $(VENV)/bin/qa-train average-readers $(READERS)/minilm-negation $(READERS)/trust \
		--weights 0.5 0.5 --out $(@D)
reader-negation-trust: $(READERS)/negation-trust/training.json
$(VERIFY)/%.npz: | $(SPLIT)
	mkdir -p $(@D) && HF_HUB_OFFLINE=1 $(VENV)/bin/qa-train verifier-data $(VERIFY_$*) --out $@ --quiet
VERIFY_v11-held-a = $(SQUAD)/squad-v1.1-dev-open.json --exclude-seen $(SPLIT) --half a
VERIFY_v2-held-a = $(CACHE)/data/squad-v2.0-dev.holdout.json --half a
VERIFY_adv-train = $(CACHE)/data/squad-v1.1-train.unanswerable.json --articles 40 --seed 14
VERIFY_v11-held-b = $(SQUAD)/squad-v1.1-dev-open.json --exclude-seen $(SPLIT) --half b
VERIFY_v2-held-b = $(CACHE)/data/squad-v2.0-dev.holdout.json --half b
$(VERIFY)/verifier.json: $(addprefix $(VERIFY)/,v11-held-a.npz v2-held-a.npz adv-train.npz v11-held-b.npz v2-held-b.npz)
	HF_HUB_OFFLINE=1 $(VENV)/bin/qa-train fit-verifier $(addprefix $(VERIFY)/,v11-held-a.npz v2-held-a.npz adv-train.npz) \
		--holdout $(addprefix $(VERIFY)/,v11-held-b.npz v2-held-b.npz) --out $@
verifier: $(VERIFY)/verifier.json

# The score's calibration (qa/confidence.py), beside the reader: fitted on the shipped reader's answers to half a
# of the held-out articles (the verifier rows above, read with models/reader at its default rule), its error
# reported on half b. Remove the rows first when the reader changes.
calibration: $(addprefix $(VERIFY)/,v2-held-a.npz v11-held-a.npz v2-held-b.npz v11-held-b.npz)
	HF_HUB_OFFLINE=1 $(VENV)/bin/qa-train fit-calibration $(addprefix $(VERIFY)/,v2-held-a.npz v11-held-a.npz) \
		--out models/reader/calibration.json --test $(addprefix $(VERIFY)/,v2-held-b.npz v11-held-b.npz)

# The cascade's accurate reader (qa/cascade.py, QA_READER_MODE=auto): the teacher (ACCURATE) read as it would serve
# (int8 on OpenVINO) over the held-out halves, its rule (rule.json: the most unanswerable questions withheld with at
# most 5.5 % of answers wrongly withheld, half a) and calibration fitted on half a, then packed in int8 shards
# under models/accurate-reader; `make cascade-sweep` shows what each QA_ESCALATE_BELOW would give, on both halves.
ACCURATE ?= $(READERS)/mpnet-teacher
CASCADE := $(CACHE)/cascade
HALVES := v2-held-a v11-held-a v2-held-b v11-held-b
$(CASCADE)/accurate/%.npz: | $(SPLIT)
	mkdir -p $(@D) && HF_HUB_OFFLINE=1 QA_READER_MODEL=$(ACCURATE) QA_READER_PRECISION=int8 \
		$(VENV)/bin/qa-train verifier-data $(VERIFY_$*) --out $@ --quiet
$(CASCADE)/fast/%.npz: | $(SPLIT)
	mkdir -p $(@D) && HF_HUB_OFFLINE=1 $(VENV)/bin/qa-train verifier-data $(VERIFY_$*) --out $@ --quiet
accurate-reader: $(addprefix $(CASCADE)/accurate/,$(addsuffix .npz,$(HALVES)))
	HF_HUB_OFFLINE=1 $(VENV)/bin/qa-train sweep-rule $(addprefix $(CASCADE)/accurate/,v2-held-a.npz v11-held-a.npz) \
		--margins -2 -1 0 1 2 3 4 5 6 --out $(ACCURATE)
	HF_HUB_OFFLINE=1 $(VENV)/bin/qa-train fit-calibration $(addprefix $(CASCADE)/accurate/,v2-held-a.npz v11-held-a.npz) \
		--rule-of $(ACCURATE) --out $(ACCURATE)/calibration.json --test $(addprefix $(CASCADE)/accurate/,v2-held-b.npz v11-held-b.npz)
	rm -rf models/accurate-reader && $(VENV)/bin/qa-train pack-reader $(ACCURATE) --out models/accurate-reader
cascade-sweep: $(addprefix $(CASCADE)/fast/,$(addsuffix .npz,$(HALVES))) \
		$(addprefix $(CASCADE)/accurate/,$(addsuffix .npz,$(HALVES)))
	$(VENV)/bin/qa-train sweep-cascade --fast $(addprefix $(CASCADE)/fast/,$(addsuffix .npz,$(HALVES))) \
		--accurate $(addprefix $(CASCADE)/accurate/,$(addsuffix .npz,$(HALVES))) --accurate-reader $(ACCURATE)
