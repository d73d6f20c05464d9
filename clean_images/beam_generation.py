"""The Beam path: the same per-image sanitation, distributed in groups of 16 images.

`tfds build ... --beam_pipeline_options=...` makes the builders return `CleanExamples`
instead of the in-process generator. Entries (picklable `MemberRef`s, not bytes) are
reshuffled across workers; each worker reads its images from the archive or folder itself
(so the data must be on storage every worker sees, e.g. `gs://`), sanitizes them with
`clean_images.sanitize`, and emits the examples; each bundle writes its files' report
records next to the dataset, folded into the build report once the pipeline is done, so
the report equals the in-process one.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any, Iterator

import apache_beam as beam
from etils import epath
from tensorflow_datasets.core import download

from clean_images.entries import Entry, example_of, read_and_sanitize

# Images per element: small enough to spread evenly over workers, large enough that Beam's
# per-element cost (encode, shuffle, decode; ~100 us in the local runner) is noise.
GROUP_SIZE = 16


def with_local_runner(download_config: download.DownloadConfig) -> download.DownloadConfig:
    """Runs `runner=DirectRunner` (or no runner) on Beam's FnApiRunner directly.

    Beam 2.77's DirectRunner first tries the Prism runner, whose binary it downloads: offline
    that is a failed download and a logged stack trace before it falls back to the
    FnApiRunner anyway. The FnApiRunner honours the same direct_num_workers and
    direct_running_mode options, so the result is the same, minus the detour.
    """
    if download_config.beam_runner is not None or download_config.beam_options is None:
        return download_config
    from apache_beam.options import pipeline_options  # pylint: disable=g-import-not-at-top
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner  # pylint: disable=g-import-not-at-top

    runner = download_config.beam_options.view_as(pipeline_options.StandardOptions).runner
    if runner not in (None, "DirectRunner", "SwitchingDirectRunner"):
        return download_config
    return dataclasses.replace(download_config, beam_runner=FnApiRunner())


class _SanitizeFn(beam.DoFn):
    """Reads and sanitizes a group of images; emits their examples (if kept), keeps their report records.

    Each bundle's records go to one file of their own, written when the bundle finishes
    (renamed into place, so a file is whole or absent). A retried bundle writes its records
    again under another name: `pop_report_records` keeps one record per path. This costs no
    pipeline stage, where a text sink would add five, each a barrier across the workers.
    """

    def __init__(self, report_prefix: str):
        self._report_prefix = report_prefix

    def start_bundle(self) -> None:
        self._records: list[str] = []

    def process(self, group: list[Entry]) -> Iterator[tuple[str, dict[str, Any]]]:
        for entry in group:
            verdict = read_and_sanitize(entry)
            self._records.append(json.dumps(
                {"path": entry.filename, "outcome": verdict.outcome, "reason": verdict.reason, "detail": verdict.detail},
                ensure_ascii=False,
            ))
            if verdict.jpeg is not None:
                yield entry.filename, example_of(entry, verdict)

    def finish_bundle(self) -> None:
        if self._records:
            path = epath.Path(f"{self._report_prefix}-{uuid.uuid4().hex}")
            path.with_suffix(".tmp").write_text("\n".join(self._records) + "\n", encoding="utf-8")
            path.with_suffix(".tmp").rename(path.with_suffix(".jsonl"))
            self._records = []


class CleanExamples(beam.PTransform):
    """PTransform yielding (key, example) for `entries`; report records go to `report_prefix`."""

    def __init__(self, entries: list[Entry], report_prefix: str):
        super().__init__()
        self._entries = entries
        self._report_prefix = report_prefix

    def expand(self, pipeline):
        return (
            pipeline
            | "ListImages" >> beam.Create(_groups(self._entries), reshuffle=False)
            | "SpreadOverWorkers" >> beam.Reshuffle()
            | "Sanitize" >> beam.ParDo(_SanitizeFn(self._report_prefix))
        )


def _groups(entries: list[Entry], size: int = GROUP_SIZE) -> list[list[Entry]]:
    return [entries[start : start + size] for start in range(0, len(entries), size)]


def pop_report_records(report_prefix: str) -> Iterator[dict[str, str]]:
    """The workers' records, one per path (a retried bundle repeats its own); then deletes the files."""
    prefix = epath.Path(report_prefix)
    records: dict[str, dict[str, str]] = {}
    for shard in sorted(prefix.parent.glob(prefix.name + "-*")):
        if shard.suffix == ".jsonl":
            for line in shard.read_text(encoding="utf-8").splitlines():
                if line:
                    record = json.loads(line)
                    records[record["path"]] = record
        shard.unlink()  # unfinished .tmp files of failed bundles too
    yield from records.values()
