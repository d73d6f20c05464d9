"""Uniform, streaming access to the files of a dataset held as a zip archive or a folder.

Both kinds are opened through `epath`, so local paths and `gs://` (any `tf.io.gfile`
filesystem) work alike. A zip is never extracted and never read whole: each member is
decompressed on its own when a worker asks for it.

Member names are what people mean, not what the archiver wrote: zip names stored in
CP949 or UTF-8 without the UTF-8 flag (which `zipfile` shows as cp437 mojibake) are
decoded properly, and every name is NFC-normalized (macOS writes NFD), so they match
CSV ids and class names. `read` takes the normalized name.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import threading
import unicodedata
import zipfile
import zlib
from typing import Protocol

from etils import epath

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")


class DamagedArchiveError(RuntimeError):
    """The archive cannot be read to the end: it was cut short or corrupted."""


@dataclasses.dataclass(frozen=True)
class MemberRef:
    """A picklable address of one file (a zip member or a file below a folder).

    Beam ships these to workers, which open the archive themselves, so the same read path
    serves the in-process build and workers on other machines (archive on shared storage).
    """

    container: str  # the zip file or the folder, local or gs://...
    name: str  # the raw name: as zipfile lists it, or the relative path on disk
    in_zip: bool

    def read(self) -> bytes:
        if not self.in_zip:
            return (epath.Path(self.container) / self.name).read_bytes()
        try:
            return _open_zip(self.container).read(self.name)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as e:
            raise DamagedArchiveError(
                f"{self.container}: member {self.name!r} cannot be read ({e}). The archive is "
                "damaged: download it again."
            ) from e


_open_zips = threading.local()


def _open_zip(path: str) -> zipfile.ZipFile:
    """One open handle per thread and archive, so readers never wait on each other's seeks."""
    cache = _open_zips.__dict__.setdefault("by_path", {})
    if path not in cache:
        cache[path] = zipfile.ZipFile(epath.Path(path).open("rb"))
    return cache[path]


class Source(Protocol):
    """A read-only set of files addressed by normalized '/'-separated relative paths."""

    description: str

    def members(self) -> list[str]: ...

    def ref(self, member: str) -> MemberRef: ...

    def read(self, member: str) -> bytes: ...


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def is_os_metadata(name: str) -> bool:
    """macOS resource forks (`__MACOSX/`, `._x.jpg`) and Finder files: never data, even if named .jpg."""
    parts = name.split("/")
    return "__MACOSX" in parts or parts[-1].startswith("._") or parts[-1] == ".DS_Store"


def normalize_name(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def zip_member_name(info: zipfile.ZipInfo) -> str:
    """The real name of a zip member, whatever encoding the archiver used."""
    if info.flag_bits & 0x800:  # the UTF-8 flag: zipfile decoded it correctly
        return normalize_name(info.filename)
    raw = info.filename.encode("cp437")  # undo zipfile's cp437 decoding
    for encoding in ("utf-8", "cp949"):  # macOS without the flag; Korean Windows
        try:
            return normalize_name(raw.decode(encoding))
        except UnicodeDecodeError:
            pass
    return normalize_name(info.filename)


def decode_text(data: bytes, name: str) -> str:
    """Decodes a CSV/JSON file saved as UTF-8 (with or without BOM) or CP949 (Korean Excel)."""
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    raise ValueError(f"{name} is neither UTF-8 nor CP949 text. Re-save it as UTF-8 (e.g. from Excel: CSV UTF-8).")


class ZipSource:
    """Members of a zip file, read one at a time, from any thread or process."""

    def __init__(self, path: epath.PathLike):
        self.path = epath.Path(path)
        self.description = f"zip archive {self.path}"
        try:
            with zipfile.ZipFile(self.path.open("rb")) as archive:
                infos = [info for info in archive.infolist() if not info.is_dir()]
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise DamagedArchiveError(
                f"{self.path} is not a readable zip archive ({e}). It is probably cut short "
                "or damaged: download it again."
            ) from e
        self._raw_names = {zip_member_name(info): info.filename for info in infos}

    def members(self) -> list[str]:
        return sorted(self._raw_names)

    def ref(self, member: str) -> MemberRef:
        return MemberRef(os.fspath(self.path), self._raw_names[member], in_zip=True)

    def read(self, member: str) -> bytes:
        return self.ref(member).read()


class FolderSource:
    """Files below a folder (an extracted archive)."""

    def __init__(self, root: epath.PathLike, prefix: str = ""):
        self.root = epath.Path(root)
        self.prefix = prefix  # e.g. "PetImages/": members then read like the zip's
        self.description = f"folder {self.root}"

    def members(self) -> list[str]:
        return sorted(self._paths)

    @functools.cached_property
    def _paths(self) -> dict[str, str]:
        """Normalized member name -> path on disk, relative to the root."""
        paths = {}
        for folder, _, files in self.root.walk():
            relative = epath.Path(folder).relative_to(self.root).as_posix()
            on_disk = "" if relative == "." else relative + "/"
            for name in files:
                paths[normalize_name(self.prefix + on_disk + name)] = on_disk + name
        return paths

    def ref(self, member: str) -> MemberRef:
        return MemberRef(os.fspath(self.root), self._paths[member], in_zip=False)

    def read(self, member: str) -> bytes:
        return self.ref(member).read()


def sha256_of(path: epath.PathLike, chunk_size: int = 1 << 22) -> str:
    """Streams a file through SHA-256 without holding it in memory."""
    digest = hashlib.sha256()
    with epath.Path(path).open("rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
