"""One render per output at a time: a lock file ``.NAME.lock`` beside the output (``renders/.x.mp4.lock``;
``.frames.lock`` beside a PNG folder) held with an exclusive ``flock`` while the render runs.

The kernel releases the lock when its process ends, however it ends (SIGKILL included), so a lock left by a killed
render is stale by construction and the next render takes it over; the file records the holder's pid and host,
which the refusal names. A clean exit removes the file. (``flock`` is honoured by local file systems and by NFS v4
on Linux; on shared storage, run one driver per output.)
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Iterator

from ganlib.errors import UserError


def lock_path(target: str | Path) -> Path:
    """Return the lock file of a render to ``target`` (a file, or a PNG folder): ``.NAME.lock`` beside it."""
    target = Path(target)
    return target.parent / f".{target.name}.lock"


def lock_holder(path: Path) -> str:
    """Return "process PID on HOST" from the lock file ``path`` ("another process" when it cannot be read)."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        owner = json.loads(path.read_text())
        return f"process {int(owner['pid'])} on {owner['host']}"
    return "another process"


@contextlib.contextmanager
def render_lock(target: str | Path, field: str = "--out") -> Iterator[Path]:
    """Hold the lock of a render to ``target`` for the ``with`` block; yields the lock file's path. Raises
    UserError (one line naming the holder) when another live render holds it."""
    path = lock_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(f"another render is writing this output ({lock_holder(path)}); wait for it to finish "
                            f"or stop it", file=target, field=field) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:  # else the holder removed the file just before we locked it: lock the new one
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)
