#!/usr/bin/env bash
# The prepared check for a machine with an NVIDIA GPU: set up, build the custom CUDA ops (failing on any compiler
# warning), run the CUDA tests, measure the generator (custom vs reference ops, fp16 vs fp32, 256/512/1024 px,
# batch 1 and 8), render the demo at 1024 px on the GPU, and write results.json + results.md.
#
#   benchmarks/gpu_check.sh [--out DIR] [--budget SECONDS] [--python PY] [--wheels DIR] [--dry-run]
#
# Unattended and bounded: the whole run stays inside --budget (default 450 s); each step has its own time limit,
# cut to what the budget has left, and a step that fails or runs out of time is recorded and the next one runs.
# Results are written as they come (partial results stay when a step fails): DIR (default
# gpu-check-results/<date-time>) holds steps.tsv, log.txt (every step's output), env.json, generator.json,
# render.json, results.json and results.md (and build.log if the build failed). Exit status 0: every step passed.
# The folder is printed at the start and the end.
#
# Nothing is downloaded: the Python that runs it (--python, $PYTHON, else python3) must have a CUDA build of torch;
# --wheels DIR installs the wheels in DIR first (offline, into a temporary folder on PYTHONPATH) for packages the
# machine lacks (e.g. imageio-ffmpeg, pydantic). Without imageio-ffmpeg the demo is rendered as PNG frames (4 s).
# --dry-run lists the steps and checks the script's own prerequisites without a GPU; it runs nothing.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUDGET=450
OUT_DIR=""
PY="${PYTHON:-python3}"
WHEELS=""
DRY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT_DIR="$2"; shift 2;;
        --budget) BUDGET="$2"; shift 2;;
        --python) PY="$2"; shift 2;;
        --wheels) WHEELS="$2"; shift 2;;
        --dry-run) DRY=1; shift;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
        *) echo "gpu_check: unknown option $1 (see --help)" >&2; exit 2;;
    esac
done
case "$BUDGET" in ''|*[!0-9]*) echo "gpu_check: --budget must be whole seconds, got '$BUDGET'" >&2; exit 2;; esac

# name | time limit (s) | what it does
STEPS=(
    "setup|60|Python with a CUDA build of torch, offline wheels (--wheels), nvidia-smi, the modules each step needs"
    "build|240|scripts/cuda_check.py --default-dir: build the ops into torch's extension cache, fail on any warning"
    "tests|150|pytest tests/test_cuda_ops.py tests/test_cuda_host_kernels.py (the CUDA parity tests run here)"
    "generator|180|benchmarks/generator.py --device cuda --sizes 256,512,1024 --batches 1,8 --json generator.json"
    "render|120|studio render presets/timelines/demo.yaml at size 1024 --device cuda (MP4, or 4 s of PNGs)"
)
RESERVE=15  # seconds kept for the report at the end

