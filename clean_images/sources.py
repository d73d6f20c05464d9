"""Uniform, streaming access to the files of a dataset held as a zip archive or a folder.

Both kinds are opened through `epath`, so local paths and `gs://` (any `tf.io.gfile`
filesystem) work alike. A zip is never extracted and never read whole: each member is
decompressed on its own when a worker asks for it.
"""

from __future__ import annotations

import hashlib
import threading
import zipfile
import zlib
from typing import Protocol

from etils import epath

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")


class DamagedArchiveError(RuntimeError):
    """The archive cannot be read to the end: it was cut short or corrupted."""


class Source(Protocol):
    """A read-only set of files addressed by '/'-separated relative paths."""

    description: str

    def members(self) -> list[str]: ...

    def read(self, member: str) -> bytes: ...


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


class ZipSource:
    """Members of a zip file, read one at a time, from any thread."""

    def __init__(self, path: epath.PathLike):
        self.path = epath.Path(path)
        self.description = f"zip archive {self.path}"
        self._local = threading.local()
        try:
            with self._open() as archive:
                self._infos = {
                    info.filename: info for info in archive.infolist() if not info.is_dir()
                }
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise DamagedArchiveError(
                f"{self.path} is not a readable zip archive ({e}). It is probably cut short "
                "or damaged: download it again."
            ) from e

    def _open(self) -> zipfile.ZipFile:
        return zipfile.ZipFile(self.path.open("rb"))

    def _archive(self) -> zipfile.ZipFile:
        """One open handle per thread, so workers never wait on each other's seeks."""
        archive = getattr(self._local, "archive", None)
        if archive is None:
            archive = self._local.archive = self._open()
        return archive

    def members(self) -> list[str]:
        return sorted(self._infos)

    def read(self, member: str) -> bytes:
        try:
            return self._archive().read(self._infos[member])
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
            raise DamagedArchiveError(
                f"{self.path}: member {member!r} cannot be read ({e}). The archive is "
                "damaged: download it again."
            ) from e


class FolderSource:
    """Files below a folder (an extracted archive)."""

    def __init__(self, root: epath.PathLike, prefix: str = ""):
        self.root = epath.Path(root)
        self.prefix = prefix  # e.g. "PetImages/": members then read like the zip's
        self.description = f"folder {self.root}"

    def members(self) -> list[str]:
        found = []
        for folder, _, files in self.root.walk():
            relative = epath.Path(folder).relative_to(self.root).as_posix()
            prefix = self.prefix if relative == "." else f"{self.prefix}{relative}/"
            found.extend(prefix + name for name in files)
        return sorted(found)

    def read(self, member: str) -> bytes:
        return (self.root / member.removeprefix(self.prefix)).read_bytes()


def sha256_of(path: epath.PathLike, chunk_size: int = 1 << 22) -> str:
    """Streams a file through SHA-256 without holding it in memory."""
    digest = hashlib.sha256()
    with epath.Path(path).open("rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
