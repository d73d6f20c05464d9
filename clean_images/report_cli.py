"""`python -m clean_images.report NAME_OR_DIR [--outcome OUTCOME] [--data_dir DIR]`: the build report
stored with a built dataset, printed long after the build.

NAME_OR_DIR is a TFDS name (`pet_images/sample`: the package named by its first part is
imported, which registers the dataset) or a dataset directory (`~/tensorflow_datasets/pet_images/
sample/1.0.0`, read with `tfds.builder_from_directory`, no package needed). Without `--outcome`
it prints the table `tfds build` ends with and the duplicates summary; with it, every file of
that outcome, one tab-separated line each (split, path, reason, detail). Reading the report
needs no TensorFlow; `--outcome stored` reads the examples' file names, as the report only counts them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shlex
import sys
from typing import Any

import tensorflow_datasets as tfds
from etils import epath

from clean_images import report as report_lib
from clean_images.duplicates import Duplicates
from clean_images.errors import (
    DATASETS,
    NotBuiltError,
    ReportCommandError,
    absl_errors_only,
    build_command,
    built_builder,
    data_dir_flag,
)
from clean_images.sanitize import STORED

_VERSION_DIR = re.compile(r"^\d+\.\d+\.\d+$")
_KNOWN = (
    f"Known here: {', '.join(DATASETS)} (e.g. pet_images/sample). For a dataset directory, give its path "
    "(absolute, or starting with ./ or ~), e.g. ~/tensorflow_datasets/pet_images/sample/1.0.0."
)
TABLE_FILES = 10  # files the table shows (as at the end of a build); --outcome lists them all


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        builder = open_builder(args.name_or_dir, args.data_dir)
        text = render(builder, _dataset_arguments(args), args.outcome)
        if text:  # no files with that outcome: no line at all, so `| wc -l` counts 0
            print(text)
    except ReportCommandError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m clean_images.report",
        description="Prints the build report stored with a built dataset (info.metadata['build_report']).",
    )
    parser.add_argument("name_or_dir", metavar="NAME_OR_DIR", help="e.g. pet_images/sample, or a dataset directory")
    parser.add_argument(
        "--outcome", choices=(STORED, *report_lib.LISTED),
        help="list every file with this outcome, one a line: split, path, reason, detail (tab-separated)",
    )
    parser.add_argument("--data_dir", metavar="DIR", help="where to look for a dataset given by name (default: TFDS's)")
    return parser


def open_builder(name_or_dir: str, data_dir: str | None) -> tfds.core.DatasetBuilder:
    """The built dataset, by directory or by name; a ReportCommandError when it is not built."""
    if _is_directory(name_or_dir):
        if data_dir is not None:
            raise ReportCommandError("--data_dir is for a dataset name; a dataset directory already says where it is.")
        return _from_directory(epath.Path(os.path.expanduser(name_or_dir)))
    return _from_name(name_or_dir, data_dir)


def _is_directory(name_or_dir: str) -> bool:
    """A path by its look (`/`, `~`, `.`, `gs://`) or a built dataset directory; anything else is a TFDS name
    (`pet_images/sample` is also a folder of this repository: the name wins)."""
    if name_or_dir.startswith(("/", "~", ".")) or "://" in name_or_dir:
        return True
    return os.path.isfile(os.path.join(name_or_dir, "dataset_info.json"))


def _from_directory(path: epath.Path) -> tfds.core.DatasetBuilder:
    if not (path / "dataset_info.json").exists():
        raise ReportCommandError(f"Not a built dataset: no dataset_info.json in {path}. {_build_hint(path)}")
    return tfds.builder_from_directory(os.fspath(path))


def _build_hint(path: epath.Path) -> str:
    """The `tfds build` command for a `<data_dir>/<name>/<config>/<version>` path, else its general form."""
    if _VERSION_DIR.match(path.name) and path.parent.parent.name in DATASETS:
        name, config, root = path.parent.parent.name, path.parent.name, path.parent.parent.parent
        return f"Build it first: {build_command(name, config, os.fspath(root))}"
    return "Give the version folder of a built dataset (<data_dir>/<name>/<config>/<version>), or build it first."


def _from_name(name: str, data_dir: str | None) -> tfds.core.DatasetBuilder:
    dataset = _import_dataset_package(name)
    try:
        return built_builder(name, data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ReportCommandError(
            f"Unknown dataset {dataset!r}: importing the package {dataset!r} registered no TFDS dataset of that "
            f"name. {_KNOWN}"
        ) from None
    except ValueError as e:  # an unknown config: TFDS's message lists the known ones
        raise ReportCommandError(f"{name!r} is not a dataset TFDS knows here: {e}") from None
    except NotBuiltError as e:
        raise ReportCommandError(str(e)) from None


def _import_dataset_package(name: str) -> str:
    """Imports the package named by the first part of `name` (which registers the dataset); returns that name."""
    dataset = re.split(r"[/:]", name, maxsplit=1)[0]
    try:
        importlib.import_module(dataset)
    except ModuleNotFoundError as e:
        if e.name != dataset.split(".")[0]:
            raise  # the package exists but lacks a dependency: its own error says which
        raise ReportCommandError(f"Unknown dataset {dataset!r}: no Python package {dataset!r} to import. {_KNOWN}") from None
    return dataset


def _dataset_arguments(args: argparse.Namespace) -> str:
    """How this command named the dataset (NAME_OR_DIR and any --data_dir), for the hint to run it again."""
    return shlex.quote(args.name_or_dir) + data_dir_flag(args.data_dir)


def render(builder: tfds.core.DatasetBuilder, dataset_arguments: str, outcome: str | None) -> str:
    """The table and the duplicates line; or, for one outcome, every file with it. `dataset_arguments`
    name the dataset as the command was given it, so that its hint can be run as printed."""
    report = _stored_report(builder)
    if outcome == STORED:
        return report_lib.format_rows(stored_files(builder))
    if outcome is not None:
        return report_lib.format_rows(report_lib.files_with_outcome(report, outcome))
    lines = [report_lib.format_table(report, max_files=TABLE_FILES)]
    if sum(len(r["files"]) for r in report.values()) > TABLE_FILES:
        lines.append(f"  all of them: python -m clean_images.report {dataset_arguments} --outcome skipped "
                     "(or repaired, ignored)")
    if "duplicates" in builder.info.metadata:
        lines.append(Duplicates().summary_line(builder.info.metadata["duplicates"]))
    return "\n".join(lines)


def _stored_report(builder: tfds.core.DatasetBuilder) -> dict[str, Any]:
    metadata = builder.info.metadata or {}
    if report_lib.METADATA_KEY not in metadata:
        raise ReportCommandError(
            f"{builder.data_dir} has no build report in its metadata.json: it was not built by these builders "
            "(pet_images, landmark_images). Rebuild it with `tfds build ... --overwrite`."
        )
    return metadata[report_lib.METADATA_KEY]


def stored_files(builder: tfds.core.DatasetBuilder) -> list[tuple[str, dict[str, str]]]:
    """(split, file) of every example whose bytes are its source file's own (`image/repair` empty), by path:
    the report counts these but does not list them. TFRecord shards are read through tf.data (imports TensorFlow)."""
    rows = []
    for split in builder.info.splits:
        names = [name for name, repair in _filenames_and_repairs(builder, split) if not repair]
        rows += [(split, {"path": name, "outcome": STORED, "reason": "", "detail": ""}) for name in sorted(names)]
    return rows


def _filenames_and_repairs(builder: tfds.core.DatasetBuilder, split: str) -> list[tuple[str, bytes]]:
    if builder.info.file_format == tfds.core.FileFormat.ARRAY_RECORD:  # no tf.data reader for ArrayRecord
        skip = {"image": tfds.decode.SkipDecoding()} if "image" in builder.info.features else None
        examples: Any = builder.as_data_source(split=split, decoders=skip)
    else:
        wanted = tfds.decode.PartialDecoding({"image/filename": True, "image/repair": True})
        with absl_errors_only():  # TFDS's PartialDecoding itself warns that FeatureConnector.dtype is deprecated
            examples = tfds.as_numpy(builder.as_dataset(split=split, decoders=wanted, shuffle_files=False))
    return [(e["image/filename"].decode(), e["image/repair"]) for e in examples]
