"""Where a build's files come from when they are not the embedded sample: the manual_dir
(a folder, or the archive itself), else the download. One module for both datasets.

A manual_dir is read as found: zips are recognised by content (browsers save
`download (1)`), a zip with the size of a registered archive must have its SHA-256 too,
and extracted folders are walked, never copied.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import urllib.parse
from collections.abc import Callable, Mapping

import tensorflow_datasets as tfds
from absl import logging
from etils import epath
from tensorflow_datasets.core.download import checksums as tfds_checksums

from clean_images import sources
from clean_images.errors import ArchiveChecksumError, DownloadFailedError, ManualDirError, NothingFoundError


def resolve(given: str | os.PathLike | None, default: epath.Path | None, expected: str, steps: str) -> epath.Path | None:
    """The manual_dir to read: the given one (a folder, or the downloaded archive itself), else
    the default one if it holds anything; None when none was given and the default is empty.

    A manual_dir given on purpose (--manual_dir) that is missing or empty is an error.
    """
    path = epath.Path(given) if given is not None else default
    if path is not None and (path.is_file() or (path.is_dir() and any(path.iterdir()))):
        return path
    if given is None:
        return None
    state = "is empty" if epath.Path(given).is_dir() else "does not exist"
    raise ManualDirError(f"manual_dir {given} {state}. Expected {expected}.\n{steps}")


def is_zip(path: epath.Path) -> bool:
    """By content, not by name: browsers save the same archive as `download (1)` too."""
    with path.open("rb") as f:
        return f.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def open_zip(path: epath.Path, registered: Mapping[str, tfds_checksums.UrlInfo]) -> sources.ZipSource:
    """Opens a zip; one with the size of a registered archive must also have its SHA-256."""
    size = path.stat().length
    for url, info in registered.items():
        if int(info.size) == size:
            actual = tfds_checksums.compute_url_info(path).checksum
            if actual != info.checksum:
                raise ArchiveChecksumError(
                    f"{path} has the size of {url} but its SHA-256 is {actual}, not {info.checksum}: "
                    "the file is damaged or altered. Download it again (or remove it from manual_dir)."
                )
    return sources.ZipSource(path)  # a damaged zip is an error: it is most likely a cut download


def is_registered(source: sources.ZipSource, registered: Mapping[str, tfds_checksums.UrlInfo]) -> bool:
    size = source.path.stat().length
    return any(int(info.size) == size for info in registered.values())


@dataclasses.dataclass
class Contents:
    """What a manual_dir holds: its loose files (a folder source) and every zip in it."""

    root: epath.Path
    folder: sources.FolderSource | None  # None when manual_dir is the archive itself
    zips: list[sources.ZipSource]

    def loose_members(self) -> list[str]:
        """Files of the folder that are not zips."""
        zip_paths = {os.fspath(z.path) for z in self.zips}
        return [m for m in self.folder.members() if os.fspath(self.root / m) not in zip_paths] if self.folder else []

    def listing(self) -> list[str]:
        """What is there, for error messages: top-level names, folders with a '/'."""
        if self.folder is None:
            return [self.root.name]
        return [p.name + ("/" if p.is_dir() else "") for p in sorted(self.root.iterdir())]


def contents(manual_dir: epath.Path, registered: Mapping[str, tfds_checksums.UrlInfo]) -> Contents:
    """Walks manual_dir once: zips are top-level files that are zips by content, and `.zip` files below."""
    if manual_dir.is_file():
        return Contents(manual_dir, None, [open_zip(manual_dir, registered)] if is_zip(manual_dir) else [])
    folder = sources.FolderSource(manual_dir)
    zips = [
        open_zip(manual_dir / m, registered)
        for m in folder.members()
        if m.lower().endswith(".zip") or ("/" not in m and is_zip(manual_dir / m))
    ]
    return Contents(manual_dir, folder, zips)


def named_folders(manual_dir: epath.Path, names: tuple[str, ...]) -> list[sources.FolderSource]:
    """Folders with one of `names` (e.g. `PetImages`) at manual_dir or one level below, each read
    with its own name as prefix, so members are named as in the zip (`PetImages/Cat/0.jpg`)."""
    if manual_dir.is_file():
        return []
    candidates = [manual_dir] if manual_dir.name in names else []
    for child in sorted(manual_dir.iterdir()):
        if child.is_dir():
            candidates += [child] if child.name in names else [child / n for n in names if (child / n).is_dir()]
    return [sources.FolderSource(c, prefix=c.name + "/") for c in candidates]


def single_archive(
    manual_dir: epath.Path,
    registered: Mapping[str, tfds_checksums.UrlInfo],
    folder_names: tuple[str, ...],
    holds_dataset: Callable[[list[str]], bool],
) -> sources.Source:
    """For a dataset that is one archive: a registered zip, else the extracted folder, else any zip.

    Raises NothingFoundError when none holds the dataset.
    """
    found = contents(manual_dir, registered)
    zips = [z for z in found.zips if holds_dataset(z.members())]
    registered_zips = [z for z in zips if is_registered(z, registered)]
    other_zips = [z for z in zips if z not in registered_zips]
    folders = [f for f in named_folders(manual_dir, folder_names) if holds_dataset(f.members())]
    if registered_zips:
        return registered_zips[0]
    if folders:
        logging.warning(
            "Building from the folder %s: an extracted folder cannot be checksum-validated%s.",
            folders[0].root,
            f"; ignoring the unregistered zip(s) beside it: {[str(z.path) for z in other_zips]}" if other_zips else "",
        )
        return folders[0]
    if other_zips:
        logging.warning("Building from %s: not a registered archive, so it is not checksum-validated.", other_zips[0].path)
        return other_zips[0]
    unfit = {os.fspath(z.path.relative_to(found.root)) if found.folder else z.path.name: z.members() for z in found.zips}
    raise NothingFoundError(f"manual_dir {manual_dir}", found.listing(), unfit)


def download(dl_manager: tfds.download.DownloadManager, url: str, steps: str) -> epath.Path:
    """Downloads `url` (checksum-validated by TFDS); any failure ends in the manual steps."""
    try:
        _check_host_resolves(url)
        return epath.Path(dl_manager.download(url))
    except Exception as e:  # pylint: disable=broad-except  # every failure has the same remedy
        raise DownloadFailedError(
            f"Downloading {url} failed: {e}\n\nThis URL has broken before (404s, empty replies). "
            f"Get the archive by hand and build from it with --manual_dir:\n{steps}"
        ) from e


def _check_host_resolves(url: str) -> None:
    """Fails at once when the host has no address (offline), instead of after TFDS's ~3.5
    minutes of retries. Skipped behind a proxy, which resolves names itself."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        socket.getaddrinfo(host, 443)
    except socket.gaierror as e:
        raise ConnectionError(f"cannot resolve {host} ({e}): no network here?") from e
