"""The Beam path: the same per-image work as in process, distributed in groups of 16 images.

`tfds build ... --beam_pipeline_options=...` makes the builders return `CleanExamples`
instead of the in-process generator. Entries (picklable `MemberRef`s, not bytes) are
reshuffled across workers; each worker reads its images from the archive or folder itself
(so the data must be on storage every worker sees, e.g. `gs://`) and runs
`clean_images.examples.process` on them. Each bundle writes its files' report records (and
what dataset passes observed) next to the dataset; they are folded into the build report
once the pipeline is done, so the report equals the in-process one. A batch transform runs
after `BatchElements`, with its model loaded once per worker (`DoFn.setup`).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import apache_beam as beam
from etils import epath
from tensorflow_datasets.core import download

from clean_images import examples as examples_lib
from clean_images.examples import Work
from clean_images.hooks import BatchTransform, DatasetPass
from clean_images.plan import Entry

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
    _quiet_local_beam(download_config.beam_options)
    return dataclasses.replace(download_config, beam_runner=FnApiRunner())


def _quiet_local_beam(options) -> None:
    """A local build of 92 files printed ~100 lines of Beam's INFO logs (type hints converted, servers
    started, workers' channels opened): warnings and errors only, unless the user set a level."""
    import logging as std_logging  # pylint: disable=g-import-not-at-top

    from apache_beam.options import pipeline_options  # pylint: disable=g-import-not-at-top

    beam_logger = std_logging.getLogger("apache_beam")
    if beam_logger.level == std_logging.NOTSET:
        beam_logger.setLevel(std_logging.WARNING)
    workers = options.view_as(pipeline_options.WorkerOptions)
    if workers.default_sdk_harness_log_level is None:
        workers.default_sdk_harness_log_level = "WARNING"


class _ProcessFn(beam.DoFn):
    """Runs the per-image work on a group of images; emits the kept examples, keeps their records.

    Each bundle's records go to one file of their own, written when the bundle finishes
    (renamed into place, so a file is whole or absent). A retried bundle writes its records
    again under another name: `pop_records` keeps one record per path. This costs no
    pipeline stage, where a text sink would add five, each a barrier across the workers.
    """

    def __init__(self, work: Work, records_prefix: str):
        self._work = work
        self._records_prefix = records_prefix

    def start_bundle(self) -> None:
        self._records: list[str] = []

    def process(self, group: list[Entry]) -> Iterator[tuple[str, dict[str, Any]]]:
        done = [examples_lib.process(entry, self._work) for entry in group]
        for entry, processed, observed in zip(group, done, _condensed(self._work.passes, [p.observed for p in done])):
            record = {**processed.record(), "label": entry.features.get("label"), **_observed_as_json(observed)}
            self._records.append(json.dumps(record, ensure_ascii=False))
            if processed.example is not None:
                yield entry.filename, processed.example

    def finish_bundle(self) -> None:
        if self._records:
            path = epath.Path(f"{self._records_prefix}-{uuid.uuid4().hex}")
            path.with_suffix(".tmp").write_text("\n".join(self._records) + "\n", encoding="utf-8")
            path.with_suffix(".tmp").rename(path.with_suffix(".jsonl"))
            self._records = []


class _BatchTransformFn(beam.DoFn):
    """Applies a batch transform to batches of (key, example); its setup runs once per worker."""

    def __init__(self, transform: BatchTransform):
        self._transform = transform

    def setup(self) -> None:
        self._transform.setup()

    def process(self, batch: list[tuple[str, dict[str, Any]]]) -> Iterator[tuple[str, dict[str, Any]]]:
        keys = [key for key, _ in batch]
        yield from zip(keys, examples_lib.apply_batch(self._transform, [example for _, example in batch]))


class CleanExamples(beam.PTransform):
    """PTransform yielding (key, example) for `entries`; their records go to `records_prefix`."""

    def __init__(self, entries: list[Entry], work: Work, batch_transform: BatchTransform | None, records_prefix: str):
        super().__init__()
        self._entries = entries
        self._work = work
        self._batch_transform = batch_transform
        self._records_prefix = records_prefix

    def expand(self, pipeline):
        examples = (
            pipeline
            | "ListImages" >> beam.Create(_groups(self._entries), reshuffle=False)
            | "SpreadOverWorkers" >> beam.Reshuffle()
            | "Process" >> beam.ParDo(_ProcessFn(self._work, self._records_prefix))
        )
        if self._batch_transform is None:
            return examples
        size = self._batch_transform.batch_size
        return (
            examples
            | "Batch" >> beam.BatchElements(min_batch_size=size, max_batch_size=size)
            | "BatchTransform" >> beam.ParDo(_BatchTransformFn(self._batch_transform))
        )


def _condensed(passes: Sequence[DatasetPass], observed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A group's observations condensed by their passes, as the in-process log condenses them, so
    the records the driver reads back stay small (duplicates: 84 bytes an image, not 4,112)."""
    result = [dict(o) for o in observed]
    for dataset_pass in passes:
        key = dataset_pass.metadata_key
        having = [i for i, o in enumerate(observed) if key in o]
        for i, value in zip(having, dataset_pass.condense([observed[i][key] for i in having])):
            result[i][key] = value
    return result


def _groups(entries: list[Entry], size: int = GROUP_SIZE) -> list[list[Entry]]:
    return [entries[start : start + size] for start in range(0, len(entries), size)]


def _observed_as_json(observed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What dataset passes observed, for a JSON record: bytes (such as the duplicates pass's
    thumbnails) in base64 under `observed_bytes`, other values as they are under `observed`."""
    return {
        "observed": {k: v for k, v in observed.items() if not isinstance(v, bytes)},
        "observed_bytes": {k: base64.b64encode(v).decode("ascii") for k, v in observed.items() if isinstance(v, bytes)},
    }


def _observed_from_json(record: dict[str, Any]) -> dict[str, Any]:
    return {**record.pop("observed"), **{k: base64.b64decode(v) for k, v in record.pop("observed_bytes").items()}}


def pop_records(records_prefix: str) -> Iterator[dict[str, Any]]:
    """The workers' records, one per path (a retried bundle repeats its own); then deletes the files.

    Each record: the report fields, `label`, and `observed` (what each dataset pass saw).
    """
    prefix = epath.Path(records_prefix)
    records: dict[str, dict[str, Any]] = {}
    for shard in sorted(prefix.parent.glob(prefix.name + "-*")):
        if shard.suffix == ".jsonl":
            for line in shard.read_text(encoding="utf-8").splitlines():
                if line:
                    record = json.loads(line)
                    record["observed"] = _observed_from_json(record)
                    records[record["path"]] = record
        shard.unlink()  # unfinished .tmp files of failed bundles too
    yield from records.values()
