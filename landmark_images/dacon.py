"""The Dacon landmark data's files: which are images of which split, what the CSVs say, and
where the two disagree. Pure functions of the listing and the CSV bytes: no image is read."""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import json
import posixpath
from collections.abc import Iterator

from absl import logging

from clean_images import errors, report, sources
from clean_images.manual_dir import Contents
from clean_images.plan import Entry, Recorded, SplitPlan

_WHOLE_CATEGORIES = (" Use category.csv from the Dacon download as it is, every row: the class ids "
                     "are positions in it, and train.csv refers to them.")

TABLE_NAMES = ("train.csv", "category.csv", "category.json", "sample_submission.csv")
_MAX_LISTED = 10


@dataclasses.dataclass(frozen=True)
class Found:
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
class Tables:
    """What the CSVs say: class names by landmark_id, train id -> landmark_id, test ids."""

    categories: list[str]
    train_labels: dict[str, int]
    test_ids: list[str]


@dataclasses.dataclass
class Mismatches:
    """Files and rows that disagree, by kind: [(split, path or id, detail)]."""

    by_kind: dict[str, list[tuple[str, str, str]]] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(list)
    )

    def add(self, kind: str, split: str, path: str, detail: str = "") -> None:
        self.by_kind[kind].append((split, path, detail))

    def __bool__(self) -> bool:
        return any(self.by_kind.values())

    def record_in(self, plans: dict[str, SplitPlan]) -> None:
        """Builds without them: rows without an image are `missing`, files that disagree `skipped`."""
        for kind, offenders in self.by_kind.items():
            for split, path, detail in offenders:
                outcome = report.MISSING if kind.endswith("without image") else report.SKIPPED
                plans[split].recorded.append(Recorded(path, outcome, kind, detail))

    def describe(self, rerun_options: str) -> str:
        total = sum(len(v) for v in self.by_kind.values())
        lines = [f"{total} disagreements between image files and the CSVs; nothing was written:"]
        for kind, offenders in sorted(self.by_kind.items()):
            lines.append(f"  {len(offenders)} x {kind}, e.g.:")
            lines += [f"      {path}{'  (' + detail + ')' if detail else ''}" for _, path, detail in offenders[:_MAX_LISTED]]
        lines.append(
            "Fix the files or CSVs (a partial download or extraction is the usual cause), or build "
            "without them, recorded in the build report:\n"
            f"  tfds build landmark_images/full/skip_mismatches=True --imports landmark_images {rerun_options}\n"
            "  (Python: tfds.builder('landmark_images', skip_mismatches=True))"
        )
        return "\n".join(lines)


def split_of(member: str) -> str:
    """By folder: images under a `test/` folder are test images, all others train images."""
    return "test" if "test" in member.split("/")[:-1] else "train"


def is_image(member: str) -> bool:
    return sources.not_an_image_reason(member) is None


def files_in(contents: Contents) -> list[Found]:
    """Every file of the data; for each split, extracted images win over those in zips.

    So a download extracted in part (test.zip extracted, train.zip kept) still builds whole.
    """
    loose = [Found(contents.folder, m) for m in contents.loose_members()] if contents.folder else []
    extracted_splits = {split_of(f.member) for f in loose if is_image(f.member)}
    found = list(loose)
    for archive in contents.zips:
        members = archive.members()
        inner = [m for m in members if m.lower().endswith(".zip")]
        if inner and not any(is_image(m) for m in members):
            raise errors.ManualDirError(
                f"{archive.path} holds zips ({', '.join(inner)}), not images: extract it into the "
                "manual_dir (keep the inner zips as they are) and build again."
            )
        taken = [m for m in members if not (is_image(m) and split_of(m) in extracted_splits)]
        if len(taken) < len(members):
            logging.warning("Using the extracted %s images; ignoring those in %s.", sorted(extracted_splits), archive.path)
        found += [Found(archive, m) for m in taken]
    if not any(is_image(f.member) for f in found):
        raise errors.NothingFoundError(f"manual_dir {contents.root} (no images)", [f.shown for f in found])
    return found


def read_tables(files: list[Found], num_classes: int | None) -> Tables:
    """Reads category.csv (or category.json), train.csv and sample_submission.csv, checking them
    (and that there are `num_classes` classes, unless None)."""
    by_name: dict[str, list[Found]] = collections.defaultdict(list)
    for f in files:
        if not sources.is_os_metadata(f.member):
            by_name[f.parts[-1].lower()].append(f)
    if "category.csv" not in by_name and "category.json" in by_name:
        categories = _categories_from_json(_one(by_name, "category.json"))
    else:
        categories = _categories_from_csv(_one(by_name, "category.csv"))
    if num_classes is not None and len(categories) != num_classes:
        raise errors.MetadataError(
            f"category.csv lists {len(categories)} classes; this config expects {num_classes}.{_WHOLE_CATEGORIES}"
        )
    train_labels: dict[str, int] = {}
    first_row: dict[str, int] = {}
    for row_number, row in _csv_rows(_one(by_name, "train.csv"), ("id", "landmark_id")):
        image_id, label = _id(row["id"]), _int(row["landmark_id"], "train.csv", row_number)
        if not 0 <= label < len(categories):
            raise errors.MetadataError(
                f"train.csv line {row_number}: landmark_id {label} is not in category.csv "
                f"(0-{len(categories) - 1}).{_WHOLE_CATEGORIES}"
            )
        if image_id in train_labels:
            raise errors.MetadataError(
                f"train.csv line {row_number}: id {image_id!r} appears twice (first on line {first_row[image_id]}). "
                "Remove the duplicate row."
            )
        train_labels[image_id] = label
        first_row[image_id] = row_number
    test_ids = [_id(row["id"]) for _, row in _csv_rows(_one(by_name, "sample_submission.csv"), ("id",))]
    return Tables(categories, train_labels, test_ids)


