"""Distinct procedural photos with planted copies: the ground truth for the duplicates report.

The replicas are cut from a handful of real photos, so they are full of near duplicates by
construction; precision can only be measured on images known to be distinct. Each image
here is drawn from its own seed (a gradient, a low-frequency texture, random shapes), and
a chosen few are copied under other names in one of the ways web datasets repeat photos.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import io
import itertools
import multiprocessing
from collections.abc import Callable, Generator, Iterator, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

from clean_images.testing.faults import jpeg_bytes


def distinct_photo(seed: int, width: int = 480, height: int = 360) -> Image.Image:
    """A photo-like image of its own: a two-colour gradient, a smooth texture and 3 to 12 shapes."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xs / width + np.sin(angle) * ys / height + 1.0) / 2.0
    start, end = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    pixels = start + ramp[..., None] * (end - start)
    coarse = rng.normal(0, 40, (height // 40 + 2, width // 40 + 2, 3)).astype(np.float32)
    texture = np.asarray(Image.fromarray(coarse[..., 0]).resize((width, height), Image.Resampling.BICUBIC))
    pixels += texture[..., None] * rng.uniform(0.3, 1.0, 3)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.integers(3, 13)):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(20, max(21, width // 2))), y0 + int(rng.integers(20, max(21, height // 2)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = rng.integers(3)
        if shape == 0:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            points = [(int(rng.integers(0, width)), int(rng.integers(0, height))) for _ in range(3)]
            draw.polygon(points, fill=colour)
    noise = rng.normal(0, 4, (height, width, 3))
    return Image.fromarray(np.clip(np.asarray(image, np.float32) + noise, 0, 255).astype(np.uint8))


def distinct_photos(
    seed: int, max_width: int, min_width: int, aspects: Sequence[float], batch: int = 256
) -> Generator[Image.Image, None, None]:
    """Endless distinct photos (`distinct_photo`, each from its own seed), drawn on every core
    (~30 ms each at 500 x 375), in order: width min_width..max_width, height / width drawn from
    `aspects` (above 1: portrait, the drawn width its long side)."""
    rng = np.random.default_rng(seed)
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold TensorFlow's threads
    with concurrent.futures.ProcessPoolExecutor(mp_context=context) as pool:
        for start in itertools.count(0, batch):
            sizes = []
            for _ in range(batch):
                aspect, width = float(rng.choice(aspects)), int(rng.integers(min_width, max_width + 1))
                sizes.append((width, max(1, round(width * aspect))) if aspect <= 1 else (max(1, round(width / aspect)), width))
            seeds = range(seed * 1_000_000_007 + start, seed * 1_000_000_007 + start + batch)
            yield from pool.map(_drawn, seeds, sizes, chunksize=32)


def _drawn(seed: int, size: tuple[int, int]) -> Image.Image:
    return distinct_photo(seed, *size)


def _reencoded(data: bytes, rng: np.random.Generator) -> bytes:
    return jpeg_bytes(_opened(data), quality=int(rng.integers(50, 96)))


def _resized(data: bytes, rng: np.random.Generator) -> bytes:
    image = _opened(data)
    scale = rng.uniform(0.5, 0.9)
    return jpeg_bytes(image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS), 90)


def _cropped(data: bytes, rng: np.random.Generator) -> bytes:
    image = _opened(data)
    left, top, right, bottom = (rng.uniform(0.02, 0.04) for _ in range(4))  # 2-4% off each side
    box = (round(image.width * left), round(image.height * top),
           round(image.width * (1 - right)), round(image.height * (1 - bottom)))
    return jpeg_bytes(image.crop(box), 90)


def _brightened(data: bytes, rng: np.random.Generator) -> bytes:
    image = ImageEnhance.Brightness(_opened(data)).enhance(rng.uniform(0.9, 1.1))
    return jpeg_bytes(ImageEnhance.Contrast(image).enhance(rng.uniform(0.9, 1.1)), 90)


def _opened(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


# kind -> (how the copy's bytes are made, whether the copy goes to another class)
COPIES: dict[str, tuple[Callable[[bytes, np.random.Generator], bytes] | None, bool]] = {
    "exact": (None, False),
    "exact-other-class": (None, True),
    "reencoded": (_reencoded, False),
    "resized": (_resized, False),
    "cropped": (_cropped, False),
    "brightened": (_brightened, False),
}


@dataclasses.dataclass(frozen=True)
class Planted:
    """One planted copy: `copy` repeats `original` (both (class, index) of the generated set)."""

    kind: str
    original: tuple[str, int]
    copy: tuple[str, int]

    @property
    def exact(self) -> bool:
        return self.kind.startswith("exact")


def copy_plan(
    originals: Sequence[tuple[str, int]], classes: Sequence[str], copies_per_kind: int, rng: np.random.Generator
) -> Iterator[tuple[str, Callable[[bytes, np.random.Generator], bytes] | None, tuple[str, int], str]]:
    """(kind, how its bytes are made, original, class of the copy) for `copies_per_kind` copies of each
    kind of `COPIES`, each from another of `originals` ((class, index) pairs, drawn with `rng`); a copy to
    another class goes to the next one of `classes`."""
    order = rng.permutation(len(originals))
    for k, (kind, (make, other_class)) in enumerate(COPIES.items()):
        for j in range(copies_per_kind):
            original = originals[order[k * copies_per_kind + j]]
            home = classes[(classes.index(original[0]) + 1) % len(classes)] if other_class else original[0]
            yield kind, make, original, home


def planted_set(
    classes: tuple[str, ...], per_class: int, copies_per_kind: int, seed: int = 0
) -> tuple[dict[tuple[str, int], bytes], list[Planted]]:
    """`per_class` distinct JPEGs per class, then `copies_per_kind` copies of each kind added.

    Returns {(class, index): JPEG bytes} and what was planted. Originals are distinct
    images never copied twice, so every planted pair is exactly one duplicate group.
    """
    rng = np.random.default_rng(seed)
    images = {
        (name, i): jpeg_bytes(distinct_photo(seed * 1_000_003 + c * 100_000 + i), quality=90)
        for c, name in enumerate(classes)
        for i in range(per_class)
    }
    planted = []
    for n, (kind, make, original, home) in enumerate(copy_plan(list(images), classes, copies_per_kind, rng)):
        copy = (home, per_class + n)
        images[copy] = images[original] if make is None else make(images[original], rng)
        planted.append(Planted(kind, original, copy))
    return images, planted
