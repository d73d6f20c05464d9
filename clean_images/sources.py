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
import io
import os
import posixpath
import struct
import threading
import unicodedata
import zipfile
import zlib
from typing import Any, Protocol

from etils import epath

from clean_images.errors import DamagedArchiveError, MetadataError, OversizedMemberError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")


MAX_MEMBER_BYTES = 256 * 2**20  # no photo here comes near; a zip entry claiming more is refused unread


@dataclasses.dataclass(frozen=True)
class MemberRef:
    """A picklable address of one file (a zip member or a file below a folder).

    Beam ships these to workers, which open the archive themselves, so the same read path
    serves the in-process build and workers on other machines (archive on shared storage).
    """

    container: str  # the zip file or the folder, local or gs://...
    name: str  # the raw name: as zipfile lists it, or the relative path on disk
    in_zip: bool
    offset: int = -1  # the member's header offset: exact even if two members share a name

    def read(self) -> bytes:
        if not self.in_zip:
            return (epath.Path(self.container) / self.name).read_bytes()
        archive = _open_zip(self.container)
        try:
            return archive.read(archive.by_offset[self.offset])
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as e:
            raise DamagedArchiveError(
                f"{self.container}: member {self.name!r} cannot be read ({e}). The archive is "
                "damaged: download it again."
            ) from e


