"""Reading a compiler's output: the first error lines (what a failed build reports) and the warning lines (what
``make cuda-check`` refuses). Pure text functions: no torch, no subprocess."""
from __future__ import annotations

import re

_ERROR = re.compile(r"(\berror\s*(#\w+(-D)?)?\s*:|\bfatal\b\s*:|undefined reference|undefined symbol|"
                    r"cannot find -l|No such file or directory|: not found|command not found)", re.I)
_WARNING = re.compile(r"\bwarning\s*(#\w+(-D)?)?\s*:", re.I)
_NOISE = re.compile(r"^(ninja: build stopped|FAILED: |\[\d+/\d+\] |Error building extension|subprocess\.|"
                    r"Traceback |Emitting ninja|Building extension|Allowing ninja|Using .* as PyTorch extensions root"
                    r"|Detected CUDA files|Loading extension|Creating extension)")
_COMMAND = re.compile(r"^\s*\S*(nvcc|c\+\+|g\+\+|gcc|clang\+\+|cc|ld)(\s|$).*\s-(c|o|shared)\s")


def _is_command(line: str) -> bool:
    """True for a compiler command line as ninja echoes it (not something the compiler said)."""
    return len(line) > 400 or bool(_COMMAND.match(line))


def _said(text: str) -> list[str]:
    """The lines of a build's output that the tools said, without echoed commands and ninja's progress lines."""
    return [ln.rstrip() for ln in text.splitlines() if ln.strip() and not _is_command(ln) and not _NOISE.match(ln)]


def compiler_errors(text: str, limit: int = 8) -> list[str]:
    """Return the first error lines of a build's output ``text`` (at most ``limit``), each with the source line the
    compiler quoted after it (nvcc and gcc print the offending line and a caret). Echoed command lines are skipped.
    When nothing looks like an error, the last lines the tools said are returned instead."""
    lines = _said(text)
    out: list[str] = []
    i = 0
    while i < len(lines) and len(out) < limit:
        if _ERROR.search(lines[i]) and not _WARNING.search(lines[i]):
            out.append(lines[i].strip())
            j = i + 1
            while j < len(lines) and j <= i + 2 and lines[j].startswith(" ") and not _ERROR.search(lines[j]):
                if len(out) < limit:
                    out.append(lines[j].rstrip())
                j += 1
            i = j
            continue
        i += 1
    if not out:
        out = [ln.strip() for ln in lines[-limit:]]
    return out


def compiler_warnings(text: str) -> list[str]:
    """Return every warning line of a build's output ``text`` (compiler, linker or nvcc driver warnings)."""
    return [ln.strip() for ln in _said(text) if _WARNING.search(ln) and not re.search(r"-W(no-)?[\w-]+", ln)]
