"""Regenerates the embedded sample archives shipped in the dataset folders.

    pip install -e '.[samples]' && python scripts/make_samples.py

Deterministic: the same versions of Pillow/scikit-image write the same bytes.
"""

from __future__ import annotations

import pathlib
import shutil
import tempfile
import zipfile

from clean_images.faults import FAULTS
from clean_images.replica import write_pet_archive

ROOT = pathlib.Path(__file__).resolve().parent.parent
PET_SAMPLE = ROOT / "pet_images" / "sample" / "kagglecatsanddogs_sample.zip"
PET_DUMMY = ROOT / "pet_images" / "dummy_data"


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


if __name__ == "__main__":
    main()
