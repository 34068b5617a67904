#!/bin/sh
# make cuda-check: compile ganlib's CUDA ops exactly as ganlib.ops.cuda_build.load_extension() does, and fail on any
# compiler error or warning. No GPU is needed.
#
#  - With a GPU and a CUDA toolkit (nvcc on PATH or in $CUDA_HOME) and a Python whose torch has CUDA
#    ($PYTHON, else .venv/bin/python, else python3): builds with that Python and toolkit.
#  - Otherwise: a throw-away venv OUTSIDE the repository ($CUDA_CHECK_DIR, default ~/.cache/latent-studio/cuda-check)
#    gets the CUDA build of the project's torch version, ninja and the matching CUDA compiler and headers from pip
#    (cuda-toolkit[nvcc,cccl,cudart]); about 5 GB downloaded the first time, reused afterwards.
#    `CUDA_CHECK_CLEAN=1 make cuda-check` deletes it first; `rm -rf` the folder when done.
# Tunables: TORCH_VERSION (default: the project venv's torch), CUDA_TOOLKIT_VERSION (13.0.3, matching torch's
# CUDA 13.0), TORCH_CUDA_ARCH_LIST ("8.0;9.0" without a GPU), MAX_JOBS (1).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
T0=$(date +%s)
note() { echo "cuda-check [$(( $(date +%s) - T0 )) s]: $*"; }

export MAX_JOBS="${MAX_JOBS:-1}"
PROJECT_PY="${PYTHON:-}"
if [ -z "$PROJECT_PY" ]; then
    if [ -x .venv/bin/python ]; then PROJECT_PY=.venv/bin/python; else PROJECT_PY=python3; fi
fi

have_gpu_toolkit() {
    command -v nvidia-smi >/dev/null 2>&1 || return 1
    { [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ]; } || command -v nvcc >/dev/null 2>&1 || return 1
    "$PROJECT_PY" -c "import sys, torch; sys.exit(0 if torch.version.cuda and torch.cuda.is_available() else 1)" \
        >/dev/null 2>&1
}

if have_gpu_toolkit; then
    note "GPU machine: using $PROJECT_PY and the installed CUDA toolkit"
    exec "$PROJECT_PY" scripts/cuda_check.py
fi

TORCH_VERSION="${TORCH_VERSION:-$("$PROJECT_PY" -c "import torch; print(torch.__version__.split('+')[0])" 2>/dev/null \
    || echo 2.13.0)}"
CUDA_TOOLKIT_VERSION="${CUDA_TOOLKIT_VERSION:-13.0.3}"
D="${CUDA_CHECK_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/latent-studio/cuda-check}"
mkdir -p "$D"
D=$(cd "$D" && pwd)
case "$D/" in
    "$ROOT"/*) echo "cuda-check: CUDA_CHECK_DIR=$D is inside the repository; choose a folder outside it" >&2; exit 2;;
esac
if [ "${CUDA_CHECK_CLEAN:-0}" = 1 ]; then note "deleting $D"; rm -rf "$D"; mkdir -p "$D"; fi
V="$D/venv-torch$TORCH_VERSION-cuda$CUDA_TOOLKIT_VERSION"
PIP_PUBLIC="env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null"

if [ ! -f "$V/.complete" ]; then
    note "throw-away venv $V (torch $TORCH_VERSION CUDA build, cuda-toolkit $CUDA_TOOLKIT_VERSION; ~5 GB download)"
    rm -rf "$V"
    python3 -m venv "$V"
    # A local pip configuration may hand out the +cpu wheel: ask the public index with the configuration off.
    $PIP_PUBLIC "$V/bin/pip" install --quiet --only-binary=:all: "torch==$TORCH_VERSION" numpy ninja \
        "cuda-toolkit[nvcc,cccl,cudart]==$CUDA_TOOLKIT_VERSION"
    touch "$V/.complete"
    note "venv ready ($(du -sh "$V" | cut -f1))"
else
    note "reusing $V"
fi

# The pip toolkit lives in site-packages/nvidia/cu13: give it the CUDA_HOME layout cpp_extension expects.
NV=$("$V/bin/python" -c "import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], 'cu13'))")
H="$D/cuda-home"
rm -rf "$H"
mkdir -p "$H/lib64"
for sub in bin include nvvm; do ln -s "$NV/$sub" "$H/$sub"; done
for f in "$NV"/lib/*; do ln -s "$f" "$H/lib64/"; done
[ -e "$H/lib64/libcudart.so" ] || ln -s "$(ls "$NV"/lib/libcudart.so.* | head -n 1)" "$H/lib64/libcudart.so"
export CUDA_HOME="$H" PATH="$V/bin:$H/bin:$PATH"
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-8.0;9.0}"
TORCH_INFO=$("$V/bin/python" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)')
note "$("$H/bin/nvcc" --version | tail -n 2 | head -n 1); torch $TORCH_INFO; arch $TORCH_CUDA_ARCH_LIST; MAX_JOBS=$MAX_JOBS"
status=0
PYTHONPATH="$ROOT" "$V/bin/python" scripts/cuda_check.py --no-gpu || status=$?
note "finished with status $status"
exit $status
