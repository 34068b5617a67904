"""Which checkpoints the studio offers, and the only way a model spec from a browser reaches the loaders.

A spec coming from the UI (the model picker, a loaded timeline, an API call) is accepted only when it is

* ``builtin:NAME`` for a model in the built-in folder (``presets/models`` or ``$STUDIO_MODELS_DIR``),
* a checkpoint file inside the ``--models-dir`` folder, or
* a checkpoint uploaded through the UI (copied under ``<output>/uploads/<sha>/``) that the safe loaders accepted.

Anything else (another path on the server, ``builtin:../x``) is refused with a :class:`ganlib.errors.CheckpointError`
before a file is opened. Uploads are loaded with :func:`ganlib.checkpoints.load_generator`, whose pickle readers never
run pickled code; any failure deletes the copy and is reported as a refusal.
"""
from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

from ganlib.checkpoints import LoadedModel, builtin_models_dir
from ganlib.checkpoints.registry import BUILTIN_PREFIX, detect_format
from ganlib.devices import resolve_device
from ganlib.errors import CheckpointError, UserError
from ganlib.io_utils import file_sha256
from studio.render import get_model

MODEL_EXTENSIONS = (".safetensors", ".pkl", ".pt", ".pth")
BUILTIN = BUILTIN_PREFIX
MAX_UPLOAD_BYTES = 2 * 1024 ** 3
PROBE_BYTES = 64 * 1024 ** 2  # folder files up to this size are read when listed, to show the ones that cannot load
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def safe_name(text: str | None, default: str = "file", limit: int = 60) -> str:
    """Return ``text`` reduced to a harmless file name: letters, digits, ``._-`` only, no leading dot."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text or "")).strip("._-")[:limit]
    return stem or default


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


class ModelCatalog:
    """The models one studio offers: built-ins, files in ``models_dir`` and safe uploads under ``upload_dir``."""

    def __init__(self, models_dir: str | Path | None, upload_dir: str | Path):
        self.models_dir = Path(models_dir).resolve() if models_dir else None
        self.upload_dir = Path(upload_dir).resolve()
        self._uploads: dict[str, str] = {}  # spec -> label
        self._problems: dict[str, tuple[tuple, str]] = {}  # spec -> (file key, why it cannot be loaded)
        self._lock = threading.Lock()

    # ----------------------------------------------------------------------------------------- listing
    def builtin_names(self) -> list[str]:
        """Names NAME of the ``builtin:NAME`` models that exist now."""
        folder = builtin_models_dir()
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.safetensors") if p.is_file() and _NAME.match(p.stem))

    def folder_files(self) -> list[Path]:
        """Checkpoint files directly inside ``models_dir`` (not already offered as built-ins)."""
        if self.models_dir is None or not self.models_dir.is_dir():
            return []
        builtin = {(builtin_models_dir() / f"{n}.safetensors").resolve() for n in self.builtin_names()}
        return sorted(p for p in self.models_dir.iterdir()
                      if p.is_file() and p.suffix.lower() in MODEL_EXTENSIONS and not p.name.startswith(".")
                      and _inside(p, self.models_dir) and p.resolve() not in builtin)

    def choices(self) -> list[tuple[str, str]]:
        """(label, spec) pairs for the model picker: built-ins first, then the models folder, then uploads; a
        model that cannot be loaded is labelled so (its reason: :meth:`problem`)."""
        def label(name: str, where: str | None, spec: str) -> str:
            where = "cannot load" if self.problem(spec) else where
            return f"{name}  ({where})" if where else name
        out = [(label(f"{BUILTIN}{n}", None, f"{BUILTIN}{n}"), f"{BUILTIN}{n}") for n in self.builtin_names()]
        out += [(label(p.name, "models folder", str(p)), str(p)) for p in self.folder_files()]
        with self._lock:
            out += [(label, spec) for spec, label in self._uploads.items() if Path(spec).is_file()]
        return out

    def default_spec(self) -> str | None:
        """``builtin:default`` when it exists, else the first choice, else None."""
        specs = [s for _, s in self.choices()]
        if f"{BUILTIN}default" in specs:
            return f"{BUILTIN}default"
        return specs[0] if specs else None

    # ---------------------------------------------------------------------------------- unloadable models
    def _file_key(self, spec: str) -> tuple:
        try:
            path = Path(spec) if not spec.startswith(BUILTIN) else \
                builtin_models_dir() / f"{spec[len(BUILTIN):]}.safetensors"
            st = path.stat()
            return (st.st_size, st.st_mtime_ns)
        except OSError:
            return ()

    def problem(self, spec: str) -> str | None:
        """Why model ``spec`` cannot be loaded (a failed load, or for a folder file up to PROBE_BYTES, its format
        check), or None when nothing is known against it. Remembered until the file changes."""
        key = self._file_key(spec)
        with self._lock:
            known = self._problems.get(spec)
        if known is not None and known[0] == key:
            return known[1] or None
        reason = ""
        path = Path(spec)
        if not spec.startswith(BUILTIN) and key and key[0] <= PROBE_BYTES:
            try:
                detect_format(path)
            except UserError as exc:
                reason = exc.message
            except Exception as exc:  # noqa: BLE001 - an odd file is a reason to list, not a crash
                reason = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self._problems[spec] = (key, reason)
        return reason or None

    def problems(self) -> list[tuple[str, str]]:
        """(name, reason) of every offered model that cannot be loaded, in the picker's order."""
        found = [(label.split("  (")[0], self.problem(spec)) for label, spec in self.choices()]
        return [(name, why) for name, why in found if why]

    def _failed(self, spec: str, reason: str) -> None:
        with self._lock:
            self._problems[spec] = (self._file_key(spec), reason)

    # -------------------------------------------------------------------------------------------- checks
    def check(self, spec: str | None) -> str:
        """Return ``spec`` when the studio offers that model; raise CheckpointError otherwise (nothing is read)."""
        if not spec or not str(spec).strip():
            raise CheckpointError("no model selected: pick one in the Explore tab", field="model")
        spec = str(spec).strip()
        if spec.startswith(BUILTIN):
            name = spec[len(BUILTIN):]
            if _NAME.match(name) and ".." not in name and name in self.builtin_names():
                return spec
            raise CheckpointError(f"no built-in model {name!r}; available: "
                                  f"{', '.join(self.builtin_names()) or 'none'}", field="model")
        path = Path(spec).expanduser()
        if path.suffix.lower() in MODEL_EXTENSIONS and path.is_file() and (
                _inside(path, self.models_dir) or _inside(path, self.upload_dir)):
            return str(path.resolve()) if not path.is_absolute() else spec
        raise CheckpointError(f"model {spec!r} is not one this studio offers; put the file in the models folder "
                              f"(--models-dir) or upload it in the Explore tab", field="model")

    def load(self, spec: str | None, device: str = "cpu") -> LoadedModel:
        """Check ``spec`` and return the (cached) loaded model; CheckpointError / UserError otherwise."""
        spec = self.check(spec)
        try:
            return get_model(spec, resolve_device(device))
        except UserError as exc:
            if exc.field not in ("--device", "device"):
                self._failed(spec, exc.message)
            raise
        except Exception as exc:  # a loader bug or an unsupported format must not look like a crash
            self._failed(spec, f"{type(exc).__name__}: {exc}")
            raise CheckpointError(f"cannot load this model: {type(exc).__name__}: {exc}", file=spec) from None

    # ------------------------------------------------------------------------------------------- uploads
    def add_upload(self, tmp_path: str | Path, original_name: str | None = None, device: str = "cpu") -> str:
        """Copy an uploaded checkpoint under ``upload_dir``, load it with the safe loaders and offer it.

        Returns its spec (the copy's path). Refuses (CheckpointError, copy deleted) a file with another
        extension, a huge file, or anything the loaders refuse: a pickle that would run code, a corrupt file.
        """
        src = Path(tmp_path)
        name = safe_name(Path(original_name or src.name).name, default="model")
        if Path(name).suffix.lower() not in MODEL_EXTENSIONS:
            raise CheckpointError(f"refused: {name} is not a checkpoint; upload a {', '.join(MODEL_EXTENSIONS)} "
                                  f"file", field="upload")
        if not src.is_file():
            raise CheckpointError("refused: the upload did not arrive; try again", field="upload")
        if src.stat().st_size > MAX_UPLOAD_BYTES:
            raise CheckpointError(f"refused: {name} is larger than {MAX_UPLOAD_BYTES // 1024 ** 3} GB",
                                  field="upload")
        folder = self.upload_dir / file_sha256(src)[:16]
        dest = folder / name
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        spec = str(dest)
        try:
            get_model(spec, resolve_device(device))
        except Exception as exc:  # refuse anything the safe loaders will not take, whatever the error type
            shutil.rmtree(folder, ignore_errors=True)
            reason = exc.message if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            raise CheckpointError(f"refused {name}: {reason}", field="upload") from None
        with self._lock:
            self._uploads[spec] = f"{name}  (uploaded)"
        return spec
