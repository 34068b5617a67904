"""Small file helpers: atomic writes so that a crash never leaves a file that looks finished."""
from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np


def _writer_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temps(final: str | Path, *, every_name: bool = False) -> None:
    """Delete the temporary files ``.NAME.PID.XXXXXXXX.part*`` (``temp_path_for``'s names) that an earlier write
    of ``final`` left beside it when its process died (kill -9, power loss): a file whose writer ``PID`` no longer
    runs. With ``every_name``, ``final`` is a folder and the dead writers' temporary files of every name in it go
    (a resumed render's work folder). Temporary files of live processes (another thread or job writing the same
    name) are never touched. Returns None."""
    final = Path(final)
    folder, name = (final, None) if every_name else (final.parent, final.name)
    stem = ".+" if name is None else re.escape(name)
    pattern = re.compile(rf"\.{stem}\.(\d+)\.[^.]+\.part")
    if not folder.is_dir():
        return
    for p in folder.glob(f".{'*' if name is None else glob.escape(name)}.*.part*"):
        m = pattern.match(p.name)
        if m and int(m.group(1)) != os.getpid() and not _writer_alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                if p.is_file():
                    p.unlink()


def temp_path_for(final: str | Path) -> Path:
    """Return a fresh temporary path ``.NAME.PID.XXXXXXXX.part.SUFFIX`` in the same folder as ``final`` (same file
    system, so rename is atomic), after removing the temporary files of earlier writes of ``final`` whose process
    died (``remove_stale_temps``)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(final)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.{os.getpid()}.", suffix=".part" + final.suffix, dir=final.parent)
    os.close(fd)
    _plain_permissions(Path(name))  # mkstemp makes the file private (0600)
    return Path(name)


def _plain_permissions(path: Path) -> None:
    """Give the regular file ``path`` the permissions a plain open() would (0666 less the umask); writers such as
    safetensors' ``save_file`` replace the file with a private (0600) one."""
    umask = os.umask(0)
    os.umask(umask)
    if path.is_file() and not path.is_symlink():
        os.chmod(path, 0o666 & ~umask)


@contextlib.contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success rename it to ``final``, on error delete it.

    Takes the final path; yields the temporary ``Path`` (which exists, empty, and may be overwritten).
    """
    final = Path(final)
    tmp = temp_path_for(final)
    try:
        yield tmp
        _plain_permissions(tmp)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Return the hex SHA-256 of the bytes of file ``path``, read in ``chunk``-byte blocks (constant memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def npy_header(fh) -> tuple[tuple[int, ...], np.dtype]:
    """Read the header of a ``.npy`` stream ``fh`` (positioned at its start) and return ``(shape, dtype)`` as it
    declares them, without reading (or allocating) the array; ValueError for a stream that is not a .npy."""
    version = np.lib.format.read_magic(fh)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(fh, max_header_size=10000)
    return tuple(int(n) for n in shape), dtype


def npy_declared_values(fh) -> int:
    """Return the number of 8-byte-or-smaller values the ``.npy`` stream ``fh`` (at its start) declares (wider
    dtypes count as several); ValueError for a stream that is not a .npy."""
    shape, dtype = npy_header(fh)
    return int(np.prod(shape, dtype=object)) * max(1, dtype.itemsize // 8)


def cache_folder(name: str) -> Path:
    """Return the cache folder ``name`` of the studio: ``$STUDIO_CACHE_DIR/NAME`` or ``~/.cache/latent-studio/NAME``
    (not created here)."""
    root = os.environ.get("STUDIO_CACHE_DIR") or Path.home() / ".cache" / "latent-studio"
    return Path(root) / name
