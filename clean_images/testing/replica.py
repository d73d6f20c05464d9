"""Realistic stand-ins for the real archives, which cannot be downloaded here.

Photos come from the freely licensed sample images that scikit-image and scikit-learn
ship (install the `samples` extra), cropped, flipped, tinted and resized to PetImages-like
sizes; the fault mix comes from `clean_images.faults`. Everything is seeded, so a given
call always writes the same archive.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import pathlib
import re
import unicodedata
import zipfile
from collections.abc import Generator, Mapping
from typing import Any

import numpy as np
from PIL import Image

from clean_images.sanitize import STORED
from clean_images.sources import FolderSource
from clean_images.testing.faults import FAULTS, THUMBS_DB, jpeg_bytes
from clean_images.testing.planted import Planted, copy_plan, distinct_photos

# The real archive's own layout (kagglecatsanddogs_5340.zip).
PET_EXTRAS = {"CDLA-Permissive-2.0.pdf": b"%PDF-1.5\n% licence stand-in\n", "readme[1].txt": b"Cats vs dogs.\n"}
FIXED_TIME = (2020, 1, 1, 0, 0, 0)
_ASPECTS = (0.75, 0.75, 0.75, 0.667, 0.8, 1.0, 1.333)  # height / width, roughly PetImages' mix


def _source_photos() -> dict[str, list[np.ndarray]]:
    """Real photographs shipped by pip packages: the cat, and everything else."""
    from skimage import data  # pylint: disable=g-import-not-at-top
    from sklearn.datasets import load_sample_images  # pylint: disable=g-import-not-at-top

    others = [data.astronaut(), data.coffee(), data.rocket(), data.hubble_deep_field(), data.immunohistochemistry()]
    return {"cat": [data.chelsea()], "dog": others + list(load_sample_images().images)}


def photos(
    kind: str, seed: int, max_width: int = 500, min_width: int | None = None, pet_shapes: bool = False
) -> Generator[Image.Image, None, None]:
    """Endless varied photos of one kind: crops of real photos, flipped and tinted, width
    min_width..max_width. `pet_shapes`: PetImages' shapes instead of any crop (mostly 4:3
    landscape, some portrait or square; the long side is the drawn width), for benchmarks."""
    pool = _source_photos()[kind]
    rng = np.random.default_rng(seed)
    while True:
        source = pool[rng.integers(len(pool))]
        h, w = source.shape[:2]
        if pet_shapes:
            aspect = rng.choice(_ASPECTS)  # height / width
            cw = max(1, int(min(w, h / aspect) * rng.uniform(0.5, 1.0)))
            ch = max(1, min(h, int(cw * aspect)))
        else:
            ch, cw = int(h * rng.uniform(0.5, 1.0)), int(w * rng.uniform(0.5, 1.0))
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = source[y : y + ch, x : x + cw].astype(np.float32) * rng.uniform(0.8, 1.2, size=3)
        image = Image.fromarray(np.clip(crop, 0, 255).astype(np.uint8))
        if rng.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        width = int(rng.integers(min_width or max_width * 2 // 5, max_width + 1))
        if pet_shapes and ch > cw:  # portrait: the drawn width is the long side
            yield image.resize((max(1, round(width * cw / ch)), width), Image.Resampling.BILINEAR)
        else:
            yield image.resize((width, max(1, round(width * ch / cw))), Image.Resampling.BILINEAR)


def write_pet_archive(
    path: str,
    images_per_class: int,
    faults: Mapping[str, int],
    seed: int = 0,
    prefix: str = "",
    max_width: int = 500,
    min_width: int | None = None,
    realistic: bool = False,
    distinct: bool = False,
) -> dict[str, str]:
    """Writes a PetImages-layout zip; returns {member: expected outcome} for its image files.

    `faults` says how many files of each fault kind (names of `FAULTS`) each class gets,
    on top of its clean photos; files are numbered like the real ones (0.jpg, 1.jpg, ...).
    `realistic`: PetImages' shapes and JPEG qualities (75-95; else 70-92), for benchmarks.
    `distinct`: every photo drawn on its own (`planted.distinct_photos`, PetImages' shapes)
    instead of cut from a handful of real ones, so that no two are alike: the duplicates
    report's ground truth at scale (add copies with `plant_copies`).
    """
    expected: dict[str, str] = {}
    rng = np.random.default_rng(seed)
    qualities = (75, 96) if realistic else (70, 93)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in PET_EXTRAS.items():
            _write(archive, prefix + name, data)
        for class_index, (kind, folder) in enumerate((("cat", "Cat"), ("dog", "Dog"))):
            stream = (distinct_photos(seed * 2 + class_index, max_width, min_width or max_width * 2 // 5, _ASPECTS)
                      if distinct else photos(kind, seed * 2 + class_index, max_width, min_width, pet_shapes=realistic))
            plan = ["clean_jfif"] * images_per_class + [f for f, n in faults.items() for _ in range(n)]
            order = rng.permutation(len(plan))
            for number, index in enumerate(order):
                fault = plan[index]
                make, outcome = FAULTS[fault]
                photo = next(stream)
                data = make(photo) if fault != "clean_jfif" else jpeg_bytes(photo, quality=int(rng.integers(*qualities)))
                member = f"{prefix}PetImages/{folder}/{number}.jpg"
                _write(archive, member, data)
                expected[member] = outcome
            stream.close()  # (a distinct stream's processes stop now)
            _write(archive, f"{prefix}PetImages/{folder}/Thumbs.db", THUMBS_DB)
    return expected


_MEMBER = re.compile(r"(?P<folder>.*PetImages/(?P<name>[^/]+))/(?P<number>\d+)\.jpg")


def plant_copies(
    path: str, expected: Mapping[str, str], copies_per_kind: int, seed: int = 0
) -> tuple[dict[str, str], list[Planted]]:
    """Adds to a PetImages-layout zip `copies_per_kind` copies of each kind of `planted.COPIES`, made from
    photos the build stores as they are (`expected`, as `write_pet_archive` returns it), each original
    copied once, numbered after its class's last file.

    Returns the new members' expected outcomes and what was planted, as (class, number) pairs.
    """
    members = {(m["name"], int(m["number"])): m for name in expected if (m := _MEMBER.fullmatch(name))}
    originals = sorted(key for key, m in members.items() if expected[m[0]] == STORED)
    folders = {name: m["folder"] for (name, _), m in members.items()}
    numbers = {name: 1 + max(n for c, n in members if c == name) for name in folders}
    rng = np.random.default_rng(seed)
    added: dict[str, str] = {}
    planted = []
    with zipfile.ZipFile(path, "a") as archive:
        for kind, make, original, home in copy_plan(originals, sorted(folders), copies_per_kind, rng):
            data = archive.read(members[original][0])
            copy = (home, numbers[home])
            numbers[home] += 1
            member = f"{folders[home]}/{copy[1]}.jpg"
            _write(archive, member, data if make is None else make(data, rng))
            added[member] = STORED
            planted.append(Planted(kind, original, copy))
    return added, planted


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    archive.writestr(zipfile.ZipInfo(name, FIXED_TIME), data, compress_type=zipfile.ZIP_DEFLATED)


# --- Dacon landmark replicas -------------------------------------------------------------

REGIONS = ("서울시", "부산시", "대구시", "인천시", "광주시", "경기도")


@dataclasses.dataclass
class DaconMetadata:
    """The content of the Dacon CSVs: class names by id, train (id, landmark_id), test ids."""

    categories: list[str]
    train: list[tuple[str, int]]
    test: list[str]

    @classmethod
    def from_dir(cls, folder: str | pathlib.Path) -> DaconMetadata:
        """Reads the real metadata (../shared/dacon_metadata on the project's machines) with the
        builder's own CSV reader, so replicas and builds agree on what the CSVs say."""
        from landmark_images import dacon  # pylint: disable=g-import-not-at-top

        source = FolderSource(folder)
        files = [dacon.Found(source, m) for m in source.members() if m.lower() in dacon.TABLE_NAMES]
        tables = dacon.read_tables(files, num_classes=None)
        return cls(tables.categories, list(tables.train_labels.items()), tables.test_ids)

    @classmethod
    def synthetic(
        cls, num_classes: int = 1049, per_class: tuple[int, int] = (66, 101), num_test: int = 37964, seed: int = 0
    ) -> DaconMetadata:
        """Korean-looking names and ids with the real files' awkward characters, no real data needed."""
        rng = np.random.default_rng(seed)
        hangul = lambda n: "".join(chr(0xAC00 + int(rng.integers(0, 11172))) for _ in range(n))
        decorations = [
            lambda: f"({hangul(3)}, {hangul(2)} 포함)",
            lambda: f"[{hangul(2)}]",
            lambda: f" {hangul(1)}&{hangul(2)}",
            lambda: f"·{hangul(2)}",
            lambda: f" {int(rng.integers(1, 9))}.{int(rng.integers(0, 9))}",
            lambda: f"-{hangul(2)}",
        ]
        names: list[str] = []
        while len(names) < num_classes:
            name = hangul(int(rng.integers(2, 5))) + (" " + hangul(int(rng.integers(2, 5))) if rng.random() < 0.5 else "")
            if rng.random() < 0.15:
                name += decorations[int(rng.integers(len(decorations)))]()
            if name not in names:
                names.append(name)
        train = [
            (f"{name.replace(' ', '_')}_{k:03d}", landmark_id)
            for landmark_id, name in enumerate(names)
            for k in range(1, int(rng.integers(per_class[0], per_class[1] + 1)) + 1)
        ]
        alphabet = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))
        test = sorted({"".join(rng.choice(alphabet, 10)) for _ in range(num_test)})
        return cls(names, train, test)

    def subset(self, num_classes: int, num_test: int) -> DaconMetadata:
        """Keeps every class name (the label space) but the images of only some classes."""
        step = max(1, len(self.categories) // num_classes)
        kept = set(range(0, len(self.categories), step)[:num_classes])
        return DaconMetadata(self.categories, [(i, c) for i, c in self.train if c in kept], self.test[:num_test])


def region_of(landmark_id: int) -> str:
    """A stable stand-in for the city/province folder (the CSVs do not record it)."""
    return REGIONS[(landmark_id * 7919) % len(REGIONS)]


class _RawNameZipInfo(zipfile.ZipInfo):
    """A member whose name is written as given bytes without the UTF-8 flag (CP949, macOS NFD)."""

    def __init__(self, raw_name: bytes):
        super().__init__(raw_name.decode("cp437"), FIXED_TIME)
        self._raw_name = raw_name

    def _encodeFilenameFlags(self):  # noqa: N802  # zipfile's own hook
        return self._raw_name, self.flag_bits & ~0x800


def _jpeg_pool(width: int, seed: int) -> list[bytes]:
    """Distinct photos to draw the replica's files from (files share bytes: cheap to make).

    Up to 64 px: 64 thumbnails of any shape (tests). Larger: 256 photos in PetImages' shapes,
    long side 7/8 of `width` to `width` (benchmarks)."""
    if width <= 64:
        stream, count = photos("dog", seed, max_width=64), 64
    else:
        stream, count = photos("dog", seed, max_width=width, min_width=width * 7 // 8, pet_shapes=True), 256
    return [jpeg_bytes(next(stream), quality=80) for _ in range(count)]


def write_dacon_replica(
    root: str | pathlib.Path,
    metadata: DaconMetadata,
    layout: str = "extracted",
    names: str = "utf-8",
    csv_encoding: str = "utf-8",
    missing_images: int = 0,
    unlisted_images: int = 0,
    misfiled_images: int = 0,
    faults: Mapping[str, int] | None = None,
    seed: int = 0,
    image_width: int = 64,
) -> dict[str, Any]:
    """Writes a Dacon-layout replica in `root`; returns what a correct build must contain.

    layout: "extracted" (the tree), "single_zip" (one archive with everything) or
    "split_zips" (train.zip and test.zip beside the CSVs). names: "utf-8", "nfd" (macOS)
    or "cp949" (Korean Windows zip, no UTF-8 flag; zips only). csv_encoding: "utf-8",
    "utf-8-sig" or "cp949". The mismatch counts plant that many faults of each kind.
    `faults` replaces that many train images with files of those `FAULTS` kinds.
    `image_width`: the photos' long side (64: tests; ~500: benchmarks, PetImages-sized).
    Returns {"train": {filename: (id, landmark_id, region)}, "test": {filename: id},
    "missing": [ids], "unlisted": [filenames], "misfiled": [filenames],
    "outcomes": {filename: expected outcome}} (filenames NFC, as the dataset stores them).
    """
    root = pathlib.Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pool = _jpeg_pool(image_width, seed)
    pick = lambda: pool[int(rng.integers(len(pool)))]
    files: dict[str, bytes] = {}
    expected: dict[str, Any] = {"train": {}, "test": {}, "unlisted": [], "misfiled": []}

    train = list(metadata.train)
    order = rng.permutation(len(train))
    missing = {train[i][0] for i in order[:missing_images]}
    misfiled = {train[i][0] for i in order[missing_images : missing_images + misfiled_images]}
    expected["missing"] = sorted(missing)
    for image_id, landmark_id in train:
        if image_id in missing:
            continue
        folder_class = landmark_id
        if image_id in misfiled:
            folder_class = (landmark_id + 1) % len(metadata.categories)
        region = region_of(folder_class)
        filename = f"train/{region}/{metadata.categories[folder_class]}/{image_id}.JPG"
        files[filename] = pick()
        if image_id in misfiled:
            expected["misfiled"].append(filename)
        else:
            expected["train"][filename] = (image_id, landmark_id, region)
    for k in range(unlisted_images):
        landmark_id = int(rng.integers(len(metadata.categories)))
        filename = f"train/{region_of(landmark_id)}/{metadata.categories[landmark_id]}/unlisted_{k:03d}.JPG"
        files[filename] = pick()
        expected["unlisted"].append(filename)
    for image_id in metadata.test:
        filename = f"test/{image_id[0]}/{image_id}.JPG"
        files[filename] = pick()
        expected["test"][filename] = image_id

    expected["outcomes"] = {name: "stored" for name in files}
    fault_photos = photos("cat", seed, max_width=64)
    planted = iter(sorted(expected["train"]))
    for fault, count in (faults or {}).items():
        make, outcome = FAULTS[fault]
        for _ in range(count):
            name = next(planted)
            files[name] = make(next(fault_photos))
            expected["outcomes"][name] = outcome

    tables = _dacon_tables(metadata, csv_encoding)
    if layout == "extracted":
        for name, data in {**tables, **files}.items():
            path = root / (_nfd_path(name) if names == "nfd" else name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    elif layout == "single_zip":
        _write_zip(root / "open.zip", {**tables, **files}, names)
    elif layout == "split_zips":
        for name, data in tables.items():
            (root / name).write_bytes(data)
        _write_zip(root / "train.zip", {n: d for n, d in files.items() if n.startswith("train/")}, names)
        _write_zip(root / "test.zip", {n: d for n, d in files.items() if n.startswith("test/")}, names)
    else:
        raise ValueError(f"unknown layout {layout!r}")
    return expected


def _nfd_path(name: str) -> str:
    """NFD per component, except where NFD would pass Linux's 255-byte limit (Hangul triples)."""
    parts = [unicodedata.normalize("NFD", part) for part in name.split("/")]
    return "/".join(p if len(p.encode()) <= 255 else unicodedata.normalize("NFC", p) for p in parts)


def _dacon_tables(metadata: DaconMetadata, encoding: str) -> dict[str, bytes]:
    def table(header: list[str], rows: list[list[Any]]) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return buffer.getvalue().encode(encoding)

    categories = [{"landmark_id": i, "landmark_name": n} for i, n in enumerate(metadata.categories)]
    return {
        "train.csv": table(["id", "landmark_id"], [list(row) for row in metadata.train]),
        "category.csv": table(["landmark_id", "landmark_name"], [[i, n] for i, n in enumerate(metadata.categories)]),
        "category.json": json.dumps({"categories": categories}).encode(),
        "sample_submission.csv": table(["id", "landmark_id", "conf"], [[i, 1, 1] for i in metadata.test]),
    }


def _write_zip(path: pathlib.Path, files: dict[str, bytes], names: str) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            if names == "utf-8":
                info = zipfile.ZipInfo(name, FIXED_TIME)
            elif names == "nfd":
                info = _RawNameZipInfo(unicodedata.normalize("NFD", name).encode("utf-8"))
            elif names == "cp949":
                info = _RawNameZipInfo(name.encode("cp949"))
            else:
                raise ValueError(f"unknown name encoding {names!r}")
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
