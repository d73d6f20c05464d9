"""landmark_images: Dacon Korean landmark classification (2020), however the archive arrived."""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import json
import posixpath
import shlex
from typing import Iterable, Iterator

import tensorflow_datasets as tfds
from absl import logging
from etils import epath

from clean_images import builder as builder_lib
from clean_images import report as report_lib
from clean_images import sources
from clean_images.entries import Entry
from clean_images.sanitize import SKIPPED

SAMPLE_ARCHIVE = "sample/dacon_landmark_sample.zip"
TABLES = ("train.csv", "category.csv", "sample_submission.csv")
_MAX_LISTED = 10

_EXPECTED = (
    "the Dacon landmark data in one of these shapes: the single zip Dacon serves; train.zip and "
    "test.zip beside train.csv, category.csv and sample_submission.csv; or the extracted tree "
    "(train/<region>/<landmark>/<id>.JPG, test/<c>/<id>.JPG or test/<id>.JPG, and the CSVs)"
)
_MANUAL_STEPS = """\
  1. Log in at https://dacon.io and open the competition "랜드마크 분류 AI 경진대회"
     (https://dacon.io/competitions/official/235585/data), accept its rules.
  2. Download the data (one zip, or train.zip, test.zip and the CSV files).
  3. Put what you downloaded, as is or extracted, in a folder, e.g. ~/dacon_landmark:
       ~/dacon_landmark/open.zip                                   (the single archive, any name), or
       ~/dacon_landmark/{train.zip,test.zip,train.csv,category.csv,sample_submission.csv}, or
       ~/dacon_landmark/{train/,test/,train.csv,category.csv,sample_submission.csv}
     Names may be UTF-8 (NFC or macOS NFD) or CP949; CSVs UTF-8, UTF-8 with BOM or CP949.
  4. Run: tfds build landmark_images --manual_dir ~/dacon_landmark --imports landmark_images
If files and CSV rows disagree, the build stops and lists them; to build without them:
  tfds build landmark_images/full/skip_mismatches=True --imports landmark_images --manual_dir ..."""


class MismatchError(ValueError):
    """Image files and CSV rows disagree; nothing was written."""


class MetadataError(ValueError):
    """A CSV file is missing, unreadable or inconsistent."""


@dataclasses.dataclass
class LandmarkConfig(tfds.core.BuilderConfig):
    """A config knows how many classes its category.csv must list."""

    num_classes: int = 1049


@dataclasses.dataclass(frozen=True)
class _File:
    """A file found in the manual_dir, in whichever archive or folder it sits."""

    source: sources.Source
    member: str

    @property
    def shown(self) -> str:
        """How the report names it: the member, prefixed by its archive when it is in one."""
        if isinstance(self.source, sources.ZipSource):
            return f"{self.source.path.name}:{self.member}"
        return self.member

    @property
    def parts(self) -> list[str]:
        return self.member.split("/")


@dataclasses.dataclass
class _Tables:
    categories: list[str]
    train_labels: dict[str, int]  # train id -> landmark_id
    test_ids: list[str]


@dataclasses.dataclass
class _Plan:
    """What the build will do with every file and row, decided before anything is written."""

    entries: dict[str, list[Entry]] = dataclasses.field(
        default_factory=lambda: {"train": [], "test": []}
    )
    mismatches: dict[str, list[tuple[str, str, str]]] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(list)
    )  # kind -> [(split, path or id, detail)]
    ignored: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)  # (split, path, reason)