if [ "$DRY" = 1 ]; then
    echo "gpu_check --dry-run: steps (time limit each, all inside a budget of ${BUDGET} s;" \
         "${RESERVE} s kept for the report):"
    i=1
    for s in "${STEPS[@]}"; do
        IFS='|' read -r name limit what <<< "$s"
        printf '  %d. %-9s <= %3s s  %s\n' "$i" "$name" "$limit" "$what"
        i=$((i + 1))
    done
    echo "  $i. report    results.json + results.md (benchmarks/gpu_check_report.py)"
    missing=0
    for f in scripts/cuda_check.py benchmarks/generator.py benchmarks/gpu_check_report.py tests/test_cuda_ops.py \
             tests/test_cuda_host_kernels.py tests/kernel_host_harness.cpp presets/timelines/demo.yaml \
             ganlib/ops/cuda_build.py; do
        if [ -f "$f" ]; then echo "  ok       $f"; else echo "  MISSING  $f"; missing=1; fi
    done
    for c in timeout date "$PY"; do
        if command -v "$c" >/dev/null 2>&1; then echo "  ok       command $c"; else
            echo "  MISSING  command $c"; missing=1; fi
    done
    for c in nvidia-smi nvcc; do
        if command -v "$c" >/dev/null 2>&1; then echo "  ok       command $c"; else
            echo "  absent   command $c (needed on the GPU machine only)"; fi
    done
    "$PY" benchmarks/gpu_check_report.py --modules || true
    [ -n "$WHEELS" ] && { ls "$WHEELS"/*.whl >/dev/null 2>&1 && echo "  ok       wheels in $WHEELS" ||
        { echo "  MISSING  wheels in $WHEELS"; missing=1; }; }
    [ "$missing" = 0 ] && echo "gpu_check --dry-run: ready (nothing was run)" || echo "gpu_check --dry-run: NOT ready"
    exit $missing
fi

T0=$(date +%s)
DEADLINE=$((T0 + BUDGET))
[ -n "$OUT_DIR" ] || OUT_DIR="gpu-check-results/$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
LOG="$OUT_DIR/log.txt"
TSV="$OUT_DIR/steps.tsv"
printf 'step\tstatus\tseconds\trc\n' > "$TSV"
: > "$LOG"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
echo "gpu_check: results in $OUT_DIR (budget ${BUDGET} s)"
export PYTHONPATH="$ROOT" PYTHONUNBUFFERED=1 STUDIO_OPS=auto
export MAX_JOBS="${MAX_JOBS:-4}" GPU_CHECK_DIR="$OUT_DIR" GPU_CHECK_WORK="$WORK"
SETUP_OK=0

report() {
    timeout "$RESERVE" "$PY" benchmarks/gpu_check_report.py --dir "$OUT_DIR" >> "$LOG" 2>&1 ||
        echo "gpu_check: the report failed (see $LOG)"
    [ -f "$OUT_DIR/results.md" ] && cat "$OUT_DIR/results.md"
    echo "gpu_check: results in $OUT_DIR ($(( $(date +%s) - T0 )) s)"
}
trap 'echo "gpu_check: interrupted" >> "$LOG"; report; exit 130' INT TERM

# run_step NAME LIMIT COMMAND...: run under min(LIMIT, what the budget leaves), log, record the outcome.
run_step() {
    local name="$1" limit="$2"; shift 2
    local left=$((DEADLINE - RESERVE - $(date +%s)))
    [ "$limit" -gt "$left" ] && limit=$left
    if [ "$limit" -lt 5 ]; then
        printf '%s\tskipped (time budget spent)\t0\t-\n' "$name" >> "$TSV"
        echo "gpu_check: $name skipped (time budget spent)"
        return 1
    fi
    echo "gpu_check: $name (<= ${limit} s) ..."
    printf '\n===== %s (limit %s s) =====\n' "$name" "$limit" >> "$LOG"
    local t=$(date +%s) rc=0 status=ok
    timeout --kill-after=5 "$limit" "$@" >> "$LOG" 2>&1 || rc=$?
    local took=$(( $(date +%s) - t ))
    case $rc in 0) status=ok;; 124|137) status="timeout after ${limit} s";; *) status="failed (exit $rc)";; esac
    printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$took" "$rc" >> "$TSV"
    echo "gpu_check: $name $status in ${took} s"
    return $rc
}

skip() { printf '%s\tskipped (%s)\t0\t-\n' "$1" "$2" >> "$TSV"; echo "gpu_check: $1 skipped ($2)"; }

setup() {
    if [ -n "$WHEELS" ]; then
        "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$WORK/site" "$WHEELS"/*.whl || return 1
    fi
    nvidia-smi || true
    "$PY" benchmarks/gpu_check_report.py --modules --need-cuda
}

[ -n "$WHEELS" ] && export PYTHONPATH="$WORK/site:$PYTHONPATH"
export -f setup
export PY WHEELS WORK
run_step setup 60 bash -c setup && SETUP_OK=1
if [ "$SETUP_OK" = 1 ]; then
    run_step build 240 "$PY" scripts/cuda_check.py --default-dir ||
        cp "$("$PY" -c 'from ganlib.ops import cuda_build; print(cuda_build.default_build_dir())')/build.log" \
            "$OUT_DIR/build.log" 2>/dev/null
    run_step tests 150 "$PY" -m pytest -q -rs -p no:cacheprovider tests/test_cuda_ops.py tests/test_cuda_host_kernels.py
    run_step generator 180 "$PY" benchmarks/generator.py --device cuda --sizes 256,512,1024 --batches 1,8 \
        --repeats 3 --warmup 2 --json "$OUT_DIR/generator.json"
    run_step render 120 "$PY" benchmarks/gpu_check_report.py --render-demo
else
    for s in build tests generator render; do skip "$s" "setup failed"; done
fi
report
rm -rf "$WORK"
# Exit 0 only when every step succeeded.
! tail -n +2 "$TSV" | cut -f2 | grep -qv '^ok$'
