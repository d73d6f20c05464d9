"""Regenerates the embedded sample archives and the dummy_data/ of both datasets.

    pip install -e '.[samples]' && python scripts/make_samples.py [DACON_METADATA_DIR]

The landmark sample takes real class names and ids from the Dacon metadata (default:
../shared/dacon_metadata beside the repository); only those few rows end up in the sample.
Deterministic: the same versions of Pillow/scikit-image write the same bytes.
"""

from __future__ import annotations

import pathlib
import shutil
import sys
import tempfile
import zipfile

from clean_images.testing.faults import FAULTS
from clean_images.testing.replica import DaconMetadata, write_dacon_replica, write_pet_archive

ROOT = pathlib.Path(__file__).resolve().parent.parent
PET_SAMPLE = ROOT / "pet_images" / "sample" / "kagglecatsanddogs_sample.zip"
PET_DUMMY = ROOT / "pet_images" / "dummy_data"
LANDMARK_SAMPLE = ROOT / "landmark_images" / "sample" / "dacon_landmark_sample.zip"
LANDMARK_DUMMY = ROOT / "landmark_images" / "dummy_data"
# Real classes whose names carry the characters that break naive code: , ( ) [ ] & · . -
SAMPLE_CLASSES = ("511", "KT&G 상상마당", "[본점]", "·", ".", "-")


def landmark_sample_metadata(metadata_dir: pathlib.Path) -> DaconMetadata:
    """Six real classes (renumbered 0-5), four real train ids each, six real test ids."""
    real = DaconMetadata.from_dir(metadata_dir)
    chosen: list[int] = []
    for wanted in SAMPLE_CLASSES:
        index = int(wanted) if wanted.isdigit() else next(
            i for i, name in enumerate(real.categories) if wanted in name and i not in chosen
        )
        chosen.append(index)
    train: list[tuple[str, int]] = []
    for new_label, old_label in enumerate(chosen):
        train += [(image_id, new_label) for image_id, label in real.train if label == old_label][:4]
    return DaconMetadata([real.categories[c] for c in chosen], train, real.test[:6])


def make_landmark(metadata_dir: pathlib.Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        expected = write_dacon_replica(
            tmp, landmark_sample_metadata(metadata_dir), layout="single_zip", names="cp949",
            csv_encoding="cp949", faults={"png_as_jpg": 1, "truncated_jpeg": 1}, seed=11,
        )
        LANDMARK_SAMPLE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pathlib.Path(tmp) / "open.zip", LANDMARK_SAMPLE)
    print(f"{LANDMARK_SAMPLE}: {len(expected['outcomes'])} images, {LANDMARK_SAMPLE.stat().st_size:,} bytes")

    # dummy_data/: synthetic names (no real metadata needed), the extracted layout, 1,049 classes.
    shutil.rmtree(LANDMARK_DUMMY, ignore_errors=True)
    dummy = DaconMetadata.synthetic(per_class=(2, 2), num_test=3, seed=3).subset(3, 3)
    write_dacon_replica(LANDMARK_DUMMY, dummy, layout="extracted", csv_encoding="utf-8-sig", seed=3)
    print(f"{LANDMARK_DUMMY}: {len(dummy.train)} train, {len(dummy.test)} test images")


def main() -> None:
    PET_SAMPLE.parent.mkdir(parents=True, exist_ok=True)
    faults = {name: 1 for name in FAULTS if name != "clean_jfif"}
    expected = write_pet_archive(
        str(PET_SAMPLE), images_per_class=24, faults=faults, seed=2024, max_width=320
    )
    print(f"{PET_SAMPLE}: {len(expected)} image files, {PET_SAMPLE.stat().st_size:,} bytes")

    # dummy_data/ for tfds.testing: the extracted-folder layout, tiny images, a few faults.
    shutil.rmtree(PET_DUMMY, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        archive = pathlib.Path(tmp) / "dummy.zip"
        dummy = write_pet_archive(
            str(archive), images_per_class=3, faults={"png_as_jpg": 1, "empty": 1}, seed=7, max_width=96
        )
        with zipfile.ZipFile(archive) as z:
            z.extractall(PET_DUMMY, [m for m in z.namelist() if m.startswith("PetImages/")])
    print(f"{PET_DUMMY}: {len(dummy)} image files")

    make_landmark(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "dacon_metadata")


if __name__ == "__main__":
    main()
