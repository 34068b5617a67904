"""What every tab of the studio shares: the model catalog, the job queue, the output folder, the session's Timeline.

:class:`Studio` is made once by :func:`studio.ui.app.build_app` and handed to each tab's ``build`` function.
:func:`user_errors` wraps an event handler so that bad input reaches the browser as one line (a ``gr.Error``), never
as a traceback.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from ganlib.checkpoints import LoadedModel
from ganlib import limits
from ganlib.errors import UserError
from ganlib.paths import OS_USER_ERRORS, escape_text, os_error_text
from studio.errors import TimelineError
from studio.timeline import Timeline
from studio.ui import guard, state
from studio.ui.jobs import RENDER_CONCURRENCY, JobManager, cancel_line
from studio.ui.models import ModelCatalog

# Every event that changes the session's Timeline runs in this one queue, one at a time, in the order the browser
# sent them: a settings change and a keyframe click that arrive together can never overwrite each other.
EDIT = dict(concurrency_id="edit", concurrency_limit=1)
# Renders and batches share the job queue's limit.
HEAVY = dict(concurrency_id="heavy", concurrency_limit=RENDER_CONCURRENCY)
# Cancelling, counting and pruning never wait behind the jobs they are about.
CONTROL = dict(concurrency_id="control", concurrency_limit=None)
# How long a cancel waits for its jobs to stop (each stops at its next frame or image).
CANCEL_WAIT_S = 30.0


def session_id(request: Any) -> str | None:
    """The browser (or gradio_client) session of a ``gr.Request``: its session hash; None without one."""
    return getattr(request, "session_hash", None) or None


def user_errors(fn: Callable) -> Callable:
    """Wrap an event handler: text arguments over the ``ui_request_bytes`` limit are refused before it runs; a
    UserError it raises is shown as a ``gr.Error`` with its one-line message (control characters escaped), and so
    are running out of memory, a full disk and any other failure (with its text: never an empty ``AppError``)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        for value in list(args) + list(kwargs.values()):
            if isinstance(value, (str, bytes)) and len(value) > limits.get("ui_request_bytes"):
                raise gr.Error(limits.exceeded("ui_request_bytes", len(value), "the request"),
                               print_exception=False)
        try:
            with guard.request(fn.__name__):  # deadline + memory budget (studio/ui/guard.py)
                return fn(*args, **kwargs)
        except gr.Error:
            raise
        except UserError as err:
            raise gr.Error(escape_text(str(err)), print_exception=False) from None
        except MemoryError:
            raise gr.Error("out of memory; use a smaller batch, resolution or input", print_exception=False) from None
        except OSError as err:
            if err.errno not in OS_USER_ERRORS:
                raise gr.Error(f"internal error: {escape_text(str(err))[:300]}") from None
            raise gr.Error(f"{escape_text(str(err.filename or ''))}: {os_error_text(err)}",
                           print_exception=False) from None
        except Exception as err:  # noqa: BLE001 - a bug, but the browser still gets its text
            raise gr.Error(f"internal error ({type(err).__name__}): {escape_text(str(err))[:300]}") from None
    return wrapper


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


def check_timeline_files(tl: Timeline, allowed: list[Path]) -> None:
    """Refuse a timeline whose latent/feature files lie outside the ``allowed`` folders (TimelineError)."""
    for i, kf in enumerate(tl.keyframes):
        for key in ("latent", "features"):
            value = getattr(kf, key)
            if not isinstance(value, str):
                continue
            p = Path(value)
            if not (p.is_absolute() and any(_inside(p, a) for a in allowed)):
                raise TimelineError(f"{key} file {value!r} is outside the studio's folders; add latents with "
                                    f"'Add a latent file' in the Explore tab", field=f"keyframes[{i}].{key}")
    files = [("audio", tl.audio.path)] if tl.audio is not None else []
    files += [(f"react[{i}].{key}", getattr(rule, key)) for i, rule in enumerate(tl.react)
              for key in ("latent", "direction") if str(getattr(rule, key) or "").endswith((".npy", ".npz"))]
    for where, value in files:
        p = Path(value)
        if not (p.is_absolute() and any(_inside(p, a) for a in allowed)):
            raise TimelineError(f"file {value!r} is outside the studio's folders; upload music with 'Upload a "
                                f"track' in the Timeline tab's Music panel", field=where)


@dataclass
class Studio:
    """One studio: where its files go, which models it offers, its job queue and the session's Timeline state."""

    catalog: ModelCatalog
    jobs: JobManager
    output_dir: Path
    device: str = "auto"
    timeline: Any = field(default=None)  # gr.State holding the session's studio.timeline.Timeline

    @property
    def latent_dir(self) -> Path:
        """Where uploaded latent files are kept (inside the output folder, so timelines may name them)."""
        return self.output_dir / "latents"

    def load_model(self, spec: str | None) -> LoadedModel:
        """Return the loaded model for ``spec`` if the studio offers it (CheckpointError otherwise)."""
        return self.catalog.load(spec, self.device)

    def admit(self, tl: Timeline) -> Timeline:
        """Check that ``tl`` only names models and files this studio offers; return it (UserError otherwise)."""
        self.catalog.check(tl.model)
        check_timeline_files(tl, [self.output_dir])
        return tl

    def cancel(self, request: Any) -> str:
        """Cancel the queued and running jobs of ``request``'s session and wait (up to CANCEL_WAIT_S) for them to
        stop; return a status line. When one job stopped, the line is the one its render or batch shows, so
        whichever of the two events the browser gets last, the status says the same."""
        return cancel_line(self.jobs.cancel(session_id(request), wait_s=CANCEL_WAIT_S))

    def renderable(self, tl: Timeline) -> Timeline:
        """Return ``tl`` validated whole (:func:`studio.ui.state.to_timeline`) after :meth:`admit`."""
        return state.to_timeline(self.admit(tl))
