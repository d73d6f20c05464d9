"""One image to turn into an example, the work on it, and the example it becomes.

Shared by both build paths: the in-process thread pool and Beam workers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from clean_images.sanitize import REPAIRED, SKIPPED, Verdict, sanitize
from clean_images.sources import MemberRef, OversizedMemberError


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


def read_and_sanitize(entry: Entry) -> Verdict:
    """The per-image work: read the file (a zip bomb is refused by the reader) and decide its fate."""
    try:
        data = entry.ref.read()
    except OversizedMemberError as e:
        return Verdict(SKIPPED, "file too large", str(e))
    return sanitize(data)
