"""A restricted unpickler: only the globals on an allow-list are ever resolved, and each resolves to a harmless
stand-in written here (or to a constructor that only builds data). Nothing named by the file is imported, and no code
carried by the file (NVlabs pickles embed Python source) is executed.

``safe_load(path, allowed)`` returns the unpickled data or raises ``CheckpointError`` naming the file and, for a
refused global, the offending ``module.name``. The loaded data is then walked once, without recursion, within the
limits of :mod:`ganlib.limits`: ``pickle_nodes`` (objects visited, a shared reference counted each time it is reached,
so a 500-byte reference DAG that would make later walks exponential is refused), ``pickle_depth`` (nesting; a
reference cycle is refused too) and ``tensor_bytes`` (arrays declared, checked before numpy allocates).

Before the unpickler runs, the opcode stream is scanned once (``check_opcodes``) without reading any payload: every
length a length-prefixed opcode declares (LONG4, BINBYTES8, BINUNICODE8, BYTEARRAY8, BINSTRING, FRAME, ...) must fit
in the bytes the file still holds, and every memo index must be one an honest pickler could have reached. Python's
unpickler allocates a declared length (or grows its memo to a declared index) before it reads, so a 10-byte file could
otherwise ask for gigabytes.
"""
from __future__ import annotations

import io
import math
import mmap
import os
import pickle
import pickletools
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch

from ganlib import limits
from ganlib.errors import CheckpointError
from ganlib.paths import input_file, os_error_text

Allowed = Mapping[tuple[str, str], Any]


class ForbiddenGlobal(pickle.UnpicklingError):
    """Raised from ``find_class`` for a global outside the allow-list."""

    def __init__(self, module: str, name: str):
        super().__init__(f"{module}.{name}")
        self.module = module
        self.name = name


class RefusedUse(pickle.UnpicklingError):
    """Raised when an allowed global is called with arguments outside what checkpoints use."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, allowed: Allowed):
        super().__init__(file)
        self._allowed = allowed

    def find_class(self, module: str, name: str):  # noqa: D102 - pickle hook
        key = (module, name)
        if key in self._allowed:
            return self._allowed[key]
        raise ForbiddenGlobal(module, name)

    def persistent_load(self, pid):  # noqa: D102 - pickle hook
        raise pickle.UnpicklingError(f"persistent id {str(pid)[:60]!r} (not expected in this kind of file)")


# ----------------------------------------------------------------------------------------------- shared stand-ins
class EasyDictStandIn(dict):
    """Stands in for ``dnnlib.util.EasyDict`` (a dict with attribute access): here, just a dict."""

    def __setstate__(self, state):  # EasyDict pickles without a state, but tolerate one
        if isinstance(state, dict):
            self.update(state)


def _codecs_encode(text, encoding="utf-8", errors="strict"):
    """``_codecs.encode``: protocol-2 pickles write bytes as ``encode(str, 'latin1')``; nothing else is allowed."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise RefusedUse("_codecs.encode is only allowed for latin-1 byte strings")
    return text.encode("latin1")


def _numpy_reconstruct(subtype, shape, dtype):
    if subtype is not np.ndarray:
        raise RefusedUse("numpy array reconstruction is only allowed for numpy.ndarray")
    dt = np.dtype(dtype)
    dims = tuple(int(d) for d in (shape if isinstance(shape, (tuple, list)) else (shape,)))
    if any(d < 0 for d in dims):
        raise RefusedUse("numpy array with a negative dimension")
    total = dt.itemsize * math.prod(dims)
    if total > limits.get("tensor_bytes"):
        raise RefusedUse(limits.exceeded("tensor_bytes", total, f"an array shaped {list(dims)[:6]}"))
    return np.ndarray.__new__(np.ndarray, dims, dt)


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise RefusedUse("numpy scalars of object type are not allowed")
    return np.frombuffer(data, dtype=dtype, count=1)[0] if data is not None else dtype.type()


def _numpy_dtype(obj, align=False, copy=False):
    if not isinstance(obj, str):
        raise RefusedUse("numpy dtypes are only allowed from a type code")
    return np.dtype(obj, align, copy)


def _set(items=()):
    return set(items)


def _frozenset(items=()):
    return frozenset(items)


def numpy_globals() -> dict[tuple[str, str], Any]:
    """Allow-list entries for plain numpy arrays, dtypes and scalars (both numpy 1 and numpy 2 module names)."""
    out: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): _numpy_dtype}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        out[(mod, "_reconstruct")] = _numpy_reconstruct
        out[(mod, "scalar")] = _numpy_scalar
    return out


def builtin_globals() -> dict[tuple[str, str], Any]:
    """Allow-list entries for containers that older pickle protocols write as globals."""
    return {
        ("collections", "OrderedDict"): OrderedDict,
        ("builtins", "set"): _set,
        ("builtins", "frozenset"): _frozenset,
        ("__builtin__", "set"): _set,
        ("_codecs", "encode"): _codecs_encode,
    }


