"""Zip-archive datasets: the images inside a .zip (class folders inside the archive give labels).

The archive is opened lazily and once per process, so DataLoader workers each get their own handle.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

from ganlib.data.base import DEFAULT_CACHE_LIMIT_MB
from ganlib.data.folder import EncodedImageDataset, is_image_name
from ganlib.errors import DataError


class ImageZipDataset(EncodedImageDataset):
    """All images inside the zip file ``path``; same arguments and behaviour as ``ImageFolderDataset``.

    Raises DataError for a missing file, a file that is not a zip archive, or an archive without images.
    """

    def __init__(self, path: str | Path, resolution: int, channels: int = 3, fit: str = "crop",
                 cache: bool | str = "auto", cache_limit_mb: float = DEFAULT_CACHE_LIMIT_MB):
        self.path = Path(path)
        self.source = str(path)
        self._zip: zipfile.ZipFile | None = None
        self._pid = None
        if not self.path.is_file():
            raise DataError("file not found", file=path)
        try:
            members = self._file().namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise DataError(f"not a readable zip archive ({exc})", file=path) from exc
        names = sorted(n for n in members if not n.endswith("/") and is_image_name(n)
                       and not n.startswith("__MACOSX/"))
        if not names:
            raise DataError("the archive holds no images", file=path)
        self._setup(names, resolution, channels, fit, cache, cache_limit_mb)
        if self.cache is not None:
            self.close()

    def _file(self) -> zipfile.ZipFile:
        if self._zip is None or self._pid != os.getpid():
            self._zip = zipfile.ZipFile(self.path)
            self._pid = os.getpid()
        return self._zip

    def _bytes(self, name: str) -> bytes:
        return self._file().read(name)

    def close(self) -> None:
        """Close the archive handle of this process (it reopens on the next read)."""
        if self._zip is not None and self._pid == os.getpid():
            self._zip.close()
        self._zip = None

    def __getstate__(self) -> dict:
        """Pickle without the open archive handle (workers reopen it)."""
        state = self.__dict__.copy()
        state["_zip"] = None
        state["_pid"] = None
        return state
