"""One image to turn into an example, and the example it becomes: shared by both build paths."""

from __future__ import annotations

import dataclasses
from typing import Any

from clean_images.sanitize import REPAIRED, Verdict
from clean_images.sources import MemberRef


@dataclasses.dataclass(frozen=True)
class Entry:
    """Where an image file is and what it is labelled (picklable, for Beam workers too)."""

    ref: MemberRef
    filename: str  # canonical relative path: the example key and `image/filename`
    features: dict[str, Any]


def example_of(entry: Entry, verdict: Verdict) -> dict[str, Any]:
    """The TFDS example of a kept image: its clean JPEG, labels and provenance."""
    return {
        "image": verdict.jpeg,
        **entry.features,
        "image/filename": entry.filename,
        "image/height": verdict.height,
        "image/width": verdict.width,
        "image/repair": verdict.reason if verdict.outcome == REPAIRED else "",
    }