# ------------------------------------------------------------------------------------------------- torch tensors
def weights_only_refused_global(text: str) -> str | None:
    """Return the 'module.name' that torch's weights-only loader refused, from its error text (or None)."""
    m = re.search(r"GLOBAL\s+([A-Za-z_][\w.]*)", text) or re.search(r"Unsupported (?:global|class):?\s+([A-Za-z_][\w.]*)",
                                                                      text)
    return m.group(1) if m else None


def load_storage_bytes(data: bytes):
    """Stands in for ``torch.storage._load_from_bytes``: a nested legacy ``torch.save`` blob holding one storage,
    read with torch's weights-only loader (CPU)."""
    if not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError("tensor storage is not a byte string")
    try:
        return torch.load(io.BytesIO(bytes(data)), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - reported as a corrupt tensor
        refused = weights_only_refused_global(str(exc))
        if refused:
            module, _, name = refused.rpartition(".")
            raise ForbiddenGlobal(module, name) from None
        raise pickle.UnpicklingError(f"unreadable tensor storage ({type(exc).__name__}: "
                                     f"{str(exc).splitlines()[0][:120] if str(exc) else ''})") from None


def _is_storage(obj) -> bool:
    return isinstance(obj, (torch.TypedStorage, torch.UntypedStorage))


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    if not _is_storage(storage):
        raise pickle.UnpicklingError("tensor data is not a tensor storage")
    if isinstance(storage, torch.UntypedStorage):
        raise pickle.UnpicklingError("untyped tensor storage without a dtype")
    t = torch.empty((0,), dtype=storage.dtype).set_(storage._untyped_storage, int(storage_offset), tuple(size),
                                                    tuple(stride))
    return t


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    if not isinstance(data, torch.Tensor):
        raise pickle.UnpicklingError("parameter data is not a tensor")
    return data


def _rebuild_parameter_with_state(data, requires_grad=False, backward_hooks=None, state=None):
    return _rebuild_parameter(data)


def _rebuild_from_type_v2(func, new_type, args, state):
    if func not in (_rebuild_tensor_v2, _rebuild_parameter) or new_type not in (torch.Tensor, torch.nn.Parameter):
        raise RefusedUse("tensor subclass reconstruction is not allowed")
    return func(*args)


def torch_globals() -> dict[tuple[str, str], Any]:
    """Allow-list entries for tensors pickled by plain ``pickle`` (nested legacy storages)."""
    return {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
        ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
        ("torch.storage", "_load_from_bytes"): load_storage_bytes,
        ("torch", "Tensor"): torch.Tensor,
        ("torch.nn.parameter", "Parameter"): torch.nn.Parameter,
    }


# ------------------------------------------------------------------------------------------------ opcode scan
class DeclaredTooMuch(pickle.UnpicklingError):
    """Raised by ``check_opcodes`` for a declared length or memo index the file cannot honestly hold."""


_LENGTH_PREFIX = {pickletools.TAKEN_FROM_ARGUMENT1: (1, False), pickletools.TAKEN_FROM_ARGUMENT4: (4, True),
                  pickletools.TAKEN_FROM_ARGUMENT4U: (4, False), pickletools.TAKEN_FROM_ARGUMENT8U: (8, False)}
_MEMO_PUTS = {"BINPUT", "LONG_BINPUT", "PUT"}
_OPS = {op.code.encode("latin-1")[0]: op for op in pickletools.opcodes}


def check_opcodes(buf) -> None:
    """Scan the pickle opcodes in ``buf`` (bytes or an mmap of the file) up to STOP, stepping over every payload
    instead of reading it. Raise ``DeclaredTooMuch`` when an opcode declares more bytes than remain in the file, or a
    memo index beyond the number of opcodes before it (an honest pickler numbers its memo from 0, one entry per
    object). Unknown opcodes and a truncated end stop the scan (the unpickler reports them). Returns None."""
    size, pos, ops = len(buf), 0, 0
    while pos < size:
        op = _OPS.get(buf[pos])
        if op is None or op.name == "STOP":
            return
        start, pos, ops = pos, pos + 1, ops + 1
        arg = op.arg
        if arg is None:
            continue
        index = None
        if arg.n in _LENGTH_PREFIX:
            width, signed = _LENGTH_PREFIX[arg.n]
            length = int.from_bytes(buf[pos:pos + width], "little", signed=signed)
            pos += width
            if pos > size:
                return
            if length < 0 or length > size - pos:
                raise DeclaredTooMuch(f"{op.name} at byte {start} declares {length:,} bytes but the file has "
                                      f"{size - pos:,} left (truncated download?)")
            pos += length
        elif arg.n == pickletools.UP_TO_NEWLINE:
            end = buf.find(b"\n", pos)
            if end < 0:
                return
            if op.name == "PUT":
                index = buf[pos:min(end, pos + 24)].strip()
                index = int(index) if index.isdigit() else None
            pos = end + 1
            if arg.name.endswith("_pair"):
                end = buf.find(b"\n", pos)
                pos = end + 1 if end >= 0 else size
        else:
            raw = buf[pos:pos + arg.n]
            pos += arg.n
            if pos > size:
                return
            if op.name == "FRAME" and int.from_bytes(raw, "little") > size - pos:
                raise DeclaredTooMuch(f"FRAME at byte {start} declares {int.from_bytes(raw, 'little'):,} bytes but "
                                      f"the file has {size - pos:,} left (truncated download?)")
            if op.name in _MEMO_PUTS:
                index = int.from_bytes(raw, "little")
        if index is not None and index > ops:
            raise DeclaredTooMuch(f"{op.name} at byte {start} names memo slot {index:,} after only {ops:,} opcodes")


# ---------------------------------------------------------------------------------------------------- loading
def safe_load(path: str | Path, allowed: Allowed, what: str = "checkpoint",
              describe: Callable[[str, str], str] | None = None) -> Any:
    """Unpickle ``path`` resolving only globals in ``allowed``; return the data.

    Raises CheckpointError naming the file: for a refused global (``module.name`` in the message), and for truncated
    or corrupt files. ``what`` names the expected kind of file in messages.
    """
    path = input_file(path, what, CheckpointError)  # a FIFO or device is refused without a blocking open
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size:
                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
                    check_opcodes(view)
            data = _RestrictedUnpickler(f, allowed).load()
        check_structure(data, path)
        return data
    except ForbiddenGlobal as exc:
        extra = describe(exc.module, exc.name) if describe else ""
        raise CheckpointError(
            f"refused to load: the pickle asks for the global '{exc.module}.{exc.name}', which a {what} never "
            f"needs{extra}; nothing in the file was imported or run", file=path) from None
    except RefusedUse as exc:
        raise CheckpointError(f"refused to load: {exc}; nothing in the file was imported or run",
                              file=path) from None
    except OSError as exc:
        raise CheckpointError(f"cannot read: {os_error_text(exc)}", file=path) from None
    except DeclaredTooMuch as exc:
        raise CheckpointError(f"truncated or corrupt {what}: {exc}; nothing was allocated for it", file=path) from None
    except CheckpointError:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            MemoryError, RecursionError, OverflowError, UnicodeDecodeError, RuntimeError) as exc:
        msg = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if isinstance(exc, EOFError) or "truncated" in msg or "ran out of input" in msg.lower():
            msg = "the file ends early (truncated download?)"
        raise CheckpointError(f"truncated or corrupt {what}: {msg}", file=path) from None


