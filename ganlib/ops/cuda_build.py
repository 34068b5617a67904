"""Builds the custom CUDA kernels with torch's cpp_extension on first use (cached by torch)."""
from __future__ import annotations

from pathlib import Path


def load_extension():
    """Compile (or load from torch's extension cache) the ganlib CUDA ops; returns the module or raises."""
    import torch
    if not torch.cuda.is_available():
        raise RuntimeError("CUDA is not available")
    from torch.utils import cpp_extension
    here = Path(__file__).parent
    sources = [here / "ganlib_ops.cpp", here / "upfirdn2d_kernel.cu", here / "bias_act_kernel.cu"]
    missing = [str(s.name) for s in sources if not s.exists()]
    if missing:
        raise RuntimeError(f"CUDA sources missing: {', '.join(missing)}")
    return cpp_extension.load(name="ganlib_ops_v1", sources=[str(s) for s in sources],
                              extra_cuda_cflags=["--use_fast_math", "-O3"], verbose=False)
