"""What both dataset builders share: parallel sanitation, the build report, checksums.

A builder subclasses `CleanImageBuilder`, lists its files as `Entry`s and yields from
`clean_examples`; the base class validates/repairs them on every core, keeps the output
order stable, records every outcome, and stores the report in the dataset metadata.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import socket
import sys
import time
import urllib.parse
from concurrent import futures
from typing import Any, Callable, Iterable, Iterator, TypeVar

import numpy as np
import tensorflow_datasets as tfds
from absl import logging
from etils import epath

import checksums
from clean_images import report as report_lib
from clean_images import sources
from clean_images import tfrecord
from clean_images.entries import Entry, example_of, read_and_sanitize
from clean_images.sources import Source

_T = TypeVar("_T")
_R = TypeVar("_R")


def _beam():
    """The Beam path, imported only when used: apache_beam costs ~0.4 s to import."""
    from clean_images import beam_generation  # pylint: disable=g-import-not-at-top

    return beam_generation


def worker_count() -> int:
    """Cores this process may use (honours taskset/cgroup affinity, unlike cpu_count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ordered_map(fn: Callable[[_T], _R], items: Iterable[_T]) -> Iterator[tuple[_T, _R]]:
    """Applies `fn` on a thread pool, yielding (item, result) in input order.

    At most a few items per worker are in flight, so memory stays bounded however long
    the input is. Threads suffice because decoding and decompression release the GIL; one
    more thread than cores keeps every core decoding while another thread waits for the GIL
    (the consumer, TFDS's serializer, holds it often): measured 8% faster on 2 cores.
    """
    workers = worker_count() + 1
    window = 8 * workers
    with futures.ThreadPoolExecutor(workers, thread_name_prefix="sanitize") as pool:
        pending: collections.deque = collections.deque()
        for item in items:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) >= window:
                done_item, future = pending.popleft()
                yield done_item, future.result()
        while pending:
            done_item, future = pending.popleft()
            yield done_item, future.result()


def image_features(**extra: tfds.features.FeatureConnector) -> tfds.features.FeaturesDict:
    """The image features every dataset here has, plus its own labels."""
    return tfds.features.FeaturesDict(
        {
            "image": tfds.features.Image(shape=(None, None, 3), encoding_format="jpeg"),
            **extra,
            "image/filename": tfds.features.Text(doc="Path of the source file, e.g. PetImages/Cat/0.jpg."),
            "image/height": tfds.features.Scalar(np.int32, doc="Height in pixels."),
            "image/width": tfds.features.Scalar(np.int32, doc="Width in pixels."),
            "image/repair": tfds.features.Text(
                doc="Empty when the bytes are the source file's own; otherwise what was repaired."
            ),
        }
    )


@dataclasses.dataclass(frozen=True)
class SplitTiming:
    """How long one split's in-process generation took: read, validate, serialize (not the shard writing)."""

    image_files: int
    seconds: float
    peak_rss_mib: float  # of the whole process so far (splits are built one after the other); 0: unknown

    def describe(self, split: str) -> str:
        rate = self.image_files / self.seconds if self.seconds else 0.0
        memory = f"; peak RSS so far {self.peak_rss_mib:,.0f} MiB" if self.peak_rss_mib else ""
        return (f"{split}: {self.image_files:,} image files read, validated and serialized in {self.seconds:.1f} s "
                f"({rate:,.0f}/s){memory}")


def _peak_rss_mib() -> float:
    try:
        import resource  # pylint: disable=g-import-not-at-top  # not on Windows
    except ImportError:
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


class CleanImageBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base class: sanitized images, an exact build report, checksums in `checksums/`."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.split_timings: dict[str, SplitTiming] = {}  # in-process builds; not stored (not reproducible)

    @tfds.core.utils.classproperty
    @classmethod
    def _checksums_path(cls) -> epath.Path:
        """The one checksums file of this dataset: `checksums/<name>.tsv` (also for --register_checksums)."""
        return checksums.path_for(cls.name)

    def _example_writer(self) -> tfds.core.writer.ExampleWriter:
        """Same input, same shard bytes; TFRecord shards without importing TensorFlow (see
        `clean_images.tfrecord`)."""
        return tfrecord.ExampleWriter(self.info.file_format)

    def _download_and_prepare(self, dl_manager, download_config) -> None:  # pytype: disable=signature-mismatch
        self._report = report_lib.BuildReport()
        self._given_manual_dir = download_config.manual_dir
        self._use_beam = bool(download_config.beam_options or download_config.beam_runner)
        self._beam_splits: list[str] = []
        self._entries_seen: collections.Counter = collections.Counter()
        self.split_timings = {}
        if self._use_beam:
            download_config = _beam().with_local_runner(download_config)

        super()._download_and_prepare(dl_manager, download_config)
        if download_config.max_examples_per_split is None:  # a capped build stops mid-stream
            self._check_accounting()
        build_report = self._report.to_json()
        self.info.metadata[report_lib.METADATA_KEY] = build_report
        print("\n" + report_lib.format_table(build_report), flush=True)
        for split, timing in self.split_timings.items():
            print(timing.describe(split), flush=True)

    def _check_accounting(self) -> None:
        """Three independent counts must agree: entries handed out, verdicts back, examples written."""
        for split, split_report in self._report.splits.items():
            kept = split_report.counts[report_lib.STORED] + split_report.counts[report_lib.REPAIRED]
            written = self.info.splits[split].num_examples if split in self.info.splits else 0
            if split_report.sanitized != self._entries_seen[split] or kept != written:
                raise AssertionError(
                    f"Build report of split {split!r} does not add up: {self._entries_seen[split]} images "
                    f"handed to sanitation, {split_report.sanitized} verdicts, {kept} kept, {written} "
                    "examples written. Nothing was published; please report this bug."
                )

    def record_ignored(self, split: str, member: str, reason: str) -> None:
        """Counts a file that is not an image of the dataset (Thumbs.db, a licence PDF)."""
        self._report[split].record(member, report_lib.IGNORED, reason)

    def record_skipped(self, split: str, member: str, reason: str) -> None:
        """An image file that is deliberately not read (a second file for the same example key)."""
        self._report[split].record(member, report_lib.SKIPPED, reason)

    def record_refused(self, source: Source, split_of: Callable[[str], str]) -> None:
        """Files the source would not hand out (unsafe paths, name twins): reported, never read."""
        for name, why in source.refused:
            outcome = report_lib.SKIPPED if sources.is_image_name(name) else report_lib.IGNORED
            self._report[split_of(name)].record(name, outcome, why)

    def _counted(self, split: str, entries: Iterable[Entry]) -> Iterator[Entry]:
        for entry in entries:
            self._entries_seen[split] += 1
            yield entry

    def clean_examples(self, split: str, entries: Iterable[Entry]) -> Iterable[tuple[str, dict[str, Any]]]:
        """(key, example) for the entries kept: in process on every core, or as a Beam PTransform."""
        if self._use_beam:
            self._beam_splits.append(split)
            entries = list(self._counted(split, entries))
            return _beam().CleanExamples(entries, self._beam_report_prefix(split))
        return self._clean_examples_in_process(split, self._counted(split, entries))

    def _clean_examples_in_process(self, split: str, entries: Iterable[Entry]) -> Iterator[tuple[str, dict[str, Any]]]:
        split_report = self._report[split]
        started = time.perf_counter()
        for entry, verdict in ordered_map(read_and_sanitize, entries):
            split_report.record_verdict(entry.filename, verdict)
            if verdict.jpeg is not None:
                yield entry.filename, example_of(entry, verdict)
        self.split_timings[split] = SplitTiming(split_report.sanitized, time.perf_counter() - started, _peak_rss_mib())

    def _beam_report_prefix(self, split: str) -> str:
        """Workers' report records go inside the dataset's temporary directory, then are removed."""
        return os.fspath(epath.Path(self.data_dir) / f"build-report-{split}")

    def _process_pipeline_result(self, pipeline_result) -> None:
        """After the Beam pipeline: fold every worker's records into the build report."""
        super()._process_pipeline_result(pipeline_result)
        for split in self._beam_splits:
            for record in _beam().pop_report_records(self._beam_report_prefix(split)):
                self._report[split].record_sanitized(**record)


class ManualDirError(ValueError):
    """manual_dir was given but holds nothing this dataset can be built from."""


class ArchiveChecksumError(ValueError):
    """A file has the size of a registered archive but not its SHA-256."""


class DownloadFailedError(RuntimeError):
    """The download failed; the message says how to use --manual_dir instead."""


def download_or_explain(dl_manager: tfds.download.DownloadManager, url: str, steps: str) -> epath.Path:
    """Downloads `url` (checksum-validated by TFDS); any failure ends in the manual steps."""
    try:
        _check_host_resolves(url)
        return epath.Path(dl_manager.download(url))
    except Exception as e:  # pylint: disable=broad-except  # every failure has the same remedy
        raise DownloadFailedError(
            f"Downloading {url} failed: {e}\n\nThis URL has broken before (404s, empty replies). "
            f"Get the archive by hand and build from it with --manual_dir:\n{steps}"
        ) from e


