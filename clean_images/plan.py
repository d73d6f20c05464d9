"""What a dataset hands to the base builder: per split, the images to sanitize and the files
accounted for without being read. Deciding this reads no image, so it is cheap and testable."""

from __future__ import annotations

import dataclasses
from typing import Any

from clean_images import report, sources
from clean_images.sources import MemberRef


@dataclasses.dataclass(frozen=True)
class Entry:
    """Where an image file is and what it is labelled (picklable, for Beam workers too)."""

    ref: MemberRef
    filename: str  # canonical relative path: the example key and `image/filename`
    features: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Recorded:
    """A file (or metadata row) accounted for without being read: ignored, skipped or missing."""

    path: str
    outcome: str
    reason: str
    detail: str = ""


@dataclasses.dataclass
class SplitPlan:
    """One split: the images to sanitize, in key order of arrival, and everything else."""

    entries: list[Entry] = dataclasses.field(default_factory=list)
    recorded: list[Recorded] = dataclasses.field(default_factory=list)
    _first_member: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)

    def add(self, entry: Entry, member: str) -> None:
        """Adds an image; a second file for the same example key is skipped with a reason."""
        first = self._first_member.setdefault(entry.filename, member)
        if first != member:
            self.skip(member, f"same example as {first}: only the first is read")
        else:
            self.entries.append(entry)

    def ignore(self, path: str, reason: str) -> None:
        """A file that is not an image of the dataset (Thumbs.db, a licence PDF)."""
        self.recorded.append(Recorded(path, report.IGNORED, reason))

    def skip(self, path: str, reason: str, detail: str = "") -> None:
        """An image file deliberately not read."""
        self.recorded.append(Recorded(path, report.SKIPPED, reason, detail))

    def record_refused(self, refused: list[tuple[str, str]]) -> None:
        """Files a source would not hand out (unsafe paths, name twins): reported, never read."""
        for name, why in refused:
            if sources.is_image_name(name):
                self.skip(name, why)
            else:
                self.ignore(name, why)


@dataclasses.dataclass
class DatasetPlan:
    """Every split's plan, plus what the metadata learnt (class names read from a CSV)."""

    splits: dict[str, SplitPlan]
    label_names: list[str] | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
