"""Compile ganlib's CUDA ops exactly as ``ganlib.ops.cuda_build.load_extension()`` does, in a fresh build folder,
and fail (exit 1) on any compiler error or warning. Run by scripts/cuda_check.sh (``make cuda-check``).

    python scripts/cuda_check.py            # a machine with a GPU and a CUDA toolkit
    python scripts/cuda_check.py --no-gpu   # no GPU: torch.cuda.is_available is reported true to cpp_extension;
                                            # set CUDA_HOME and TORCH_CUDA_ARCH_LIST first (cuda_check.sh does)
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from ganlib.ops import cuda_build  # noqa: E402
from ganlib.ops.build_log import compiler_warnings  # noqa: E402


def main(argv=None) -> int:
    """Build in a temporary folder (or ``--build-dir``), print the timings and any warnings; returns the status."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-gpu", action="store_true", help="compile without a GPU (cpp_extension is told CUDA exists)")
    ap.add_argument("--build-dir", help="build folder (default: a new temporary folder, kept on failure)")
    ap.add_argument("--keep", action="store_true", help="keep the build folder after a successful check")
    ap.add_argument("--default-dir", action="store_true",
                    help="build where the ops are loaded from at run time (torch's extension cache), and keep it")
    args = ap.parse_args(argv)
    if args.no_gpu:
        if not os.environ.get("TORCH_CUDA_ARCH_LIST"):
            print("cuda-check: set TORCH_CUDA_ARCH_LIST (e.g. '8.0;9.0'): without a GPU there is no default")
            return 2
        torch.cuda.is_available = lambda: True  # cpp_extension refuses CUDA sources otherwise; nothing runs on it
    if args.default_dir:
        args.build_dir = str(cuda_build.default_build_dir())
    build_dir = Path(args.build_dir) if args.build_dir else Path(tempfile.mkdtemp(prefix="ganlib-cuda-check-"))
    print(f"cuda-check: building {cuda_build.EXT_NAME} ({', '.join(cuda_build.SOURCES)}) in {build_dir}", flush=True)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            module = cuda_build.load_extension(build_directory=build_dir, require_gpu=not args.no_gpu)
        except cuda_build.BuildError as exc:
            print(f"cuda-check: FAILED after {time.perf_counter() - t0:.0f} s: {exc}")
            return 1
    seconds = time.perf_counter() - t0
    log = (build_dir / cuda_build.LOG_NAME).read_text(errors="replace")
    problems = compiler_warnings(log) + [f"python {w.category.__name__}: {w.message}" for w in caught]
    entry_points = [name for name in ("upfirdn2d", "upfirdn2d_sep", "bias_act") if not hasattr(module, name)]
    if entry_points:
        problems.append(f"the built module lacks {', '.join(entry_points)}")
    if problems:
        print(f"cuda-check: FAILED, {len(problems)} warning(s) (full output: {build_dir / cuda_build.LOG_NAME}):")
        for p in problems:
            print(f"    {p}")
        return 1
    print(f"cuda-check: OK, built and loaded with no warnings in {seconds:.0f} s (torch {torch.__version__}, "
          f"CUDA {torch.version.cuda}, arch {os.environ.get('TORCH_CUDA_ARCH_LIST', 'of the visible GPU')})")
    if not args.keep and not args.build_dir:
        import shutil
        shutil.rmtree(build_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