class _OpenZip:
    """A parsed zip and a handle to read members from, shared by all threads of a process.

    Reading a member is one positioned read of its compressed bytes (pread: threads read
    in parallel), then inflation and CRC check (zlib releases the GIL): several times
    cheaper than zipfile's chunked reader, and the same checks.
    """

    def __init__(self, path: str):
        self.archive = zipfile.ZipFile(epath.Path(path).open("rb"))
        self.by_offset = {info.header_offset: info for info in self.archive.infolist()}
        self._handle = epath.Path(path).open("rb")
        self._lock = threading.Lock()
        self._fd = _local_fd(self._handle)

    def _read_at(self, offset: int, size: int) -> bytes:
        """Local files: pread, no lock (threads read in parallel); remote ones: locked seek+read."""
        if self._fd is not None:
            chunks, done = [], 0
            while done < size:  # pread may return less than asked (network and FUSE file systems)
                chunk = os.pread(self._fd, size - done, offset + done)
                if not chunk:
                    break
                chunks.append(chunk)
                done += len(chunk)
            return b"".join(chunks)
        with self._lock:
            self._handle.seek(offset)
            return self._handle.read(size)

    def read(self, info: zipfile.ZipInfo) -> bytes:
        if max(info.file_size, info.compress_size) > MAX_MEMBER_BYTES:
            raise OversizedMemberError(f"{max(info.file_size, info.compress_size)} bytes declared; not read")
        if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return self.archive.read(info)  # encrypted, bzip2, lzma: zipfile's own path
        header = self._read_at(info.header_offset, 30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local file header")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        compressed = self._read_at(info.header_offset + 30 + name_length + extra_length, info.compress_size)
        if len(compressed) != info.compress_size:
            raise zipfile.BadZipFile("member cut short")
        if info.compress_type == zipfile.ZIP_STORED:
            data = compressed
        else:
            inflater = zlib.decompressobj(-15)
            data = inflater.decompress(compressed, info.file_size + 1)  # never past the declared size
        if len(data) > info.file_size:
            raise OversizedMemberError(f"inflates past its declared {info.file_size} bytes; stopped there")
        if len(data) != info.file_size:
            raise zipfile.BadZipFile(f"member inflates to {len(data)} bytes, not the declared {info.file_size}")
        if zlib.crc32(data) != info.CRC:
            raise zipfile.BadZipFile("Bad CRC-32")
        return data


def _local_fd(handle: Any) -> int | None:
    try:
        return handle.fileno() if hasattr(os, "pread") else None
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


_zips: dict[str, _OpenZip] = {}
_zips_lock = threading.Lock()


def _open_zip(path: str, fresh: bool = False) -> _OpenZip:
    """One parsed archive per process (a 126k-entry central directory costs ~85 MB and ~0.7 s)."""
    with _zips_lock:
        if fresh or path not in _zips:
            _zips[path] = _OpenZip(path)
        return _zips[path]


class Source(Protocol):
    """A read-only set of files addressed by normalized '/'-separated relative paths."""

    @property
    def refused(self) -> list[tuple[str, str]]:
        """(name, why): unsafe paths and name twins, reported, never read."""

    def members(self) -> list[str]: ...

    def ref(self, member: str) -> MemberRef: ...

    def read(self, member: str) -> bytes: ...


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def is_os_metadata(name: str) -> bool:
    """macOS resource forks (`__MACOSX/`, `._x.jpg`) and Finder files: never data, even if named .jpg."""
    parts = name.split("/")
    return "__MACOSX" in parts or parts[-1].startswith("._") or parts[-1] == ".DS_Store"


def not_an_image_reason(name: str) -> str | None:
    """Why the file `name` is not an image of a dataset (as the build report says it), or None."""
    if is_os_metadata(name):
        return "macOS/Finder metadata (__MACOSX, ._*, .DS_Store)"
    if not is_image_name(name):
        return f"not an image file name ({posixpath.splitext(name)[1] or 'no suffix'})"
    return None


def normalize_name(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def zip_member_name(info: zipfile.ZipInfo) -> str:
    """The real name of a zip member, whatever encoding the archiver used, with '/' separators."""
    return _decoded_zip_name(info).replace("\\", "/")  # some Windows archivers write backslashes


def _decoded_zip_name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & 0x800 or info.filename != info.orig_filename:
        # The UTF-8 flag, or (Python 3.12+) a Unicode-path extra field zipfile applied.
        return normalize_name(info.filename)
    raw = info.orig_filename.encode("cp437")  # undo zipfile's cp437 decoding
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
    raise MetadataError(f"{name} is neither UTF-8 nor CP949 text. Re-save it as UTF-8 (e.g. from Excel: CSV UTF-8).")


class ZipSource:
    """Members of a zip file, read one at a time, from any thread or process."""

    def __init__(self, path: epath.PathLike):
        self.path = epath.Path(path)
        try:
            archive = _open_zip(os.fspath(self.path), fresh=True).archive  # the file may have changed
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise DamagedArchiveError(
                f"{self.path} is not a readable zip archive ({e}). It is probably cut short "
                "or damaged: download it again."
            ) from e
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self.refused: list[tuple[str, str]] = []  # (name, why): never read, always reported
        for info in archive.infolist():
            if not info.is_dir():
                _add_member(self._infos, self.refused, zip_member_name(info), info)

    def members(self) -> list[str]:
        return sorted(self._infos)

    def ref(self, member: str) -> MemberRef:
        info = self._infos[member]
        return MemberRef(os.fspath(self.path), info.filename, in_zip=True, offset=info.header_offset)

    def read(self, member: str) -> bytes:
        return self.ref(member).read()


class FolderSource:
    """Files below a folder (an extracted archive), listed once, on first use."""

    def __init__(self, root: epath.PathLike, prefix: str = ""):
        self.root = epath.Path(root)
        self.prefix = prefix  # e.g. "PetImages/": members then read like the zip's

    def members(self) -> list[str]:
        return sorted(self._listing[0])

    @property
    def refused(self) -> list[tuple[str, str]]:
        return self._listing[1]

    @functools.cached_property
    def _listing(self) -> tuple[dict[str, str], list[tuple[str, str]]]:
        """(normalized member name -> path on disk relative to the root, refused names)."""
        paths: dict[str, str] = {}
        refused: list[tuple[str, str]] = []
        for folder, _, files in self.root.walk():
            relative = epath.Path(folder).relative_to(self.root).as_posix()
            on_disk = "" if relative == "." else relative + "/"
            for name in sorted(files):
                member = normalize_name(self.prefix + on_disk + name)
                if os.path.islink(os.fspath(epath.Path(folder) / name)):  # only local paths have links
                    refused.append((member, "symbolic link: not followed"))
                else:
                    _add_member(paths, refused, member, on_disk + name)
        return paths, refused

    def ref(self, member: str) -> MemberRef:
        return MemberRef(os.fspath(self.root), self._listing[0][member], in_zip=False)

    def read(self, member: str) -> bytes:
        return self.ref(member).read()


def _add_member(found: dict, refused: list[tuple[str, str]], name: str, value) -> None:
    """Keeps the first file of a safe name; unsafe paths and later twins are refused, with why."""
    if name.startswith("/") or ".." in name.split("/"):
        refused.append((name, "unsafe path in the archive (absolute or with ..): not read"))
    elif name in found:
        refused.append((name, "duplicate name in the source (after Unicode normalization): only the first is read"))
    else:
        found[name] = value
