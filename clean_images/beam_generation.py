"""The Beam path: the same per-image sanitation, distributed one image per element.

`tfds build ... --beam_pipeline_options=...` makes the builders return `CleanExamples`
instead of the in-process generator. Entries (picklable `MemberRef`s, not bytes) are
reshuffled across workers; each worker reads its images from the archive or folder itself
(so the data must be on storage every worker sees, e.g. `gs://`), sanitizes them with
`clean_images.sanitize`, and emits the examples plus one report record per file. The
records are written next to the dataset and folded into the build report once the
pipeline is done, so the report equals the in-process one.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Iterator

import apache_beam as beam
from etils import epath
from tensorflow_datasets.core import download

from clean_images.entries import Entry, example_of, read_and_sanitize

METRICS_NAMESPACE = "clean_images"
_REPORT = "report"


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
    """Reads and sanitizes one image; emits its example (if kept) and its report record."""

    def __init__(self, split: str):
        self._split = split

    def process(self, entry: Entry) -> Iterator[Any]:
        verdict = read_and_sanitize(entry)
        beam.metrics.Metrics.counter(METRICS_NAMESPACE, f"{self._split}/{verdict.outcome}").inc()
        yield beam.pvalue.TaggedOutput(
            _REPORT,
            json.dumps(
                {"path": entry.filename, "outcome": verdict.outcome, "reason": verdict.reason, "detail": verdict.detail},
                ensure_ascii=False,
            ),
        )
        if verdict.jpeg is not None:
            yield entry.filename, example_of(entry, verdict)


class CleanExamples(beam.PTransform):
    """PTransform yielding (key, example) for `entries`; report records go to `report_prefix`."""

    def __init__(self, split: str, entries: list[Entry], report_prefix: str):
        super().__init__()
        self._split = split
        self._entries = entries
        self._report_prefix = report_prefix

    def expand(self, pipeline):
        outputs = (
            pipeline
            | "ListImages" >> beam.Create(self._entries, reshuffle=False)
            | "SpreadOverWorkers" >> beam.Reshuffle()
            | "Sanitize" >> beam.ParDo(_SanitizeFn(self._split)).with_outputs(_REPORT, main="examples")
        )
        _ = outputs[_REPORT] | "WriteReport" >> beam.io.WriteToText(self._report_prefix, file_name_suffix=".jsonl")
        return outputs.examples


def pop_report_records(report_prefix: str) -> Iterator[dict[str, str]]:
    """Reads the records the workers wrote, then deletes them (they are not part of the dataset)."""
    prefix = epath.Path(report_prefix)
    for shard in sorted(prefix.parent.glob(prefix.name + "*.jsonl")):
        for line in shard.read_text(encoding="utf-8").splitlines():
            if line:
                yield json.loads(line)
        shard.unlink()
