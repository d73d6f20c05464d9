"""Realistic stand-ins for the real archives, which cannot be downloaded here.

Photos come from the freely licensed sample images that scikit-image and scikit-learn
ship (install the `samples` extra), cropped, flipped, tinted and resized to PetImages-like
sizes; the fault mix comes from `clean_images.faults`. Everything is seeded, so a given
call always writes the same archive.
"""

from __future__ import annotations

import zipfile
from typing import Iterator, Mapping

import numpy as np
from PIL import Image

from clean_images.faults import FAULTS, jpeg_bytes, thumbs_db

# The real archive's own layout (kagglecatsanddogs_5340.zip).
PET_EXTRAS = {"CDLA-Permissive-2.0.pdf": b"%PDF-1.5\n% licence stand-in\n", "readme[1].txt": b"Cats vs dogs.\n"}
FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def _source_photos() -> dict[str, list[np.ndarray]]:
    """Real photographs shipped by pip packages: the cat, and everything else."""
    from skimage import data  # pylint: disable=g-import-not-at-top
    from sklearn.datasets import load_sample_images  # pylint: disable=g-import-not-at-top

    others = [data.astronaut(), data.coffee(), data.rocket(), data.hubble_deep_field(), data.immunohistochemistry()]
    return {"cat": [data.chelsea()], "dog": others + list(load_sample_images().images)}


def photos(kind: str, seed: int, max_width: int = 500) -> Iterator[Image.Image]:
    """Endless varied photos (crop, flip, tint, resize to 40-100% of max_width) of one kind."""
    pool = _source_photos()[kind]
    rng = np.random.default_rng(seed)
    while True:
        source = pool[rng.integers(len(pool))]
        h, w = source.shape[:2]
        ch, cw = int(h * rng.uniform(0.5, 1.0)), int(w * rng.uniform(0.5, 1.0))
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = source[y : y + ch, x : x + cw].astype(np.float32) * rng.uniform(0.8, 1.2, size=3)
        image = Image.fromarray(np.clip(crop, 0, 255).astype(np.uint8))
        if rng.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        width = int(rng.integers(max_width * 2 // 5, max_width + 1))
        yield image.resize((width, max(1, round(width * ch / cw))), Image.Resampling.BILINEAR)


def write_pet_archive(
    path: str,
    images_per_class: int,
    faults: Mapping[str, int],
    seed: int = 0,
    prefix: str = "",
    max_width: int = 500,
) -> dict[str, str]:
    """Writes a PetImages-layout zip; returns {member: expected outcome} for its image files.

    `faults` says how many files of each fault kind (names of `FAULTS`) each class gets,
    on top of its clean photos; files are numbered like the real ones (0.jpg, 1.jpg, ...).
    """
    expected: dict[str, str] = {}
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in PET_EXTRAS.items():
            _write(archive, prefix + name, data)
        for class_index, (kind, folder) in enumerate((("cat", "Cat"), ("dog", "Dog"))):
            stream = photos(kind, seed * 2 + class_index, max_width)
            plan = ["clean_jfif"] * images_per_class + [f for f, n in faults.items() for _ in range(n)]
            order = rng.permutation(len(plan))
            for number, index in enumerate(order):
                fault = plan[index]
                make, outcome = FAULTS[fault]
                photo = next(stream)
                data = make(photo) if fault != "clean_jfif" else jpeg_bytes(photo, quality=int(rng.integers(70, 93)))
                member = f"{prefix}PetImages/{folder}/{number}.jpg"
                _write(archive, member, data)
                expected[member] = outcome
            _write(archive, f"{prefix}PetImages/{folder}/Thumbs.db", thumbs_db(None))
    return expected


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    archive.writestr(zipfile.ZipInfo(name, FIXED_TIME), data, compress_type=zipfile.ZIP_DEFLATED)
