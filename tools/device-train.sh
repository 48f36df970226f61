#!/bin/bash
# Training a reader on a GPU machine lent through the workplace's `device` tool, which takes and returns at most
# 64 MiB a call and keeps a machine only 30 s between calls. Nothing in the project needs it: `make teacher` and
# `make student-avg` run the same recipes on a CPU. WHAT is `teacher` (MPNet-base fine-tuned, `make teacher`) or
# `student` (the MiniLM reader distilled from that teacher and averaged over its last two epochs, `make student-avg`).
#
# Here, once:   tools/device-train.sh prepare WHAT   (the teacher needs `make teacher-base`, the student a trained
#   teacher or, with TARGETS=FILE, the teacher's finished targets from `make student`'s log, which then travel
#   instead of the teacher and save its 3 to 4 minutes there; both the v2.0 dev split). It writes .dev/p1 ... .dev/pN, each under 64 MiB with the working tree,
#   and names N. Take models/reader out of what travels (45 MB): echo /models/reader/ >> .git/info/exclude;
#   git rm -r -q --cached models/reader  (undo both afterwards: git reset -q models/reader, remove the line).
# There, one call each, back to back (each within 30 s of the last):
#   carry .dev/pI, for I < N:  mkdir -p /tmp/x && cp .dev/pI/* /tmp/x/
#   carry .dev/pN:             bash .dev/pN/device-train.sh train WHAT
#     It trains under a time limit (LIMIT, 520 s); a run stopped by it keeps its checkpoint, and the next call
#     resumes it with no carry: bash tools/device-train.sh train WHAT. Once trained it returns meta.tgz, sum.txt
#     and the first four 15 MiB parts of the weights, w.00-w.03: all of the student's (45 MB). The teacher's
#     218 MB take three more calls with no carry: cp /tmp/x/out/w.0[4-7] $OUT/; then w.0[89] w.1[01]; then
#     w.1[23]. The student's last epoch, before averaging, to compare with the average: cp /tmp/x/final/* $OUT/
# Here again:   tools/device-train.sh unpack WHAT /work/.device/N ...   (every call's folder of returned files;
#   WHAT `final` for the student's last epoch, into ~/.cache/qa/readers/minilm-distilled)
set -euo pipefail
CACHE=${CACHE:-$HOME/.cache/qa}
READERS=$CACHE/readers
PART=${PART:-60M}  # with the working tree (0.5 MB) and the last part's data and wheels, under 64 MiB a call

# Where each reader lands, here and there: the names the Makefile's recipes use.
result() {
    case "$1" in
        teacher) echo "$READERS/mpnet-teacher" ;;
        student) echo "$READERS/distilled-avg" ;;
        final) echo "$READERS/minilm-distilled" ;;
    esac
}

