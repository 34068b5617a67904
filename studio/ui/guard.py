"""Per-request bounds for the shared UI server: every request runs under a deadline and a memory budget.

``with request(name):`` around an event handler (``studio.ui.context.user_errors`` does it for every handler)
registers the handler's thread with one watchdog thread. The watchdog samples the server's resident memory every
``POLL_S`` seconds; when a request runs past ``ui_request_s`` seconds (``ui_job_s`` for the render and batch
handlers, ``JOB_HANDLERS``), or the server has grown by more than
``ui_request_memory`` bytes since the request began, it raises ``RequestAborted`` INSIDE that request's thread
(CPython's ``PyThreadState_SetAsyncExc``: delivered at the next Python bytecode, so between two tensor operations).
The context manager turns it into a ``UserError`` whose one line names the limit, so the browser sees the text, and
the memory the request held is handed back (garbage collection and ``malloc_trim``). A request that starts while
the server is already over ``ui_request_memory`` above its idle size is refused before any work.

Limits (``ganlib.limits``): ``ui_request_s``, ``ui_job_s``, ``ui_request_memory`` (raise them with
``studio --limit NAME=VALUE ui``). The declared-size limits (layer ranges, seeds, keyframes, pickles, ...) still stop absurd requests before
they allocate; this guard bounds what is left.

Public API::

    request(name) -> context manager     # bound one request (UserError naming the limit when it is exceeded)
    check(what) -> None                  # raise the UserError now if this request is past a bound
    resident_bytes() -> int              # the server's resident memory now (0 where unknown)
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Iterator

from ganlib import limits
from ganlib.errors import UserError

POLL_S = 0.1
# Handlers that run a whole render or batch in the request (the job queue): bounded by ``ui_job_s`` instead.
JOB_HANDLERS = frozenset({"render", "batch"})


class RequestAborted(BaseException):
    """Raised inside a request's thread by the watchdog (a BaseException, so no ``except Exception`` eats it)."""


@dataclass
class _Request:
    name: str
    thread_id: int
    started: float
    start_rss: int
    deadline_s: int
    memory: int
    reason: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    active: bool = True


_active: dict[int, _Request] = {}
_active_lock = threading.Lock()
_watchdog: threading.Thread | None = None
_baseline = [0]


def resident_bytes() -> int:
    """Return the resident memory of this process in bytes (Linux ``/proc/self/statm``; 0 where unknown)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None)


def _over(req: _Request, now: float, rss: int) -> str | None:
    """The limit ``req`` exceeds now (its one-line reason), or None."""
    if req.deadline_s and now - req.started > req.deadline_s:
        which = "ui_job_s" if req.name in JOB_HANDLERS else "ui_request_s"
        return (f"the request ran longer than {which} = {req.deadline_s:,} s and was stopped (raise it with "
                f"--limit {which}=N)")
    if rss and req.memory and rss - req.start_rss > req.memory:
        return (f"the request took {(rss - req.start_rss) / 2 ** 20:,.0f} MiB, over ui_request_memory = "
                f"{req.memory / 2 ** 20:,.0f} MiB, and was stopped (raise it with --limit ui_request_memory=N)")
    return None


def _watch() -> None:
    while True:
        time.sleep(POLL_S)
        with _active_lock:
            requests = list(_active.values())
        if not requests:
            continue
        now, rss = time.monotonic(), resident_bytes()
        for req in requests:
            reason = _over(req, now, rss)
            if reason is None:
                continue
            with req.lock:
                if req.active and req.reason is None:
                    req.reason = reason
                    _raise_in(req.thread_id, RequestAborted)


def _ensure_watchdog() -> None:
    global _watchdog
    with _active_lock:
        if _watchdog is None or not _watchdog.is_alive():
            _baseline[0] = _baseline[0] or resident_bytes()
            _watchdog = threading.Thread(target=_watch, name="ui-request-guard", daemon=True)
            _watchdog.start()


def _release_memory() -> None:
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def check(what: str = "the request") -> None:
    """Raise UserError (one line naming the limit) if the current request is past its deadline or memory budget;
    call it before expensive work. Outside a request it does nothing. Returns None."""
    req = _active.get(threading.get_ident())
    if req is not None:
        reason = req.reason or _over(req, time.monotonic(), resident_bytes())
        if reason:
            raise UserError(f"{what}: {reason}")


@contextlib.contextmanager
def request(name: str) -> Iterator[None]:
    """Run the body as one bounded request named ``name`` (see the module doc); a request that exceeds a bound
    raises UserError with the limit's name. Nested use (a handler calling another) keeps the outer bounds."""
    tid = threading.get_ident()
    if tid in _active:
        yield
        return
    _ensure_watchdog()
    rss = resident_bytes()
    memory = limits.get("ui_request_memory")
    if rss and memory and _baseline[0] and rss - _baseline[0] > memory:
        _release_memory()
        rss = resident_bytes()
        if rss - _baseline[0] > memory:
            raise UserError(f"the server is using {(rss - _baseline[0]) / 2 ** 20:,.0f} MiB more than when it "
                            f"started, over ui_request_memory; try again when the running jobs finish")
    deadline = limits.get("ui_job_s" if name in JOB_HANDLERS else "ui_request_s")
    req = _Request(name, tid, time.monotonic(), rss, deadline, memory)
    with _active_lock:
        _active[tid] = req
    aborted = False
    try:
        yield
    except RequestAborted as exc:
        aborted = True
        traceback.clear_frames(exc.__traceback__)  # the stopped handler's locals (its allocations) go now
    finally:
        while True:  # an abort can still land here, until the request is marked inactive and the abort cleared
            try:
                with req.lock:
                    req.active = False
                    pending = req.reason is not None
                if pending:
                    _raise_in(tid, None)
                break
            except RequestAborted:
                aborted = True
        with _active_lock:
            _active.pop(tid, None)
    if aborted:
        _release_memory()
        raise UserError(f"{name}: {req.reason or 'stopped'}")