def _check_host_resolves(url: str) -> None:
    """Fails at once when the host has no address (offline), instead of after TFDS's ~3.5
    minutes of retries. Skipped behind a proxy, which resolves names itself."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        socket.getaddrinfo(host, 443)
    except socket.gaierror as e:
        raise ConnectionError(f"cannot resolve {host} ({e}): no network here?") from e


def find_manual_source(
    builder: CleanImageBuilder,
    dl_manager: tfds.download.DownloadManager,
    *,
    looks_like_dataset: Callable[[list[str]], bool],
    folder_names: tuple[str, ...],
    expected: str,
    steps: str,
) -> Source | None:
    """Finds the dataset in manual_dir: a registered zip, else the extracted folder, else any zip.

    Returns None when no manual_dir was given and the default one holds nothing (the caller
    then downloads). A manual_dir given on purpose must hold the data, or this raises.
    """
    manual_dir = existing_manual_dir(builder, dl_manager, expected, steps)
    if manual_dir is None:
        return None
    given = builder._given_manual_dir  # pylint: disable=protected-access
    listing = manual_files(manual_dir)

    registered = {info.size: (url, info.checksum) for url, info in (builder.url_infos or {}).items()}
    known_zips, folders, other_zips, seen = [], [], [], []
    for path in listing:
        seen.append(path.name + ("/" if path.is_dir() else ""))
        if path.is_dir():
            folders += [f for f in map(_prefixed_folder, _candidate_folders(path, folder_names)) if looks_like_dataset(f.members())]
        elif is_zip(path):
            source = _open_zip_candidate(path, registered)
            if looks_like_dataset(source.members()):
                (known_zips if path.stat().length in registered else other_zips).append(source)
    if manual_dir.name in folder_names and looks_like_dataset((itself := _prefixed_folder(manual_dir)).members()):
        folders.append(itself)

    if known_zips:
        return known_zips[0]
    if folders:
        logging.warning(
            "Building from the folder %s: an extracted folder cannot be checksum-validated%s.",
            folders[0].root,
            f"; ignoring the unregistered zip(s) beside it: {[str(z.path) for z in other_zips]}" if other_zips else "",
        )
        return folders[0]  # already listed while looking: the listing is not walked twice
    if other_zips:
        logging.warning("Building from %s: not a registered archive, so it is not checksum-validated.", other_zips[0].path)
        return other_zips[0]
    if given is not None:
        raise ManualDirError(
            f"manual_dir {manual_dir} holds none of the expected data. Found: {', '.join(seen[:20])}"
            f"{' ...' if len(seen) > 20 else ''}. Expected {expected}.\n{steps}"
        )
    logging.info("The default manual_dir %s holds no %s data: downloading.", manual_dir, builder.name)
    return None


def existing_manual_dir(
    builder: CleanImageBuilder, dl_manager: tfds.download.DownloadManager, expected: str, steps: str
) -> epath.Path | None:
    """manual_dir if it exists and holds something; None if none was given and the default is empty.

    A manual_dir given on purpose (--manual_dir) that is missing or empty is an error.
    """
    given = builder._given_manual_dir  # pylint: disable=protected-access
    if given is not None and epath.Path(given).is_file():
        return epath.Path(given)  # people point at the downloaded zip itself: fine too
    try:
        return epath.Path(dl_manager.manual_dir)  # TFDS raises when it is missing or empty
    except AssertionError:
        if given is None:
            return None
        state = "is empty" if epath.Path(given).is_dir() else "does not exist"
        raise ManualDirError(f"manual_dir {given} {state}. Expected {expected}.\n{steps}") from None


def manual_files(manual_dir: epath.Path) -> list[epath.Path]:
    """What manual_dir holds, or the file itself when manual_dir points at a file."""
    return [manual_dir] if manual_dir.is_file() else sorted(manual_dir.iterdir())


def _candidate_folders(path: epath.Path, folder_names: tuple[str, ...]) -> list[epath.Path]:
    """The folder itself if it has a dataset name, or such a folder one level below it."""
    if path.name in folder_names:
        return [path]
    return [path / name for name in folder_names if (path / name).is_dir()]


def _prefixed_folder(folder: epath.Path) -> sources.FolderSource:
    """The extracted `PetImages/` folder, its members named as in the zip (`PetImages/Cat/0.jpg`)."""
    return sources.FolderSource(folder, prefix=folder.name + "/")


def is_zip(path: epath.Path) -> bool:
    """By content, not by name: browsers save the same archive as `download (1)` too."""
    with path.open("rb") as f:
        return f.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def _open_zip_candidate(path: epath.Path, registered: dict[int, tuple[str, str]]) -> sources.ZipSource:
    """Opens a zip; one with a registered size must also have the registered SHA-256."""
    size = path.stat().length
    if size in registered:
        url, expected_sha = registered[size]
        actual_sha = sources.sha256_of(path)
        if actual_sha != expected_sha:
            raise ArchiveChecksumError(
                f"{path} has the size of {url} but its SHA-256 is {actual_sha}, not {expected_sha}: "
                "the file is damaged or altered. Download it again (or remove it from manual_dir)."
            )
    return sources.ZipSource(path)  # a damaged zip is an error: it is most likely a cut download
