#!/bin/bash
# The MPNet teacher on a GPU machine lent through the workplace's `device` tool, which takes and returns at most
# 64 MiB a call and keeps a machine only 30 s between calls. Used on 2026-12-04 (one H200: 4 min 21 s for the run,
# about 13 of the session's 15 device minutes in all, calls included). Nothing in the project needs it.
#
# Here, once:   tools/device-teacher.sh prepare      (needs `make teacher-base` and the v2.0 dev split)
#   and take models/reader out of what travels (45 MB): echo /models/reader/ >> .git/info/exclude;
#   git rm -r -q --cached models/reader  (undo both afterwards: git reset -q models/reader, remove the line)
# There, one call each, back to back (each within 30 s of the last):
#   carry .dev/p1: mkdir -p /tmp/x && cp .dev/p1/* /tmp/x/      (the same for .dev/p2 and .dev/p3)
#   carry .dev/p4: bash .dev/p4/device-teacher.sh train        (returns meta.tgz, sum.txt and w.00-w.03)
#   no carry:      cp /tmp/x/out/w.0[4-7] $OUT/; then w.0[89] w.1[01]; then w.1[23]
# Here again:   tools/device-teacher.sh unpack /work/.device/N ...   (every call's folder of returned files)
set -euo pipefail
CACHE=${CACHE:-$HOME/.cache/qa}
TEACHER=$CACHE/readers/mpnet-teacher

prepare() {
    local base=$CACHE/teacher-base/all-mpnet-base-v2 data=$CACHE/data squad=${SQUAD:-../shared/data/squad}
    rm -rf .dev && mkdir -p .dev/p1 .dev/p2 .dev/p3 .dev/p4/mpnet .dev/p4/data .dev/p4/whl
    grep -qx '/.dev/' .git/info/exclude 2>/dev/null || echo '/.dev/' >> .git/info/exclude
    # fp16: a relative rounding of 2^-11 of the starting weights, and half the bytes to send
    .venv/bin/python - "$base" .dev/fp16.safetensors <<'EOF'
import sys
from safetensors.torch import load_file, save_file
weights = load_file(f"{sys.argv[1]}/model.safetensors")
save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in weights.items()}, sys.argv[2],
          metadata={"format": "pt"})
EOF
    (cd .dev && sha256sum fp16.safetensors > p4/fp16.sha256 && split -b 57M -d fp16.safetensors part. && rm fp16.safetensors)
    mv .dev/part.00 .dev/p1/ && mv .dev/part.01 .dev/p2/ && mv .dev/part.02 .dev/p3/ && mv .dev/part.03 .dev/p4/
    cp "$base"/{config.json,tokenizer.json,tokenizer_config.json,special_tokens_map.json,vocab.txt} .dev/p4/mpnet/
    for f in "$squad/squad-v1.1-train.json" "$squad/squad-v1.1-dev-open.json" \
        "$data/squad-v2.0-dev.train.json" "$data/squad-v2.0-dev.holdout.json"; do
        xz -T2 -6 -c "$f" > ".dev/p4/data/$(basename "$f").xz"
    done
    # what `qa train-reader` imports that the machine's image lacks, at this venv's versions, for its Python 3.12
    local pins
    pins=$(.venv/bin/pip list --format=freeze 2>/dev/null |
        grep -iE '^(pydantic|pydantic[-_]core|pydantic[-_]settings|python-dotenv|annotated-types|typing[-_]inspection|pysbd)==')
    # shellcheck disable=SC2086
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .dev/p4/whl $pins
    cp "$0" .dev/p4/device-teacher.sh
    du -sh .dev/p?
}

train() {  # on the GPU machine, in the repository's copy there
    local x=/tmp/x
    mkdir -p "$x/mpnet" "$x/data" "$x/out" "$(dirname "$TEACHER")"
    cp .dev/p4/part.03 "$x/"
    cat "$x"/part.0? > "$x/mpnet/fp16.safetensors"
    (cd "$x/mpnet" && sha256sum -c "$OLDPWD/.dev/p4/fp16.sha256") && mv "$x/mpnet/fp16.safetensors" "$x/mpnet/model.safetensors"
    cp .dev/p4/mpnet/* "$x/mpnet/"
    for f in .dev/p4/data/*.xz; do xz -dc "$f" > "$x/data/$(basename "$f" .xz)"; done
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .dev/p4/whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
    # the recipe of `make teacher` (TEACHER_EPOCHS=1, TEACHER_LR=5e-5); the tqdm lines stay in train.log only
    timeout 540 python3 -m qa.cli train-reader \
        --train "$x/data/squad-v1.1-train.json" "$x/data/squad-v2.0-dev.train.json" \
        --validate "$x/data/squad-v1.1-dev-open.json" "$x/data/squad-v2.0-dev.holdout.json" \
        --out "$TEACHER" --batch-size 32 --max-length 256 --stride 128 --device cuda \
        --base "$x/mpnet" --epochs 1 --lr 5e-5 --seed 42 --checkpoint-every 1000 2>&1 |
        tee "$x/train.log" | grep -v -E 'it/s|s/it' | tail -40
    (cd "$TEACHER" && tar czf "$x/out/meta.tgz" --exclude=model.safetensors . -C "$x" train.log)
    # 15 MiB parts: four of them (60 MiB) a call stay under the 64 MiB that a call returns
    (cd "$x/out" && split -b 15M -d -a 2 "$TEACHER/model.safetensors" w. &&
        (cd "$TEACHER" && sha256sum model.safetensors) > sum.txt)
    cp "$x/out/meta.tgz" "$x/out/sum.txt" "$x"/out/w.0[0-3] "${OUT:?}/"
}

unpack() {  # here: the returned parts, from every call's folder, joined and checked
    mkdir -p "$TEACHER"
    local dir
    for dir in "$@"; do [ -f "$dir/meta.tgz" ] && tar xzf "$dir/meta.tgz" -C "$TEACHER" && cp "$dir/sum.txt" "$TEACHER/"; done
    find "$@" -name 'w.[0-9][0-9]' -printf '%f %p\n' | sort | cut -d' ' -f2 | xargs cat > "$TEACHER/model.safetensors"
    (cd "$TEACHER" && sha256sum -c sum.txt && rm sum.txt)
}

case "${1:-}" in
    prepare | train | unpack) "$@" ;;
    *) echo "usage: $0 prepare | train | unpack DIR..." >&2; exit 2 ;;
esac
