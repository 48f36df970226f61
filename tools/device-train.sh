#!/bin/bash
# Training a reader on a GPU machine lent through the workplace's `device` tool, which takes and returns at most
# 64 MiB a call and keeps a machine only 30 s between calls. Nothing in the project needs it: `make teacher` and
# `make student-avg` run the same recipes on a CPU. WHAT is `teacher` (MPNet-base fine-tuned, `make teacher`) or
# `student` (the MiniLM reader distilled from that teacher and averaged over its last two epochs, `make student-avg`).
#
# Here, once:   tools/device-train.sh prepare WHAT   (the teacher needs `make teacher-base`, the student a trained
#   teacher or, with TARGETS=FILE, the teacher's finished targets (from `unpack teacher`, or `make student`'s log),
#   which then travel instead of the teacher and save its 2 to 3 minutes there; both the v2.0 dev split). It
#   writes .dev/p1 ... .dev/pN, each under 64 MiB with the working tree, and names N. Take models/reader out
#   of what travels (45 MB): echo /models/reader/ >> .git/info/exclude; git rm -r -q --cached models/reader
#   (undo both afterwards: git reset -q models/reader, remove the line).
# There, one call each, back to back (each within 30 s of the last):
#   carry .dev/pI, for I < N:  mkdir -p /tmp/x && cp .dev/pI/* /tmp/x/
#   carry .dev/pN:             bash .dev/pN/device-train.sh train WHAT
#     It trains under a time limit (LIMIT, 520 s); a run stopped by it keeps its checkpoint, and the next call
#     resumes it with no carry: bash tools/device-train.sh train WHAT. Once trained it returns meta.tgz, sum.txt
#     and the first four 15 MiB parts, w.00-w.03: all of the student's weights (45 MB). The teacher goes on, in
#     the same call and under the same limit, to the student's targets (qa-train train-reader --targets-only), so
#     that the student's own call need not carry the teacher or compute them (a lease of 15 minutes holds
#     either the teacher or the student, not both); its parts hold the teacher in int8 rows (110 MB) and the
#     targets (xz): cp /tmp/x/out/w.0[4-7] $OUT/; then w.0[89] w.1[01]; and so on while the `ls` it ends with
#     shows more. The student's last epoch, before averaging, to compare with the average: cp /tmp/x/final/* $OUT/
# Here again:   tools/device-train.sh unpack WHAT /work/.device/N ...   (every call's folder of returned files;
#   WHAT `final` for the student's last epoch, into ~/.cache/qa/readers/minilm-distilled; the teacher's targets
#   land in ~/.cache/qa/teacher-targets, and it prints the TARGETS=... that prepares the student's calls)
# A rehearsal here, on the CPU with small SQuAD files and any small encoder standing in for MPNet: REHEARSE=1
#   with CACHE and SQUAD pointing at them (tests/tools/test_device_train.py does this).
set -euo pipefail
CACHE=${CACHE:-${QA_CACHE_DIR:-$HOME/.cache/qa}}
export QA_CACHE_DIR=$CACHE  # where qa keeps runs, features and targets: the same place
READERS=$CACHE/readers
X=${X:-/tmp/x}  # there: the unpacked payload, the log and what is returned
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
        teacher)  # fp16: a relative rounding of 2^-11 of the starting weights, and half the bytes to send;
            # the student's base too, whose windows the teacher's targets are made for
            model_files "$CACHE/teacher-base/all-mpnet-base-v2" "$payload/mpnet"
            half "$CACHE/teacher-base/all-mpnet-base-v2/model.safetensors" "$payload/mpnet/model.safetensors"
            student_base "$payload/minilm" ;;
        student)  # the base in fp16; the teacher's targets when TARGETS names them (xz), else the teacher
            if [ -n "${TARGETS:-}" ]; then
                xz -T2 -3 -c "$TARGETS" > "$payload/targets.npz.xz"
            else  # in int8 rows (tools/weights_int8.py): held-out v1.1 F1 92.95 against 92.79 in fp16 (400 q)
                model_files "$(result teacher)" "$payload/teacher"
                .venv/bin/python tools/weights_int8.py pack "$(result teacher)/model.safetensors" \
                    "$payload/teacher/packed.safetensors"
            fi
            student_base "$payload/minilm" ;;
        *) usage ;;
    esac
    tar cf .dev/payload.tar -C "$payload" . && rm -rf "$payload"
    (cd .dev && sha256sum payload.tar > last/payload.sha256 && split -b "$PART" -d -a 1 payload.tar part. &&
        rm payload.tar)
    for f in "$squad/squad-v1.1-train.json" "$squad/squad-v1.1-dev-open.json" \
        "$data/squad-v2.0-dev.train.json" "$data/squad-v2.0-dev.holdout.json"; do
        xz -T2 -6 -c "$f" > ".dev/last/data/$(basename "$f").xz"
    done
    [ -n "${REHEARSE:-}" ] || wheels  # a rehearsal runs in this venv
    cp "$0" .dev/last/device-train.sh
    local parts=(.dev/part.*) i=1
    for p in "${parts[@]}"; do mkdir -p ".dev/p$i" && mv "$p" ".dev/p$i/" && i=$((i + 1)); done
    mv .dev/last/* ".dev/p$((i - 1))/" && rmdir .dev/last
    du -sh .dev/p*
    echo "N=$((i - 1)): carry .dev/p1 ... .dev/p$((i - 1)), the last with: bash .dev/p$((i - 1))/device-train.sh train $what"
}

wheels() {
    # what `qa-train train-reader` imports that the machine's image lacks, at this venv's versions, for its Python 3.12;
    # and this venv's tokenizers: the image's 0.23.2 cuts other windows than 0.23.3 (training/trainer.py:tokenizer_key),
    # so features, targets and checkpoints would not carry between the machines
    local pins
    pins=$(.venv/bin/pip list --format=freeze 2>/dev/null |
        grep -iE '^(pydantic|pydantic[-_]core|pydantic[-_]settings|python-dotenv|annotated-types|typing[-_]inspection|pysbd|tokenizers)==')
    # shellcheck disable=SC2086
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .dev/last/whl $pins
}

student_base() {  # the MiniLM encoder the student starts from, in fp16
    local minilm
    minilm=$(.venv/bin/python -c 'from index.embedding import bundled_embedding_model as m; print(m())')
    model_files "$minilm" "$1"
    half "$minilm/model.safetensors" "$1/model.safetensors"
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
    local what=$1 x=$X here deadline
    here=$(dirname "$0")
    deadline=$((SECONDS + ${LIMIT:-520}))
    mkdir -p "$x/data" "$x/out" "$READERS"
    if [ ! -f "$x/unpacked" ]; then
        cp "$here"/part.* "$x/"
        (cd "$x" && cat part.* > payload.tar && sha256sum -c "$OLDPWD/$here/payload.sha256" && tar xf payload.tar &&
            rm payload.tar part.*)
        if [ -f "$x/teacher/packed.safetensors" ]; then
            "$(py)" tools/weights_int8.py unpack "$x/teacher/packed.safetensors" "$x/teacher/model.safetensors"
            rm "$x/teacher/packed.safetensors"
        fi
        if [ -f "$x/targets.npz.xz" ]; then xz -dc -T0 "$x/targets.npz.xz" > "$x/targets.npz" && rm "$x/targets.npz.xz"; fi
        for f in "$here"/data/*.xz; do xz -dc "$f" > "$x/data/$(basename "$f" .xz)"; done
        [ -n "${REHEARSE:-}" ] ||  # a rehearsal runs in this venv, whose Python the wheels are not for
            python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$here"/whl/*.whl
        touch "$x/unpacked"
    fi
    export PYTHONPATH=/tmp/site:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
    local device=cuda
    [ -n "${REHEARSE:-}" ] && device=cpu
    local out returned=""  # returned: what goes back besides the reader's files, when not its weights
    out=$(result "$what")
    local -a recipe=(--train "$x/data/squad-v1.1-train.json" "$x/data/squad-v2.0-dev.train.json"
        --validate "$x/data/squad-v1.1-dev-open.json" "$x/data/squad-v2.0-dev.holdout.json"
        --batch-size 32 --max-length 256 --stride 128 --device "$device" --checkpoint-every 1000)
    # `make student` (STUDENT_EPOCHS=4, DISTILL_WEIGHT=0.9), averaged below as `make student-avg` does
    local -a student=("${recipe[@]}" --out "$READERS/minilm-distilled" --base "$x/minilm" --lr 1e-4 --seed 42
        --negatives 0.2 --epochs 4 --temperature 2 --distill-weight 0.9)
    case "$what" in
        teacher)  # `make teacher` (TEACHER_EPOCHS=1, TEACHER_LR=5e-5), then the student's targets from it
            [ -f "$out/training.json" ] ||
                run_until "$deadline" "${recipe[@]}" --out "$out" --base "$x/mpnet" --epochs 1 --lr 5e-5 --seed 42
            [ -f "$out/training.json" ] || { echo "not finished: run train $what again"; exit 3; }
            run_until "$deadline" "${student[@]}" --teacher "$out" --targets-only
            local made
            made=$(grep -o '"teacher_targets": "[^"]*"' "$x/train.log" | tail -1 | cut -d'"' -f4)
            [ -n "$made" ] && [ -f "$made" ] || { echo "targets not finished: run train $what again"; exit 3; }
            returned=$(teacher_and_targets "$out" "$made") ;;
        student)
            if [ -f "$x/targets.npz" ]; then student+=(--teacher-targets "$x/targets.npz")
            else student+=(--teacher "$x/teacher"); fi
            run_until "$deadline" "${student[@]}"
            [ -f "$READERS/minilm-distilled/training.json" ] || { echo "not finished: run train $what again"; exit 3; }
            "$(py)" -m training.cli average-readers "$READERS/minilm-distilled" "$CACHE/runs/minilm-distilled/epoch-3" \
                --out "$out"
            cp "$READERS/minilm-distilled/training.json" "$out/student-training.json"
            pack_for_return "$(result final)" "$x/final" ;;
    esac
    [ -f "$out/training.json" ] || { echo "not finished: run train $what again"; exit 3; }
    pack_for_return "$out" "$x/out" "$returned"
    cp "$x/out/meta.tgz" "$x/out/sum.txt" "$x"/out/w.0[0-3] "${OUT:?}/"
    ls "$x/out"  # the parts left for the next calls
}

py() {  # the machine's Python there; this venv's in a rehearsal here
    if [ -n "${REHEARSE:-}" ]; then echo .venv/bin/python; else echo python3; fi
}

run_until() {  # qa-train train-reader until the deadline; the tqdm lines stay in train.log only. A run the deadline
    # stops keeps its checkpoint (or its targets so far) for the next call.
    local deadline=$1 && shift
    local left=$((deadline - SECONDS))
    [ "$left" -gt 10 ] || { echo "no time left in this call: run it again"; exit 3; }
    set +e
    timeout "$left" "$(py)" -m training.cli train-reader "$@" 2>&1 | tee -a "$X/train.log" |
        grep -v -E 'it/s|s/it|step/s|batch/s' | tail -30
    set -e
}

teacher_and_targets() {  # one tar of the teacher (int8 rows) and its targets (xz), to return; prints its path
    local x=$X
    rm -rf "$x/pack" && mkdir -p "$x/pack"
    "$(py)" tools/weights_int8.py pack "$1/model.safetensors" "$x/pack/packed.safetensors" >&2
    xz -T0 -3 -c "$2" > "$x/pack/targets.npz.xz"
    tar cf "$x/pack.tar" -C "$x/pack" . && rm -rf "$x/pack"
    echo "$x/pack.tar"
}

pack_for_return() {  # a reader directory as meta.tgz (all but the weights, and the log), sum.txt and w.NN: the
    # parts of its weights, or of the file named third
    local x=$X file=${3:-$1/model.safetensors}
    rm -rf "$2" && mkdir -p "$2"
    (cd "$1" && tar czf "$2/meta.tgz" --exclude=model.safetensors . -C "$x" train.log)
    # 15 MiB parts: four of them (60 MiB) a call stay under the 64 MiB that a call returns
    (cd "$2" && split -b 15M -d -a 2 "$file" w. && (cd "$(dirname "$file")" && sha256sum "$(basename "$file")") > sum.txt)
}

unpack() {  # here: the returned parts, from every call's folder, joined and checked
    local what=$1 out dir joined=model.safetensors
    out=$(result "$what") && shift
    mkdir -p "$out"
    [ "$what" = teacher ] && joined=pack.tar
    for dir in "$@"; do [ -f "$dir/meta.tgz" ] && tar xzf "$dir/meta.tgz" -C "$out" && cp "$dir/sum.txt" "$out/"; done
    find "$@" -name 'w.[0-9][0-9]' -printf '%f %p\n' | sort | cut -d' ' -f2 | xargs cat > "$out/$joined"
    (cd "$out" && sha256sum -c sum.txt && rm sum.txt)
    [ "$what" = teacher ] || return 0
    # the teacher in fp16 as `make teacher` writes it, and its targets where `--teacher-targets` can take them
    tar xf "$out/pack.tar" -C "$out" && rm "$out/pack.tar"
    .venv/bin/python tools/weights_int8.py unpack "$out/packed.safetensors" "$out/fp32.safetensors"
    half "$out/fp32.safetensors" "$out/model.safetensors" && rm "$out/packed.safetensors" "$out/fp32.safetensors"
    local targets
    targets=$CACHE/teacher-targets/from-device-$(date +%Y%m%d-%H%M%S).npz
    mkdir -p "$(dirname "$targets")" && xz -dc "$out/targets.npz.xz" > "$targets" && rm "$out/targets.npz.xz"
    echo "teacher in $out; for the student's calls: TARGETS=$targets tools/device-train.sh prepare student"
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
