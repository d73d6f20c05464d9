"""The build report: every input file accounted for, per split, kept in the dataset metadata.

It lives in `info.metadata["build_report"]` (TFDS writes it to `metadata.json` beside
`dataset_info.json`), so it is readable with `tfds.load(..., with_info=True)` and
`tfds.builder_from_directory` long after the build, and printed by
`python -m clean_images.report NAME_OR_DIR [--outcome OUTCOME]` (`clean_images.report_cli`).
"""

from __future__ import annotations

import collections
import dataclasses
import re
import warnings
from collections.abc import Mapping
from typing import Any

from clean_images.errors import AccountingError
from clean_images.sanitize import REPAIRED, SKIPPED, STORED

IGNORED = "ignored"  # a file that is not an image of the dataset (Thumbs.db, a PDF)
MISSING = "missing"  # a metadata row (e.g. a train.csv id) with no image file
OUTCOMES = (STORED, REPAIRED, SKIPPED)
LISTED = (REPAIRED, SKIPPED, IGNORED, MISSING)  # the outcomes whose files the report lists (stored ones are only counted)
METADATA_KEY = "build_report"

# `python -m clean_images.report` imports the package first, whose builder imports this module, so
# runpy warns that the module it is about to run as __main__ is already imported. Expected here
# (the __main__ copy only hands over to `clean_images.report_cli`): silence that one message only.
warnings.filterwarnings("ignore", message=r"'clean_images\.report' found in sys\.modules", category=RuntimeWarning)


@dataclasses.dataclass
class SplitReport:
    """Counts for one split, plus the list of files that were not stored as is."""

    counts: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    reasons: dict[str, collections.Counter] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    files: list[dict[str, str]] = dataclasses.field(default_factory=list)
    sanitized: int = 0  # verdicts received: checked against the entries handed out

    def record(self, path: str, outcome: str, reason: str = "", detail: str = "") -> None:
        self.counts[outcome] += 1
        if outcome != STORED:
            self.reasons[outcome][reason] += 1
            self.files.append(
                {"path": path, "outcome": outcome, "reason": reason, "detail": detail}
            )

    def record_sanitized(self, path: str, outcome: str, reason: str = "", detail: str = "") -> None:
        self.sanitized += 1
        self.record(path, outcome, reason, detail)

    @property
    def image_files(self) -> int:
        return sum(self.counts[o] for o in OUTCOMES)

    def to_json(self) -> dict[str, Any]:
        return {
            "image_files": self.image_files,
            **{o: self.counts[o] for o in (*OUTCOMES, IGNORED, MISSING)},
            "reasons": {o: dict(sorted(self.reasons[o].items())) for o in (REPAIRED, SKIPPED, IGNORED, MISSING)},
            "files": sorted(self.files, key=lambda f: f["path"]),
        }


class BuildReport:
    """Per-split reports; the builders fill it while generating, then store it."""

    def __init__(self) -> None:
        self.splits: dict[str, SplitReport] = collections.defaultdict(SplitReport)

    def __getitem__(self, split: str) -> SplitReport:
        return self.splits[split]

    def to_json(self) -> dict[str, Any]:
        ordered = sorted(self.splits.items(), key=lambda item: (item[0] != "train", item[0]))
        return {split: report.to_json() for split, report in ordered}


def format_table(report: Mapping[str, Any], max_files: int = 10) -> str:
    """Renders a stored report (the JSON form) as the short table `tfds build` prints."""
    columns = [STORED, REPAIRED, SKIPPED, IGNORED] + ([MISSING] if any(r[MISSING] for r in report.values()) else [])
    lines = ["Build report", f"{'split':<8}{'images':>9}" + "".join(f"{c:>10}" for c in columns)]
    for split, r in report.items():
        lines.append(f"{split:<8}{r['image_files']:>9}" + "".join(f"{r[c]:>10}" for c in columns))
    for split, r in report.items():
        for outcome in (REPAIRED, SKIPPED, IGNORED, MISSING):
            for reason, count in r["reasons"].get(outcome, {}).items():
                lines.append(f"  {split} {outcome:<8} {count:>6}  {reason}")
    files = [f for r in report.values() for f in r["files"]]
    for f in files[:max_files]:
        lines.append(f"  {f['outcome']:<8} {f['path']}: {f['reason']}")
    if len(files) > max_files:
        lines.append(f"  ... and {len(files) - max_files} more in info.metadata['{METADATA_KEY}']")
    return "\n".join(lines)


def check_accounting(report: BuildReport, handed_out: Mapping[str, int], written: Mapping[str, int]) -> None:
    """Three independent counts must agree per split: images handed to sanitation, verdicts
    received, and examples written (= stored + repaired). Raises AccountingError otherwise."""
    for split in sorted(set(report.splits) | set(handed_out)):
        split_report = report[split]
        kept = split_report.counts[STORED] + split_report.counts[REPAIRED]
        if split_report.sanitized != handed_out.get(split, 0) or kept != written.get(split, 0):
            raise AccountingError(
                f"Build report of split {split!r} does not add up: {handed_out.get(split, 0)} images handed "
                f"to sanitation, {split_report.sanitized} verdicts, {kept} kept, {written.get(split, 0)} "
                "examples written. Nothing was published; please report this bug."
            )


def files_with_outcome(report: Mapping[str, Any], outcome: str) -> list[tuple[str, dict[str, str]]]:
    """(split, file) for every file the stored report lists with `outcome`, all of them (the table
    shows the first few). Stored files are counted, not listed: read them from the examples."""
    if outcome not in LISTED:
        raise ValueError(f"The build report lists the files of outcomes {', '.join(LISTED)}, not {outcome!r}.")
    return [(split, f) for split, r in report.items() for f in r["files"] if f["outcome"] == outcome]


def format_rows(rows: list[tuple[str, dict[str, str]]]) -> str:
    """One line per file, tab-separated (split, path, reason, detail): readable, and `cut -f2` gives the paths."""
    return "\n".join("\t".join(_one_line(v) for v in (split, f["path"], f["reason"], f["detail"])) for split, f in rows)


def _one_line(text: str) -> str:
    """Tabs, newlines and other control characters escaped (a file name may hold any), so one file stays one line."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


if __name__ == "__main__":  # python -m clean_images.report
    from clean_images import report_cli  # pylint: disable=g-import-not-at-top

    raise SystemExit(report_cli.main())
