"""Builds the custom CUDA kernels with torch's cpp_extension on first use (cached by torch), keeping the build's
whole output in ``build.log`` inside the build folder, so that a failed build can say what the compiler said."""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from ganlib.ops.build_log import compiler_errors

EXT_NAME = "ganlib_ops_v2"
SOURCES = ("ganlib_ops.cpp", "upfirdn2d_kernel.cu", "upfirdn2d_tiled.cu", "bias_act_kernel.cu")
CUDA_CFLAGS = ("--use_fast_math", "-O3")
LOG_NAME = "build.log"


class BuildError(RuntimeError):
    """The extension could not be built or loaded: ``errors`` holds the compiler's first error lines, ``log`` the
    path of the build's full output (None when the build never started)."""

    def __init__(self, summary: str, errors: list[str], log: Path | None):
        super().__init__("\n    ".join([summary, *errors]))
        self.summary, self.errors, self.log = summary, list(errors), log


def source_paths() -> list[Path]:
    """Return the paths of the extension's C++/CUDA sources (shipped beside this module)."""
    here = Path(__file__).parent
    return [here / name for name in SOURCES]


def default_build_dir() -> Path:
    """Return the folder torch's cpp_extension would build in: ``$TORCH_EXTENSIONS_DIR`` (default
    ``~/.cache/torch_extensions``) / ``py<version>_cu<cuda>`` / the extension's name."""
    import torch
    root = os.environ.get("TORCH_EXTENSIONS_DIR") or os.path.join(os.path.expanduser("~"), ".cache",
                                                                  "torch_extensions")
    cu = "cu" + (torch.version.cuda or "").replace(".", "") if torch.version.cuda else "cpu"
    return Path(root) / f"py{sys.version_info.major}{sys.version_info.minor}_{cu}" / EXT_NAME


@contextlib.contextmanager
def _stdout_to(path: Path):
    """Send this process's file descriptor 1 (where cpp_extension's verbose ninja run writes) to ``path``; for the
    build's duration anything else the process writes to its stdout lands there too."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no stdout at all: the log stays empty
        yield
        return
    with open(path, "wb") as log:
        os.dup2(log.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def load_extension(build_directory: str | Path | None = None, require_gpu: bool = True):
    """Compile (or load from torch's extension cache) the ganlib CUDA ops; returns the module.

    The build's output goes to ``<build folder>/build.log``. Raises ``BuildError`` with the compiler's first error
    lines and the log's path when anything fails; ``require_gpu=False`` builds without a visible GPU (compile
    checks: the caller sets ``TORCH_CUDA_ARCH_LIST``)."""
    import torch
    if require_gpu and not torch.cuda.is_available():
        raise BuildError("CUDA is not available (no GPU visible to torch, or a CPU build of torch)", [], None)
    if torch.version.cuda is None:
        raise BuildError(f"torch {torch.__version__} is a CPU build: the CUDA ops need a CUDA build of torch", [], None)
    missing = [p.name for p in source_paths() if not p.exists()]
    if missing:
        raise BuildError(f"CUDA sources missing: {', '.join(missing)}", [], None)
    from torch.utils import cpp_extension
    build_dir = Path(build_directory) if build_directory is not None else default_build_dir()
    build_dir.mkdir(parents=True, exist_ok=True)
    log = build_dir / LOG_NAME
    try:
        with _stdout_to(log):
            return cpp_extension.load(name=EXT_NAME, sources=[str(s) for s in source_paths()],
                                      extra_cuda_cflags=list(CUDA_CFLAGS), build_directory=str(build_dir),
                                      verbose=True)
    except Exception as exc:
        text = (log.read_text(errors="replace") if log.exists() else "") + "\n" + str(exc)
        errors = compiler_errors(text)
        raise BuildError(f"building the CUDA ops failed ({type(exc).__name__}); build log: {log}", errors,
                         log) from exc
