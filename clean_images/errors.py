"""Every error a build (or a read of what it built) can stop with. Each message names the file and says what to do."""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Iterator
from typing import Any

import tensorflow_datasets as tfds
from absl import logging
from tensorflow_datasets.core import registered

# This package's datasets, for messages and hints, without importing TensorFlow (as parsing.DATASETS,
# which must stand alone with TensorFlow; a test keeps the two equal).
DATASETS = ("pet_images", "landmark_images")


class CleanImagesError(Exception):
    """Base class: a build stopped on purpose, before publishing anything (or a read of one not built)."""


class ManualDirError(CleanImagesError, ValueError):
    """manual_dir is missing, empty, or holds nothing this dataset can be built from."""


class NothingFoundError(ManualDirError):
    """A folder or file holds none of the dataset's files; `found` lists what it does hold."""

    def __init__(self, where: str, found: list[str], unfit_zips: dict[str, list[str]] | None = None):
        """`unfit_zips`: the members of each zip found that does not hold the data, to show what it holds."""
        self.where = where
        self.found = found
        inside = "".join(f" {name} holds {listing(members, 5)}." for name, members in (unfit_zips or {}).items())
        super().__init__(f"{where} holds none of the expected data. Found: {listing(found)}.{inside}{_other_archives(found)}")


_OTHER_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".7z", ".rar", ".gz")


def _other_archives(found: list[str]) -> str:
    """Archives that are not zips are found but never opened: say so, and what to do instead."""
    others = [name for name in found if name.lower().endswith(_OTHER_ARCHIVES)]
    if not others:
        return ""
    return (f" Only zip archives are read: {listing(others)} must be extracted into manual_dir first "
            "(e.g. `tar -xf NAME -C MANUAL_DIR`), or give the original zip.")


class ArchiveChecksumError(CleanImagesError, ValueError):
    """A file has the size of a registered archive but not its SHA-256."""


class DownloadFailedError(CleanImagesError, RuntimeError):
    """The download failed; the message says how to use --manual_dir instead."""


class DamagedArchiveError(CleanImagesError, RuntimeError):
    """An archive cannot be read to the end: it was cut short or corrupted."""


class OversizedMemberError(CleanImagesError, ValueError):
    """A zip member declares or inflates to more than any photo here could be (a zip bomb)."""


class MetadataError(CleanImagesError, ValueError):
    """A metadata file (e.g. a CSV) is missing, unreadable or inconsistent."""


class MismatchError(CleanImagesError, ValueError):
    """Image files and metadata rows disagree; nothing was written."""


class WeightsError(CleanImagesError, ValueError):
    """A features config's model weights are missing, unloadable, or not those the data was built with."""


class ReportCommandError(CleanImagesError):
    """`python -m clean_images.report` cannot print a report (not built, unknown name): says how to fix it."""


class NotBuiltError(CleanImagesError, FileNotFoundError):
    """A dataset read by name before it was built: says the `tfds build` command that builds it."""


def data_dir_flag(data_dir: str | None) -> str:
    """` --data_dir DIR`, quoted for a shell, when one was given: for the commands errors and hints print."""
    return f" --data_dir {shlex.quote(data_dir)}" if data_dir is not None else ""


def build_command(dataset: str, config: str, data_dir: str | None, manual: bool = False) -> str:
    """The `tfds build` command for one config (its package imported), as every "not built" error gives it;
    `manual`: the config needs a manual download, so the command needs --manual_dir."""
    manual_dir = " --manual_dir DIR (DIR: the folder holding your download)" if manual else ""
    return f"tfds build {dataset} --config {config} --imports {dataset}{data_dir_flag(data_dir)}{manual_dir}"


def not_built_message(name: str, builder: Any, data_dir: str | None, version_error: str = "") -> str:
    """What every reader of a dataset by name says when its TFDS `builder` (one of ours) is not
    prepared (`name` and `data_dir` as the user gave them). `version_error`: TFDS's refusal of a
    version `name` asks for that is neither the current one nor built there; `builder` is then the current one."""
    config = builder.builder_config.name if builder.builder_config else ""
    manual = builder.DOWNLOAD_URL is None and not getattr(builder.builder_config, "sample", False)
    command = build_command(builder.name, config, data_dir, manual)
    elsewhere = " (or, if it was built into another --data_dir, pass that data_dir)" if data_dir is None else ""
    if version_error:
        return (f"{name} is not built ({version_error}): an older version is read only where it was built; "
                f"the current one, {builder.version}, is built by: {command}{elsewhere}")
    return f"{name} is not built: no dataset_info.json in {builder.data_dir}. Build it first: {command}{elsewhere}"


class NotImportedError(CleanImagesError, registered.DatasetNotFoundError):
    """One of our datasets read by name before its package was imported (TFDS lists its hundreds of others).
    A DatasetNotFoundError (a ValueError), so code that catches TFDS's error catches it too."""


def built_builder(name: str, data_dir: str | None) -> tfds.core.DatasetBuilder:
    """`tfds.builder(name)` of one of our datasets, built in `data_dir`; a NotBuiltError with the build command
    when it is not, or when `name` asks for a version (`:1.1.0`) neither current nor built there (TFDS raises a
    bare AssertionError for it); a NotImportedError when its package is not imported. TFDS's errors for
    another unknown dataset or config pass through."""
    with absl_errors_only():  # TFDS warns of the missing folder that the error below names
        try:
            builder = tfds.builder(name, data_dir=data_dir)
        except registered.DatasetNotFoundError:
            dataset = name.partition("/")[0].partition(":")[0]
            if dataset in DATASETS:
                raise NotImportedError(
                    f"TFDS does not know {dataset} in this process: `import {dataset}` first (importing the "
                    f"dataset's package registers its builder), then read {name!r}.") from None
            raise
        except AssertionError as error:
            current = tfds.builder(name.partition(":")[0], data_dir=data_dir)
            raise NotBuiltError(not_built_message(name, current, data_dir, str(error))) from None
        prepared = builder.is_prepared()
    if not prepared:  # else TFDS's bare AssertionError, deep in as_dataset
        raise NotBuiltError(not_built_message(name, builder, data_dir))
    return builder


@contextlib.contextmanager
def absl_errors_only() -> Iterator[None]:
    """TFDS's own warnings off, e.g. that a dataset folder has no dataset_info.json, where a
    "not built" error follows that says so with the command that builds it."""
    verbosity = logging.get_verbosity()
    logging.set_verbosity(logging.ERROR)
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)


class AccountingError(CleanImagesError, AssertionError):
    """The build report does not add up: a bug, so nothing is published."""


def listing(names: list[str], limit: int = 20) -> str:
    """`a, b, c and 4 more`: the first `limit` names of what was found, for error messages."""
    if not names:
        return "nothing"
    more = f" and {len(names) - limit:,} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
