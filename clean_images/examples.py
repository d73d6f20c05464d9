"""The work on one image, shared by both build paths (the in-process pool and Beam workers):
read it, decide its fate, observe it, transform it, and make the example TFDS stores."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from clean_images.errors import OversizedMemberError
from clean_images.hooks import BatchTransform, DatasetPass, Image, ImageTransform
from clean_images.plan import Entry
from clean_images.sanitize import REPAIRED, SKIPPED, DecodeSize, Verdict, sanitize


@dataclasses.dataclass(frozen=True)
class Work:
    """What a config does to every kept image, besides sanitizing it (picklable, for Beam)."""

    transform: ImageTransform | None = None
    passes: tuple[DatasetPass, ...] = ()


@dataclasses.dataclass(frozen=True)
class Processed:
    """One image file after the work: its verdict (bytes dropped), its example if kept, what passes saw."""

    filename: str
    verdict: Verdict
    example: dict[str, Any] | None
    observed: dict[str, Any]

    def record(self) -> dict[str, str]:
        """Its line in the build report."""
        v = self.verdict
        return {"path": self.filename, "outcome": v.outcome, "reason": v.reason, "detail": v.detail}


def read_and_sanitize(entry: Entry, decode_size: DecodeSize | None = None) -> Verdict:
    """Reads the file (a zip bomb is refused by the reader) and decides its fate."""
    try:
        data = entry.ref.read()
    except OversizedMemberError as e:
        return Verdict(SKIPPED, "file too large", str(e))
    return sanitize(data, decode_size)


def process(entry: Entry, work: Work) -> Processed:
    """The per-image work: sanitize, let passes observe the sanitized image, transform, build the example."""
    verdict = read_and_sanitize(entry, work.transform.decode_size if work.transform is not None else None)
    if verdict.jpeg is None:
        return Processed(entry.filename, verdict, None, {})
    image = Image(verdict.jpeg, verdict.height, verdict.width, verdict.pixels)
    observed = {p.metadata_key: p.observe(image) for p in work.passes}
    if work.transform is not None:
        image = work.transform(image)
    example = {
        "image": image.jpeg,
        **entry.features,
        "image/filename": entry.filename,
        "image/height": image.height,
        "image/width": image.width,
        "image/repair": verdict.reason if verdict.outcome == REPAIRED else "",
    }
    return Processed(entry.filename, dataclasses.replace(verdict, jpeg=None, pixels=None), example, observed)


def apply_batch(transform: BatchTransform, examples: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replaces `image` (and its size) in each example by the features computed from it."""
    images = [Image(e["image"], e["image/height"], e["image/width"]) for e in examples]
    computed = transform(images)
    if len(computed) != len(images):
        raise ValueError(f"{type(transform).__name__} returned {len(computed)} results for {len(images)} images")
    dropped = ("image", "image/height", "image/width")
    return [{**{k: v for k, v in e.items() if k not in dropped}, **c} for e, c in zip(examples, computed)]