def _one(by_name: dict[str, list[Found]], name: str) -> Found:
    candidates = by_name.get(name, [])
    if not candidates:
        found = sorted(n for n in by_name if n.endswith((".csv", ".json")))
        raise errors.MetadataError(
            f"{name} was not found in manual_dir (nor in its zips). CSV/JSON files found: {found or 'none'}. "
            "Put the CSV files Dacon serves beside the images (see the manual download steps)."
        )
    contents = {c.source.read(c.member) for c in candidates}
    if len(contents) > 1:
        raise errors.MetadataError(
            f"{len(candidates)} different {name} files: {', '.join(c.shown for c in candidates)}. Keep one."
        )
    return candidates[0]


def _text(f: Found) -> str:
    return sources.decode_text(f.source.read(f.member), f.shown)


def _csv_rows(f: Found, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(_text(f)))
    header = [(name or "").strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in columns if c not in header]
    if missing:
        raise errors.MetadataError(f"{f.shown}: no column {missing} (header: {header}). Is this the Dacon file?")
    yield from enumerate(reader, start=2)


def _categories_from_csv(f: Found) -> list[str]:
    rows = {
        _int(row["landmark_id"], f.shown, n): row["landmark_name"]
        for n, row in _csv_rows(f, ("landmark_id", "landmark_name"))
    }
    return _dense(rows, f.shown)


def _categories_from_json(f: Found) -> list[str]:
    data = json.loads(_text(f))
    return _dense({int(c["landmark_id"]): c["landmark_name"] for c in data["categories"]}, f.shown)


def _dense(names: dict[int, str], shown: str) -> list[str]:
    if sorted(names) != list(range(len(names))):
        raise errors.MetadataError(f"{shown}: landmark_ids are not 0..{len(names) - 1} without gaps.{_WHOLE_CATEGORIES}")
    return [sources.normalize_name(names[i].strip()) for i in range(len(names))]


def _int(value: str | None, shown: str, row_number: int) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise errors.MetadataError(f"{shown} line {row_number}: {value!r} is not an integer landmark_id.") from None


def _id(value: str | None) -> str:
    return sources.normalize_name((value or "").strip())


def same_name(folder: str, category: str) -> bool:
    """Folder names keep the class name's spaces; some re-packers turn them into '_'."""
    return folder.replace("_", " ").strip() == category.replace("_", " ").strip()


def plan(files: list[Found], tables: Tables) -> tuple[dict[str, SplitPlan], Mismatches]:
    """Matches every image file to its CSV row, by normalized id; collects the disagreements."""
    plans = {"train": SplitPlan(), "test": SplitPlan()}
    mismatches = Mismatches()
    test_ids = set(tables.test_ids)
    seen: dict[str, str] = {}
    for f in sorted(files, key=lambda f: f.member):
        parts = f.parts
        split = split_of(f.member)
        if not is_image(f.member):
            if parts[-1].lower() not in TABLE_NAMES:
                plans[split].ignore(f.shown, sources.not_an_image_reason(f.member) or "")
            continue
        image_id = posixpath.splitext(parts[-1])[0]
        if image_id in seen:
            mismatches.add("duplicate image id", split, f.shown, f"same id as {seen[image_id]}")
            continue
        seen[image_id] = f.shown
        if image_id in tables.train_labels:
            label = tables.train_labels[image_id]
            region, folder = (parts[-3], parts[-2]) if len(parts) >= 3 else ("", "")
            if not same_name(folder, tables.categories[label]):
                detail = f"folder {folder!r}, train.csv says {label} ({tables.categories[label]!r})"
                mismatches.add("folder disagrees with landmark_id", "train", f.shown, detail)
                continue
            features = {"label": label, "region": region, "id": image_id}
            plans["train"].add(Entry(f.source.ref(f.member), f"train/{region}/{folder}/{parts[-1]}", features), f.shown)
        elif image_id in test_ids:
            features = {"label": -1, "region": "", "id": image_id}
            plans["test"].add(Entry(f.source.ref(f.member), test_filename(parts), features), f.shown)
        else:
            table = "sample_submission.csv" if split == "test" else "train.csv"
            mismatches.add(f"image without {table} row", split, f.shown)
    for image_id in sorted(tables.train_labels.keys() - seen.keys()):
        mismatches.add("train.csv id without image", "train", image_id)
    for image_id in sorted(test_ids - seen.keys()):
        mismatches.add("sample_submission.csv id without image", "test", image_id)
    for offenders in mismatches.by_kind.values():
        offenders.sort()
    return plans, mismatches


def test_filename(parts: list[str]) -> str:
    """Below a `test` folder, the path as the user has it (Dacon's `test/<c>/<id>.JPG`, or
    `test/<id>.JPG` flat); elsewhere (a test.zip without the folder) `test/<c>/<id>.JPG`."""
    folders = parts[:-1]
    if "test" in folders:
        return "/".join(["test", *parts[len(folders) - folders[::-1].index("test") :]])
    image_id = posixpath.splitext(parts[-1])[0]
    return f"test/{parts[-2] if len(parts) >= 2 else image_id[:1]}/{parts[-1]}"
