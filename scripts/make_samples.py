"""Regenerates the embedded sample archives shipped in the dataset folders.

    pip install -e '.[samples]' && python scripts/make_samples.py

Deterministic: the same versions of Pillow/scikit-image write the same bytes.
"""

from __future__ import annotations

import pathlib

from clean_images.faults import FAULTS
from clean_images.replica import write_pet_archive

ROOT = pathlib.Path(__file__).resolve().parent.parent
PET_SAMPLE = ROOT / "pet_images" / "sample" / "kagglecatsanddogs_sample.zip"


def main() -> None:
    PET_SAMPLE.parent.mkdir(parents=True, exist_ok=True)
    faults = {name: 1 for name in FAULTS if name != "clean_jfif"}
    expected = write_pet_archive(
        str(PET_SAMPLE), images_per_class=24, faults=faults, seed=2024, max_width=320
    )
    print(f"{PET_SAMPLE}: {len(expected)} image files, {PET_SAMPLE.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
