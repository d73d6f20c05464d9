"""In-process generation: every core sanitizes, examples leave in input order, TFDS's Writer
shuffles and shards them, and each split reports how long it took (printed, never stored:
timings are not reproducible)."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

import tensorflow_datasets as tfds
from tensorflow_datasets.core import naming, utils
from tensorflow_datasets.core import writer as writer_lib

from clean_images import examples as examples_lib
from clean_images.examples import Work
from clean_images.hooks import BatchTransform, Observation, ObservationLog
from clean_images.parallel import ordered_map
from clean_images.plan import Entry
from clean_images.report import SplitReport
from clean_images.serializer import SortedExampleSerializer


@dataclasses.dataclass(frozen=True)
class SplitTiming:
    """How long one split's in-process generation took: read, validate, serialize (not the shard writing)."""

    image_files: int  # read and validated
    seconds: float
    peak_rss_mib: float  # of the whole process so far (splits are built one after the other); 0: unknown
    unread: int = 0  # image files the plan skipped unread (unsafe paths, links, twins): in the report's count

    def describe(self, split: str) -> str:
        rate = self.image_files / self.seconds if self.seconds else 0.0
        memory = f"; peak RSS so far {self.peak_rss_mib:,.0f} MiB" if self.peak_rss_mib else ""
        unread = f" ({self.unread:,} more skipped unread)" if self.unread else ""
        return (f"{split}: {self.image_files:,} image files read, validated and serialized{unread} in "
                f"{self.seconds:.1f} s ({rate:,.0f}/s){memory}")


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB (0 where the OS does not say)."""
    try:
        import resource  # pylint: disable=g-import-not-at-top  # not on Windows
    except ImportError:
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def generate(
    split: str,
    entries: Iterable[Entry],
    work: Work,
    batch_transform: BatchTransform | None,
    report: SplitReport,
    observations: dict[str, ObservationLog],
    timings: dict[str, SplitTiming],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(key, example) of the kept images; every verdict goes to `report`, what each pass saw to `observations[its key]`."""
    started = time.perf_counter()
    kept = _kept_examples(split, entries, work, report, observations)
    if batch_transform is not None:
        yield from _in_batches(batch_transform, kept)
    else:
        yield from kept
    seconds = time.perf_counter() - started
    timings[split] = SplitTiming(report.sanitized, seconds, peak_rss_mib(), report.image_files - report.sanitized)


def write_split(
    split: str,
    examples: Iterable[tuple[str, dict[str, Any]]],
    features: tfds.features.FeaturesDict,
    filename_template: naming.ShardedFileTemplate,
    download_config: tfds.download.DownloadConfig,
    example_writer: writer_lib.ExampleWriter,
    disable_shuffling: bool = False,
) -> tfds.core.SplitInfo:
    """Encodes, serializes and writes one split's examples as TFDS's own in-process build does,
    with TFDS's Writer (shuffle, shards, file names), but our serializer (`clean_images.serializer`):
    TFDS hard-codes its own there, whose Python held the GIL ~15 % of a build."""
    writer = writer_lib.Writer(
        serializer=SortedExampleSerializer(features.get_serialized_info()),
        filename_template=filename_template,
        hash_salt=split,
        disable_shuffling=disable_shuffling,
        example_writer=example_writer,
        shard_config=download_config.get_shard_config(),
        ignore_duplicates=download_config.ignore_duplicates,
    )
    if download_config.max_examples_per_split is not None:
        examples = itertools.islice(examples, download_config.max_examples_per_split)
    progress = utils.tqdm(examples, desc=f"Generating {split} examples...", unit=" examples", leave=False, mininterval=1.0)
    for key, example in progress:
        writer.write(key, features.encode_example(example))
    shard_lengths, total_size = writer.finalize()
    return tfds.core.SplitInfo(
        name=split, shard_lengths=shard_lengths, num_bytes=total_size, filename_template=filename_template
    )


def _kept_examples(
    split: str, entries: Iterable[Entry], work: Work, report: SplitReport, observations: dict[str, ObservationLog]
) -> Iterator[tuple[str, dict[str, Any]]]:
    for entry, processed in ordered_map(functools.partial(examples_lib.process, work=work), entries):
        report.record_sanitized(**processed.record())
        for key, value in processed.observed.items():
            observations[key].append(Observation(split, entry.filename, entry.features.get("label"), value))
        if processed.example is not None:
            yield entry.filename, processed.example


def _in_batches(
    transform: BatchTransform, kept: Iterator[tuple[str, dict[str, Any]]]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Batches of `transform.batch_size`, `transform.concurrent_batches` of them computed at once, in order."""
    transform.setup()
    batches = _chunked(kept, transform.batch_size)
    workers = transform.concurrent_batches
    for batch, computed in ordered_map(functools.partial(_transformed, transform), batches, workers=workers,
                                       window_per_worker=1, chunk_size=1):
        yield from zip((key for key, _ in batch), computed)


def _chunked(items: Iterator[tuple[str, dict[str, Any]]], size: int) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    batch: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _transformed(transform: BatchTransform, batch: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return examples_lib.apply_batch(transform, [example for _, example in batch])