def _children(obj: Any):
    """The objects directly inside ``obj`` that a later walk would visit (containers and stand-in states)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield v
    elif isinstance(obj, (list, tuple, set, frozenset)):
        yield from obj
    elif hasattr(obj, "__dict__") and not isinstance(obj, (type, torch.Tensor, np.ndarray)):
        yield from vars(obj).values()


def check_structure(data: Any, path: str | Path) -> None:
    """Walk unpickled ``data`` once (iteratively, so no RecursionError) and raise CheckpointError naming ``path``
    when it visits more than ``pickle_nodes`` objects (shared references counted each time they are reached),
    nests deeper than ``pickle_depth``, contains a reference cycle, or its arrays total more than
    ``tensor_bytes``. Returns None."""
    budget, max_depth, max_bytes = limits.get("pickle_nodes"), limits.get("pickle_depth"), limits.get("tensor_bytes")
    visits, total_bytes = 0, 0
    seen_arrays: set[int] = set()
    on_path: set[int] = set()
    stack: list[tuple[Any, int, bool]] = [(data, 0, False)]
    while stack:
        obj, depth, leaving = stack.pop()
        if leaving:
            on_path.discard(id(obj))
            continue
        visits += 1
        if visits > budget:
            raise CheckpointError(limits.exceeded("pickle_nodes", visits, "the pickle's object graph") +
                                  "; shared references form a graph that expands beyond it", file=path)
        if depth > max_depth:
            raise CheckpointError(f"the pickle nests objects more than {max_depth} levels deep; no checkpoint "
                                  f"does that", file=path)
        if isinstance(obj, (torch.Tensor, np.ndarray)):
            if id(obj) not in seen_arrays:
                seen_arrays.add(id(obj))
                total_bytes += obj.nbytes if isinstance(obj, np.ndarray) else obj.numel() * obj.element_size()
                if total_bytes > max_bytes:
                    raise CheckpointError(limits.exceeded("tensor_bytes", total_bytes, "the checkpoint's arrays"),
                                          file=path)
            continue
        if isinstance(obj, (str, bytes, bytearray, int, float, complex, bool, type(None))):
            continue
        if id(obj) in on_path:
            raise CheckpointError("the pickle's objects contain a reference cycle (an object inside itself); "
                                  "no checkpoint does that", file=path)
        on_path.add(id(obj))
        stack.append((obj, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(obj))
