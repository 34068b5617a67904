"""Path checks shared by every reader and writer: files are files, names are sane, outputs never clobber inputs.

A FIFO, device, socket or folder given where a regular file is expected is refused from ``stat`` alone (opening a
FIFO would block forever); NUL bytes and over-long names are clear errors instead of ``ValueError``/``ENAMETOOLONG``
tracebacks; an output equal to one of the inputs is refused before anything is written; OS errors while writing
(disk full, permission) become one line.

Public API::

    check_name(path, what, error=, field=) -> str          # NUL bytes, over-long names and components
    input_file(path, what, error=, field=) -> Path         # an existing regular file (never opens it)
    regular_or_missing(path, what, error=, field=) -> Path  # for outputs: absent, or a regular file
    refuse_same(output, inputs, error=, field=) -> None    # the output must not be one of the inputs
    os_error_text(exc) -> str                               # "disk full (no space left on device)" ...
    escape_text(text) -> str                                # control characters shown as \x1b, \n ...
    OS_USER_ERRORS                                          # errnos that are the user's situation, not a bug
"""
from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path
from typing import Iterable

from ganlib import limits
from ganlib.errors import UserError

_NAME_MAX = 255


def _kind(mode: int) -> str | None:
    """What a non-regular file is, for a message (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_name(path: str | os.PathLike, what: str = "file", error: type[UserError] = UserError,
               field: str | None = None) -> str:
    """Return ``path`` as text after refusing NUL bytes, paths over the ``text_chars`` limit and file-name
    components over 255 bytes (each one line naming ``what``)."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    shown = text if len(text) <= 60 else text[:57] + "..."
    if "\x00" in text:
        raise error(f"the {what} path {shown!r} contains a NUL byte", field=field)
    if len(text) > limits.get("text_chars"):
        raise error(f"the {what} path is {len(text):,} characters long (at most {limits.get('text_chars'):,})",
                    field=field)
    for part in text.split(os.sep):
        if len(part.encode("utf-8", "surrogateescape")) > _NAME_MAX:
            raise error(f"the {what} path {shown!r} has a name longer than {_NAME_MAX} bytes", field=field)
    return text


def input_file(path: str | os.PathLike, what: str = "file", error: type[UserError] = UserError,
               field: str | None = None) -> Path:
    """Return ``Path(path)`` when it names an existing regular file; raise ``error`` naming the file for a missing
    path, a folder, a FIFO, a device or a socket. Never opens the path (a FIFO would block)."""
    text = check_name(path, what, error, field)
    try:
        st = os.stat(text)
    except FileNotFoundError:
        raise error(f"{what} not found", file=text, field=field) from None
    except OSError as exc:
        raise error(f"cannot read the {what}: {os_error_text(exc)}", file=text, field=field) from None
    kind = _kind(st.st_mode)
    if kind:
        raise error(f"is {kind}, not a {what}", file=text, field=field)
    return Path(text)


def regular_or_missing(path: str | os.PathLike, what: str = "output file", error: type[UserError] = UserError,
                       field: str | None = None) -> Path:
    """Return ``Path(path)`` when it does not exist yet or is a regular file (which may be replaced); raise
    ``error`` when it is an existing folder, FIFO, device or socket (an output never silently becomes a folder)."""
    text = check_name(path, what, error, field)
    try:
        st = os.stat(text)
    except FileNotFoundError:
        return Path(text)
    except OSError as exc:
        raise error(f"cannot write the {what}: {os_error_text(exc)}", file=text, field=field) from None
    kind = _kind(st.st_mode)
    if kind:
        raise error(f"is {kind}; the {what} must be a file (choose another name or remove it)", file=text,
                    field=field)
    return Path(text)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def refuse_same(output: str | os.PathLike, inputs: Iterable[str | os.PathLike | None],
                error: type[UserError] = UserError, field: str | None = None) -> None:
    """Raise ``error`` when ``output`` is the same file as any of ``inputs`` (None entries are skipped): writing
    it would destroy the input."""
    out = Path(os.fspath(output))
    for item in inputs:
        if item is None:
            continue
        src = Path(os.fspath(item))
        if _same(out, src) or os.path.abspath(out) == os.path.abspath(src):
            raise error(f"the output is the input file {str(src)!r}; writing it would destroy the input "
                        f"(choose another output name)", file=str(out), field=field)


def os_error_text(exc: OSError) -> str:
    """One short phrase for an OS error: disk full, permission denied, name too long, or its strerror."""
    if exc.errno == errno.ENOSPC:
        return "disk full (no space left on device)"
    if exc.errno == errno.EDQUOT:
        return "disk quota exceeded"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENAMETOOLONG:
        return "file name too long"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno == errno.EFBIG:
        return "file too large (the file system's or this process's file-size limit; like a full disk)"
    return exc.strerror or str(exc)


OS_USER_ERRORS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG,
                            errno.EROFS, errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.EEXIST})
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def escape_text(text: str, keep_newlines: bool = False) -> str:
    """Return ``text`` with control characters (terminal escapes, carriage returns, bidi overrides) written as
    ``\\x1b``-style escapes, so text read from a file cannot drive the terminal; tabs stay, newlines stay when
    ``keep_newlines`` (else they become ``\\n``)."""
    out = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}",
                       str(text))
    return out if keep_newlines else out.replace("\n", "\\n")
