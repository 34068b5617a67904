"""Zip-archive datasets: the images inside a .zip (class folders inside the archive give labels).

The archive is opened lazily and once per process, so DataLoader workers each get their own handle.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

from ganlib.data.base import DEFAULT_CACHE_LIMIT_MB
from ganlib.data.folder import EncodedImageDataset, is_image_name
from ganlib import limits
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
            infos = self._file().infolist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise DataError(f"not a readable zip archive ({exc})", file=path) from exc
        names = sorted(i.filename for i in infos if not i.filename.endswith("/") and is_image_name(i.filename)
                       and not i.filename.startswith("__MACOSX/"))
        check_declared_sizes(infos, path)
        if not names:
            raise DataError("the archive holds no images", file=path)
        self._setup(names, resolution, channels, fit, cache, cache_limit_mb)
        if self.cache is not None:
            self.close()

    def _bytes(self, name: str) -> bytes:
        info = self._file().getinfo(name)
        limits.check("archive_member_bytes", info.file_size, f"the member {name!r}", error=DataError, file=self.path)
        with self._file().open(info) as member:  # read at most the declared size (+1 to notice a lie)
            data = member.read(info.file_size + 1)
        if len(data) > info.file_size:
            raise DataError(f"the member {name!r} expands beyond its declared size", file=self.path)
        return data

    def _file(self) -> zipfile.ZipFile:
        if self._zip is None or self._pid != os.getpid():
            self._zip = zipfile.ZipFile(self.path)
            self._pid = os.getpid()
        return self._zip

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


def check_declared_sizes(infos: list[zipfile.ZipInfo], path) -> None:
    """Refuse (DataError naming ``path``) an archive whose members declare more than ``archive_bytes`` in total,
    one member above ``archive_member_bytes``, or a member of over 1 MiB that expands more than ``archive_ratio``
    times (a zip bomb); read from the central directory, nothing is decompressed. Returns None."""
    total = sum(i.file_size for i in infos)
    limits.check("archive_bytes", total, "the archive (uncompressed)", error=DataError, file=path)
    ratio = limits.get("archive_ratio")
    for info in infos:
        limits.check("archive_member_bytes", info.file_size, f"the member {info.filename[:80]!r}", error=DataError,
                     file=path)
        if info.file_size > (1 << 20) and info.file_size > ratio * max(info.compress_size, 1):
            raise DataError(f"the member {info.filename[:80]!r} expands {info.file_size / max(info.compress_size, 1):.0f}"
                            f" times ({info.file_size:,} bytes from {info.compress_size:,}), above the limit of "
                            f"{ratio}x: a zip bomb? (raise it with --limit archive_ratio=N if this is real)", file=path)