prepare() {
    local what=$1 data=$CACHE/data squad=${SQUAD:-../shared/data/squad} payload=.dev/payload
    rm -rf .dev && mkdir -p "$payload" .dev/last/data .dev/last/whl
    grep -qx '/.dev/' .git/info/exclude 2>/dev/null || echo '/.dev/' >> .git/info/exclude
    case "$what" in
        teacher)  # fp16: a relative rounding of 2^-11 of the starting weights, and half the bytes to send
            model_files "$CACHE/teacher-base/all-mpnet-base-v2" "$payload/mpnet"
            half "$CACHE/teacher-base/all-mpnet-base-v2/model.safetensors" "$payload/mpnet/model.safetensors" ;;
        student)  # the base in fp16; the teacher's targets when TARGETS names them (xz), else the teacher
            if [ -n "${TARGETS:-}" ]; then
                xz -T2 -3 -c "$TARGETS" > "$payload/targets.npz.xz"
            else  # in int8 rows (tools/weights_int8.py): held-out v1.1 F1 92.95 against 92.79 in fp16 (400 q)
                model_files "$(result teacher)" "$payload/teacher"
                .venv/bin/python tools/weights_int8.py pack "$(result teacher)/model.safetensors" \
                    "$payload/teacher/packed.safetensors"
            fi
            local minilm
            minilm=$(.venv/bin/python -c 'from index.embedding import bundled_embedding_model as m; print(m())')
            model_files "$minilm" "$payload/minilm"
            half "$minilm/model.safetensors" "$payload/minilm/model.safetensors" ;;
        *) usage ;;
    esac
    tar cf .dev/payload.tar -C "$payload" . && rm -rf "$payload"
    (cd .dev && sha256sum payload.tar > last/payload.sha256 && split -b "$PART" -d -a 1 payload.tar part. &&
        rm payload.tar)
    for f in "$squad/squad-v1.1-train.json" "$squad/squad-v1.1-dev-open.json" \
        "$data/squad-v2.0-dev.train.json" "$data/squad-v2.0-dev.holdout.json"; do
        xz -T2 -6 -c "$f" > ".dev/last/data/$(basename "$f").xz"
    done
    # what `qa train-reader` imports that the machine's image lacks, at this venv's versions, for its Python 3.12;
    # and this venv's tokenizers: the image's 0.23.2 cuts other windows than 0.23.3 (qa/training.py:tokenizer_key),
    # so features, targets and checkpoints would not carry between the machines
    local pins
    pins=$(.venv/bin/pip list --format=freeze 2>/dev/null |
        grep -iE '^(pydantic|pydantic[-_]core|pydantic[-_]settings|python-dotenv|annotated-types|typing[-_]inspection|pysbd|tokenizers)==')
    # shellcheck disable=SC2086
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .dev/last/whl $pins
    cp "$0" .dev/last/device-train.sh
    local parts=(.dev/part.*) i=1
    for p in "${parts[@]}"; do mkdir -p ".dev/p$i" && mv "$p" ".dev/p$i/" && i=$((i + 1)); done
    mv .dev/last/* ".dev/p$((i - 1))/" && rmdir .dev/last
    du -sh .dev/p*
    echo "N=$((i - 1)): carry .dev/p1 ... .dev/p$((i - 1)), the last with: bash .dev/p$((i - 1))/device-train.sh train $what"
}

model_files() {  # the config and tokenizer of a model directory (not its weights)
    mkdir -p "$2"
    local f
    for f in config.json tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt; do
        [ -f "$1/$f" ] && cp "$1/$f" "$2/"
    done
    return 0
}

half() {
    .venv/bin/python - "$1" "$2" <<'EOF'
import sys
from safetensors.torch import load_file, save_file
weights = load_file(sys.argv[1])
save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in weights.items()}, sys.argv[2],
          metadata={"format": "pt"})
EOF
}

train() {  # on the GPU machine, in the repository's copy there
    local what=$1 x=/tmp/x here
    here=$(dirname "$0")
    mkdir -p "$x/data" "$x/out" "$READERS"
    if [ ! -f "$x/unpacked" ]; then
        cp "$here"/part.* "$x/"
        (cd "$x" && cat part.* > payload.tar && sha256sum -c "$OLDPWD/$here/payload.sha256" && tar xf payload.tar &&
            rm payload.tar part.*)
        if [ -f "$x/teacher/packed.safetensors" ]; then
            python3 tools/weights_int8.py unpack "$x/teacher/packed.safetensors" "$x/teacher/model.safetensors"
            rm "$x/teacher/packed.safetensors"
        fi
        if [ -f "$x/targets.npz.xz" ]; then xz -dc -T0 "$x/targets.npz.xz" > "$x/targets.npz" && rm "$x/targets.npz.xz"; fi
        for f in "$here"/data/*.xz; do xz -dc "$f" > "$x/data/$(basename "$f" .xz)"; done
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$here"/whl/*.whl
        touch "$x/unpacked"
    fi
    export PYTHONPATH=/tmp/site:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
    local out
    out=$(result "$what")
    local -a recipe=(--train "$x/data/squad-v1.1-train.json" "$x/data/squad-v2.0-dev.train.json"
        --validate "$x/data/squad-v1.1-dev-open.json" "$x/data/squad-v2.0-dev.holdout.json"
        --batch-size 32 --max-length 256 --stride 128 --device cuda --checkpoint-every 1000)
    case "$what" in
        teacher)  # `make teacher` (TEACHER_EPOCHS=1, TEACHER_LR=5e-5)
            recipe+=(--out "$out" --base "$x/mpnet" --epochs 1 --lr 5e-5 --seed 42) ;;
        student)  # `make student` (STUDENT_EPOCHS=4, DISTILL_WEIGHT=0.9), averaged below as `make student-avg` does
            local teacher=(--teacher "$x/teacher")
            [ -f "$x/targets.npz" ] && teacher=(--teacher-targets "$x/targets.npz")
            recipe+=(--out "$READERS/minilm-distilled" --base "$x/minilm" --lr 1e-4 --seed 42 --negatives 0.2
                --epochs 4 "${teacher[@]}" --temperature 2 --distill-weight 0.9) ;;
    esac
    # the tqdm lines stay in train.log only; a run stopped by the limit keeps its checkpoint for the next call
    set +e
    timeout "${LIMIT:-520}" python3 -m qa.cli train-reader "${recipe[@]}" 2>&1 | tee -a "$x/train.log" |
        grep -v -E 'it/s|s/it|step/s|batch/s' | tail -30
    set -e
    if [ "$what" = student ]; then
        [ -f "$READERS/minilm-distilled/training.json" ] || { echo "not finished: run train $what again"; exit 3; }
        python3 -m qa.cli average-readers "$READERS/minilm-distilled" "$CACHE/runs/minilm-distilled/epoch-3" \
            --out "$out"
        cp "$READERS/minilm-distilled/training.json" "$out/student-training.json"
        pack_for_return "$(result final)" "$x/final"
    fi
    [ -f "$out/training.json" ] || { echo "not finished: run train $what again"; exit 3; }
    pack_for_return "$out" "$x/out"
    cp "$x/out/meta.tgz" "$x/out/sum.txt" "$x"/out/w.0[0-3] "${OUT:?}/"
}

pack_for_return() {  # a reader directory as meta.tgz (all but the weights, and the log), sum.txt and w.NN
    local x=/tmp/x
    rm -rf "$2" && mkdir -p "$2"
    (cd "$1" && tar czf "$2/meta.tgz" --exclude=model.safetensors . -C "$x" train.log)
    # 15 MiB parts: four of them (60 MiB) a call stay under the 64 MiB that a call returns
    (cd "$2" && split -b 15M -d -a 2 "$1/model.safetensors" w. && (cd "$1" && sha256sum model.safetensors) > sum.txt)
}

unpack() {  # here: the returned parts, from every call's folder, joined and checked
    local out dir
    out=$(result "$1") && shift
    mkdir -p "$out"
    for dir in "$@"; do [ -f "$dir/meta.tgz" ] && tar xzf "$dir/meta.tgz" -C "$out" && cp "$dir/sum.txt" "$out/"; done
    find "$@" -name 'w.[0-9][0-9]' -printf '%f %p\n' | sort | cut -d' ' -f2 | xargs cat > "$out/model.safetensors"
    (cd "$out" && sha256sum -c sum.txt && rm sum.txt)
}

usage() {
    echo "usage: $0 prepare WHAT | train WHAT | unpack WHAT DIR...   (WHAT: teacher or student; unpack: or final)" >&2
    exit 2
}

case "${1:-}:${2:-}" in
    prepare:teacher | prepare:student | train:teacher | train:student) "$@" ;;
    unpack:teacher | unpack:student | unpack:final) "$@" ;;
    *) usage ;;
esac