class Builder(builder_lib.CleanImageBuilder):
    """DatasetBuilder for landmark_images."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release: train (88,102 labelled) and test (37,964 unlabelled)."}
    BUILDER_CONFIGS = [  # sample first: `tfds build landmark_images` (every config) builds it first
        LandmarkConfig(
            name="sample",
            num_classes=6,
            description="A mini-archive shipped in the package: real class names and ids of 6 "
            "landmarks (renumbered 0-5), a CP949 zip with awkward names and faulty files.",
        ),
        LandmarkConfig(name="full", description="The complete Dacon data (manual download)."),
    ]
    DEFAULT_BUILDER_CONFIG_NAME = "full"  # tfds.load("NAME") means the real data
    MANUAL_DOWNLOAD_INSTRUCTIONS = _MANUAL_STEPS

    def __init__(self, *, skip_mismatches: bool = False, **kwargs):
        """`skip_mismatches=True` builds without the files/rows that disagree (recorded) instead of failing.

        From the CLI: `tfds build landmark_images/full/skip_mismatches=True --imports landmark_images`;
        from Python: `tfds.builder("landmark_images", skip_mismatches=True)`.
        """
        super().__init__(**kwargs)
        self.skip_mismatches = skip_mismatches
        self._manual_dir_used: epath.Path | None = None  # for the rerun command in errors

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=builder_lib.image_features(
                label=tfds.features.ClassLabel(num_classes=self.builder_config.num_classes),
                region=tfds.features.Text(doc="City/province folder, e.g. 서울시 ('' for test)."),
                id=tfds.features.Text(doc="Dacon image id, as in train.csv / sample_submission.csv."),
            ),
            supervised_keys=("image", "label"),
            homepage="https://dacon.io/competitions/official/235585/overview/description",
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        files = self._find_files(dl_manager)
        tables = _read_tables(files, self.builder_config.num_classes)
        self.info.features["label"].names = tables.categories
        plan = _plan(files, tables)
        self._apply_mismatch_policy(plan)
        for split, path, reason in plan.ignored:
            self.record_ignored(split, path, reason)
        return {split: self._generate_examples(split, entries) for split, entries in plan.entries.items()}

    def _generate_examples(self, split: str, entries: Iterable[Entry]) -> Iterator[tuple[str, dict]]:
        return self.clean_examples(split, entries)

    def _find_files(self, dl_manager: tfds.download.DownloadManager) -> list[_File]:
        if self.builder_config.name == "sample":
            files, _ = _files_in(epath.resource_path("landmark_images") / SAMPLE_ARCHIVE)
            return files
        manual_dir = builder_lib.existing_manual_dir(self, dl_manager, _EXPECTED, _MANUAL_STEPS)
        if manual_dir is None:
            raise builder_lib.ManualDirError(
                f"landmark_images needs a manual download and the default manual_dir "
                f"{dl_manager._manual_dir} is empty. Expected {_EXPECTED}.\n{_MANUAL_STEPS}"  # pylint: disable=protected-access
            )
        self._manual_dir_used = manual_dir
        files, read_from = _files_in(manual_dir)
        for source in read_from:
            self.record_refused(source, _split_of)
        return files

    def _apply_mismatch_policy(self, plan: _Plan) -> None:
        """Fails on any disagreement between files and CSVs, unless told to skip (and record) them."""
        self.info.metadata["build_options"] = {"skip_mismatches": self.skip_mismatches}
        if not plan.mismatches:
            return
        if not self.skip_mismatches:
            manual_dir = shlex.quote(str(self._manual_dir_used or "DIR"))
            rerun = f"--manual_dir {manual_dir} --data_dir {shlex.quote(str(self._data_dir_root))}"  # pylint: disable=protected-access
            raise MismatchError(_describe_mismatches(plan.mismatches, rerun))
        for kind, offenders in plan.mismatches.items():
            for split, path, detail in offenders:
                outcome = report_lib.MISSING if kind.endswith("without image") else SKIPPED
                self._report[split].record(path, outcome, kind, detail)


def _files_in(manual_dir: epath.Path) -> tuple[list[_File], list[sources.Source]]:
    """Every file of the data, and the sources read; for each split, extracted images win over zips.

    So a download extracted in part (test.zip extracted, train.zip kept) still builds whole.
    """
    if manual_dir.is_file():
        folder_sources: list[sources.Source] = []
        loose: list[_File] = []
        zips = [sources.ZipSource(manual_dir)]
    else:
        folder = sources.FolderSource(manual_dir)
        members = folder.members()
        zip_names = [m for m in members if m.lower().endswith(".zip") or ("/" not in m and builder_lib.is_zip(manual_dir / m))]
        folder_sources = [folder]
        loose = [_File(folder, m) for m in members if m not in zip_names]
        zips = [sources.ZipSource(manual_dir / name) for name in zip_names]
    extracted_splits = {_split_of(f.member) for f in loose if _is_image(f.member)}
    found = list(loose)
    for archive in zips:
        inner = [m for m in archive.members() if m.lower().endswith(".zip")]
        if inner and not any(_is_image(m) for m in archive.members()):
            raise builder_lib.ManualDirError(
                f"{archive.path} holds zips ({', '.join(inner)}), not images: extract it into the "
                "manual_dir (keep the inner zips as they are) and build again."
            )
        taken = [m for m in archive.members() if not (_is_image(m) and _split_of(m) in extracted_splits)]
        if len(taken) < len(archive.members()):
            logging.warning("Using the extracted %s images; ignoring those in %s.", sorted(extracted_splits), archive.path)
        found += [_File(archive, m) for m in taken]
    if not any(_is_image(f.member) for f in found):
        listing = [f.shown for f in found[:20]]
        raise builder_lib.ManualDirError(
            f"manual_dir {manual_dir} holds no images. Found: {', '.join(listing) or 'nothing'}"
            f"{' ...' if len(found) > 20 else ''}. Expected {_EXPECTED}.\n{_MANUAL_STEPS}"
        )
    return found, folder_sources + zips


def _split_of(member: str) -> str:
    """By folder: images under a `test/` folder are test images, all others train images."""
    return "test" if "test" in member.split("/")[:-1] else "train"


def _is_image(member: str) -> bool:
    return sources.not_an_image_reason(member) is None


def _read_tables(files: list[_File], num_classes: int) -> _Tables:
    by_name: dict[str, list[_File]] = collections.defaultdict(list)
    for f in files:
        if not sources.is_os_metadata(f.member):
            by_name[f.parts[-1].lower()].append(f)
    if "category.csv" not in by_name and "category.json" in by_name:
        categories = _categories_from_json(_one(by_name, "category.json"))
    else:
        categories = _categories_from_csv(_one(by_name, "category.csv"))
    if len(categories) != num_classes:
        raise MetadataError(f"category.csv lists {len(categories)} classes; this config expects {num_classes}.")
    train_labels: dict[str, int] = {}
    for row_number, row in _csv_rows(_one(by_name, "train.csv"), ("id", "landmark_id")):
        image_id, label = _id(row["id"]), _int(row["landmark_id"], "train.csv", row_number)
        if not 0 <= label < len(categories):
            raise MetadataError(f"train.csv line {row_number}: landmark_id {label} is not in category.csv (0-{len(categories) - 1}).")
        if image_id in train_labels:
            raise MetadataError(f"train.csv line {row_number}: id {image_id!r} appears twice. Remove the duplicate row.")
        train_labels[image_id] = label
    test_ids = [_id(row["id"]) for _, row in _csv_rows(_one(by_name, "sample_submission.csv"), ("id",))]
    return _Tables(categories, train_labels, test_ids)


def _one(by_name: dict[str, list[_File]], name: str) -> _File:
    candidates = by_name.get(name, [])
    if not candidates:
        found = sorted(n for n in by_name if n.endswith((".csv", ".json")))
        raise MetadataError(
            f"{name} was not found in manual_dir (nor in its zips). CSV/JSON files found: {found or 'none'}. "
            f"Expected {_EXPECTED}.\n{_MANUAL_STEPS}"
        )
    contents = {c.source.read(c.member) for c in candidates}
    if len(contents) > 1:
        raise MetadataError(
            f"{len(candidates)} different {name} files: {', '.join(c.shown for c in candidates)}. Keep one."
        )
    return candidates[0]


def _text(f: _File) -> str:
    return sources.decode_text(f.source.read(f.member), f.shown)


def _csv_rows(f: _File, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(_text(f)))
    header = [(name or "").strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in columns if c not in header]
    if missing:
        raise MetadataError(f"{f.shown}: no column {missing} (header: {header}). Is this the Dacon file?")
    for row_number, row in enumerate(reader, start=2):
        yield row_number, row


def _categories_from_csv(f: _File) -> list[str]:
    rows = {_int(row["landmark_id"], f.shown, n): row["landmark_name"] for n, row in _csv_rows(f, ("landmark_id", "landmark_name"))}
    return _dense(rows, f.shown)


def _categories_from_json(f: _File) -> list[str]:
    data = json.loads(_text(f))
    return _dense({int(c["landmark_id"]): c["landmark_name"] for c in data["categories"]}, f.shown)


def _dense(names: dict[int, str], shown: str) -> list[str]:
    if sorted(names) != list(range(len(names))):
        raise MetadataError(f"{shown}: landmark_ids are not 0..{len(names) - 1} without gaps.")
    return [sources.normalize_name(names[i].strip()) for i in range(len(names))]


def _int(value: str | None, shown: str, row_number: int) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise MetadataError(f"{shown} line {row_number}: {value!r} is not an integer landmark_id.") from None


def _id(value: str | None) -> str:
    return sources.normalize_name((value or "").strip())


def _same_name(folder: str, category: str) -> bool:
    """Folder names keep the class name's spaces; some re-packers turn them into '_'."""
    return folder.replace("_", " ").strip() == category.replace("_", " ").strip()


