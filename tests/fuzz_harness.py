"""Run many ``studio`` command lines in ONE process (imports paid once), each under a time bound, and record for
each its exit code, output, seconds, peak-memory growth and any exception that escaped ``studio.cli.main``.

Usage: ``python tests/fuzz_harness.py CASES.json RESULTS.json [ADDRESS_SPACE_BYTES [FILE_SIZE_BYTES]]``
(``RESULTS.json`` ``-`` prints them to stdout at the end instead). ``CASES.json`` is a list of
``{"name", "argv", "timeout", "env"}``; results are written after every case, so a process killed mid-way still
leaves the cases before it. The optional address-space limit (``resource.RLIMIT_AS``) keeps a runaway allocation
from taking the machine down; the optional file-size limit (``RLIMIT_FSIZE``, SIGXFSZ ignored) makes every write
past it fail with EFBIG, the injected "disk full" of machines that cannot mount a small tmpfs; the per-case growth
of ``ru_maxrss`` is what the tests bound.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import signal
import sys
import time
import traceback


class CaseTimeout(BaseException):
    """Raised by SIGALRM when a case runs past its time bound (a BaseException, so no ``except Exception`` eats
    it)."""


def _alarm(signum, frame):
    raise CaseTimeout()


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_case(case: dict, studio_main, limits_module) -> dict:
    """Run one case; return its result record."""
    out, err = io.StringIO(), io.StringIO()
    saved_env = {k: os.environ.get(k) for k in case.get("env", {})}
    os.environ.update(case.get("env", {}))
    peak0 = _peak_kb()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(case.get("timeout", 60)))
    t0 = time.monotonic()
    code, escaped = None, None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = studio_main(list(case["argv"]))
    except CaseTimeout:
        code = "timeout"
    except BaseException:  # noqa: BLE001 - an escaped exception is exactly what the suite looks for
        code = "escaped"
        escaped = traceback.format_exc()[-3000:]
    finally:
        signal.alarm(0)
        limits_module._overrides.clear()
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"name": case["name"], "code": code, "stdout": out.getvalue()[-4000:], "stderr": err.getvalue()[-4000:],
            "seconds": round(time.monotonic() - t0, 3), "growth_mb": (_peak_kb() - peak0) / 1024,
            "escaped": escaped}


def main(argv: list[str]) -> int:
    """Run the cases of ``argv[0]`` and write their results to ``argv[1]``; return 0."""
    cases = json.loads(open(argv[0]).read())
    if len(argv) > 2 and int(argv[2]) > 0:
        resource.setrlimit(resource.RLIMIT_AS, (int(argv[2]), int(argv[2])))
    if len(argv) > 3 and int(argv[3]) > 0:  # a "full disk" where no tmpfs can be mounted: writes past it get EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # (ignored, so EFBIG instead of death; ffmpeg inherits it)
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(argv[3]), int(argv[3])))
    import torch  # noqa: F401 - imported before the first case so imports do not count as its memory

    from ganlib import limits
    from studio.cli import main as studio_main
    import studio.render  # noqa: F401
    import studio.commands.render  # noqa: F401
    torch.set_num_threads(1)
    results = []
    for case in cases:
        results.append(run_case(case, studio_main, limits))
        if argv[1] == "-":  # to stdout at the end (a pipe: not bound by a file-size limit)
            continue
        with open(argv[1], "w") as fh:
            json.dump(results, fh)
    if argv[1] == "-":
        sys.__stdout__.write(json.dumps(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