def _plan(files: list[_File], tables: _Tables) -> _Plan:
    """Matches every image file to its CSV row, by normalized id, and collects disagreements."""
    plan = _Plan()
    test_ids = set(tables.test_ids)
    seen: dict[str, str] = {}
    table_names = {"train.csv", "category.csv", "category.json", "sample_submission.csv"}
    for f in sorted(files, key=lambda f: f.member):
        parts = f.parts
        split = _split_of(f.member)
        if not _is_image(f.member):
            if parts[-1].lower() not in table_names:
                plan.ignored.append((split, f.shown, sources.not_an_image_reason(f.member)))
            continue
        image_id = posixpath.splitext(parts[-1])[0]
        if image_id in seen:
            plan.mismatches["duplicate image id"].append((split, f.shown, f"same id as {seen[image_id]}"))
            continue
        seen[image_id] = f.shown
        if image_id in tables.train_labels:
            label = tables.train_labels[image_id]
            region, folder = (parts[-3], parts[-2]) if len(parts) >= 3 else ("", "")
            filename = f"train/{region}/{folder}/{parts[-1]}"
            if not _same_name(folder, tables.categories[label]):
                detail = f"folder {folder!r}, train.csv says {label} ({tables.categories[label]!r})"
                plan.mismatches["folder disagrees with landmark_id"].append(("train", f.shown, detail))
                continue
            features = {"label": label, "region": region, "id": image_id}
            plan.entries["train"].append(Entry(f.source.ref(f.member), filename, features))
        elif image_id in test_ids:
            filename = _test_filename(parts)
            features = {"label": -1, "region": "", "id": image_id}
            plan.entries["test"].append(Entry(f.source.ref(f.member), filename, features))
        else:
            table = "sample_submission.csv" if split == "test" else "train.csv"
            plan.mismatches[f"image without {table} row"].append((split, f.shown, ""))
    for image_id in tables.train_labels.keys() - seen.keys():
        plan.mismatches["train.csv id without image"].append(("train", image_id, ""))
    for image_id in test_ids - seen.keys():
        plan.mismatches["sample_submission.csv id without image"].append(("test", image_id, ""))
    for offenders in plan.mismatches.values():
        offenders.sort()
    return plan


def _test_filename(parts: list[str]) -> str:
    """Below a `test` folder, the path as the user has it (Dacon's `test/<c>/<id>.JPG`, or
    `test/<id>.JPG` flat); elsewhere (a test.zip without the folder) `test/<c>/<id>.JPG`."""
    folders = parts[:-1]
    if "test" in folders:
        return "/".join(["test", *parts[len(folders) - folders[::-1].index("test") :]])
    image_id = posixpath.splitext(parts[-1])[0]
    return f"test/{parts[-2] if len(parts) >= 2 else image_id[:1]}/{parts[-1]}"


def _describe_mismatches(mismatches: dict[str, list[tuple[str, str, str]]], rerun_options: str) -> str:
    total = sum(len(v) for v in mismatches.values())
    lines = [f"{total} disagreements between image files and the CSVs; nothing was written:"]
    for kind, offenders in sorted(mismatches.items()):
        lines.append(f"  {len(offenders)} x {kind}, e.g.:")
        lines += [f"      {path}{'  (' + detail + ')' if detail else ''}" for _, path, detail in offenders[:_MAX_LISTED]]
    lines.append(
        "Fix the files or CSVs (a partial download or extraction is the usual cause), or build "
        "without them, recorded in the build report:\n"
        f"  tfds build landmark_images/full/skip_mismatches=True --imports landmark_images {rerun_options}\n"
        "  (Python: tfds.builder('landmark_images', skip_mismatches=True))"
    )
    return "\n".join(lines)
