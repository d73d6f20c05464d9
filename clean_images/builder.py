"""The base class of both builders: it owns generation, the datasets only declare what they are.

A dataset subclasses `CleanImageBuilder` and declares its homepage, its own features, its
manual-download steps and, in `_plan_splits`, how to recognise its files: given where the
data is (the embedded sample, the manual_dir or the download), it returns a `DatasetPlan`
per split (the images to sanitize and every other file with a reason). The base class
finds the data, sanitizes on every core (or on Beam), applies the config's hooks
(`clean_images.hooks`), records every outcome, checks that the counts add up, and stores
the build report in the dataset metadata.
"""

from __future__ import annotations

import abc
import collections
import contextlib
import dataclasses
import functools
import importlib
import inspect
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from typing import Any, ClassVar, TypeVar

import numpy as np
import tensorflow_datasets as tfds
from absl import logging
from etils import epath

from clean_images import examples, generation, manual_dir, tfrecord
from clean_images import report as report_lib
from clean_images.duplicates import Duplicates
from clean_images.errors import ManualDirError, NothingFoundError, WeightsError
from clean_images.hooks import BatchTransform, DatasetPass, ImageTransform, Observation, ObservationLog
from clean_images.plan import DatasetPlan, SplitPlan


@dataclasses.dataclass
class CleanImageConfig(tfds.core.BuilderConfig):
    """A config: built from the embedded sample or the real data, and the hooks it applies."""

    sample: bool = False  # built from the archive shipped in the package (offline, seconds)
    image_transform: ImageTransform | None = None  # per kept image (e.g. stored at training size)
    batch_transform: BatchTransform | None = None  # features computed in batches (e.g. a CNN)


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


@dataclasses.dataclass
class _Build:
    """The state of one `download_and_prepare` call, filled as generation goes."""

    given_manual_dir: str | None
    use_beam: bool
    report: report_lib.BuildReport = dataclasses.field(default_factory=report_lib.BuildReport)
    handed_out: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    observations: dict[str, ObservationLog] = dataclasses.field(default_factory=dict)  # by pass metadata key
    timings: dict[str, generation.SplitTiming] = dataclasses.field(default_factory=dict)
    beam_splits: list[str] = dataclasses.field(default_factory=list)
    summaries: futures.Future[dict[str, Any]] | None = None  # the passes', started early (in-process builds)


class CleanImageBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):  # type: ignore[call-arg]
    """Sanitized images, an exact build report, checksums in `checksums/`."""

    # Declared by each dataset.
    HOMEPAGE: ClassVar[str]
    SAMPLE_ARCHIVE: ClassVar[str]  # the embedded sample, relative to the dataset's package
    EXPECTED: ClassVar[str]  # what a manual_dir must hold, for error messages
    MANUAL_STEPS: ClassVar[str]  # how to get the data by hand, for error messages
    DOWNLOAD_URL: ClassVar[str | None] = None  # None: manual download only
    # Run on every config that stores images; a dataset may add its own or opt out.
    DATASET_PASSES: ClassVar[tuple[DatasetPass, ...]] = (Duplicates(),)

    def __init_subclass__(cls, **kwargs: Any):
        """Configs take their image transform's version (it decides their bytes), else the dataset's
        VERSION: TFDS's "closely match" list for a mistyped config compares name:version, and with
        no version on the configs it lists none of them."""
        for config in vars(cls).get("BUILDER_CONFIGS", ()):
            if config.version is not None:
                continue
            transform = config.image_transform
            if transform is not None and transform.version is not None:
                config.version, config.release_notes = transform.version, transform.release_notes
            else:
                config.version = cls.VERSION
        super().__init_subclass__(**kwargs)

    @abc.abstractmethod
    def _label_features(self) -> dict[str, tfds.features.FeatureConnector]:
        """The dataset's own features beside the image ones (at least `label`)."""

    @abc.abstractmethod
    def _plan_splits(self, data: epath.Path) -> DatasetPlan:
        """What to do with every file of `data` (a zip or a folder), per split; reads no image."""

    def __init__(self, *, weights: str | None = None, **kwargs: Any):
        """`weights`: the model weights file of a features config (other configs ignore it).

        From Python: `tfds.builder("pet_images/sample-efficientnetb0", weights="/path/b0.weights.h5")`;
        from the CLI: `tfds build "pet_images/sample-efficientnetb0/weights=/path/b0.weights.h5"`.
        Reading a built dataset never needs it.
        """
        super().__init__(**kwargs)
        self.weights = weights
        self._build: _Build | None = None
        self._batch_transform: BatchTransform | None = None  # the config's, made ready to build
        self.split_timings: dict[str, generation.SplitTiming] = {}  # of the last in-process build

    @property
    def builder_config(self) -> CleanImageConfig:
        config = super().builder_config
        assert isinstance(config, CleanImageConfig)
        return config

    @functools.cached_property
    def info(self) -> tfds.core.DatasetInfo:
        """TFDS's own, cached on the builder: TFDS caches it in one `functools.lru_cache` for
        the class, which keeps every builder ever made alive, and with it its metadata (the
        build report and the duplicate groups). Each `tfds.load` or `training_pipeline` call
        held on to ~10 MiB more of a 25k-image dataset full of duplicates, for the life of the
        process (measured); now a builder and its info go when it does."""
        return _TFDS_INFO(self)

    @tfds.core.utils.classproperty
    @classmethod
    def _checksums_path(cls) -> epath.Path:
        """The one checksums file of this dataset: `checksums/<name>.tsv` (also for --register_checksums)."""
        return checksums_file(cls.name)

    def _info(self) -> tfds.core.DatasetInfo:
        batch = self.builder_config.batch_transform
        if batch is not None:
            features = tfds.features.FeaturesDict({
                **batch.features(),
                **self._label_features(),
                "image/filename": image_features()["image/filename"],
                "image/repair": image_features()["image/repair"],
            })
            supervised_keys = (next(iter(batch.features())), "label")
        else:
            features = image_features(**self._label_features())
            supervised_keys = ("image", "label")
        return self.dataset_info_from_configs(
            features=features, supervised_keys=supervised_keys, homepage=self.HOMEPAGE, metadata=tfds.core.MetadataDict()
        )

    def _example_writer(self) -> tfds.core.writer.ExampleWriter:
        """Same input, same shard bytes; TFRecord shards without importing TensorFlow (see
        `clean_images.tfrecord`)."""
        return tfrecord.ExampleWriter(self.info.file_format)

    @property
    def _passes(self) -> tuple[DatasetPass, ...]:
        """Dataset passes look at the stored images: not for configs that store features instead."""
        return () if self.builder_config.batch_transform is not None else self.DATASET_PASSES

    def download_and_prepare(self, *, download_config: tfds.download.DownloadConfig | None = None, **kwargs: Any) -> None:
        """TFDS's, after a features config has found its weights (before any work) or, when the
        data is there to be reused, checked that it was built with the weights asked for."""
        mode = (download_config or tfds.download.DownloadConfig()).download_mode
        transform = self.builder_config.batch_transform
        if transform is not None:
            if self.is_prepared() and not mode.overwrite_dataset:
                self._check_built_with_asked_weights(transform)
            else:
                self._batch_transform = transform.ready(self.weights, f"{self.name}/{self.builder_config.name}")
        with self._previous_build_kept_until_success(mode):
            try:
                super().download_and_prepare(download_config=download_config, **kwargs)
            except BaseException:
                self._remove_empty_version_folders()
                raise

    @contextlib.contextmanager
    def _previous_build_kept_until_success(self, mode: tfds.download.GenerateMode) -> Iterator[None]:
        """Asked to overwrite (`download_mode=FORCE_REDOWNLOAD`), TFDS deletes the existing build
        before anything is checked: a build that then stops on bad input (a wrong manual_dir, CSVs
        and files that disagree) would cost the user a good dataset. It is moved aside instead, put
        back if the new build fails, and deleted once it succeeds. (`tfds build --overwrite`
        deletes it itself, before this runs.)"""
        current = epath.Path(self.data_path)
        aside = current.parent / f".{current.name}.being-overwritten"  # not a version name: TFDS ignores it
        if aside.exists() and current.exists():  # left by a build killed after its new data was in place
            aside.rmtree()
        elif aside.exists():  # left by a build killed before: the earlier build is the one to have
            aside.rename(current)
        if not (mode.overwrite_dataset and current.exists()):
            yield
            return
        current.rename(aside)
        try:
            yield
        except BaseException:
            if not current.exists():
                aside.rename(current)
                logging.warning("The build failed: the earlier build in %s was kept.", current)
            raise
        aside.rmtree()

    def _remove_empty_version_folders(self) -> None:
        """A failed build leaves TFDS's empty `<name>/<config>/` folder behind, which later reads warn
        about ("no dataset_info.json"): nothing was built, so nothing should be there."""
        for folder in (epath.Path(self.data_path), epath.Path(self.data_path).parent):
            try:
                if folder.exists() and not any(folder.iterdir()):
                    folder.rmdir()
            except OSError:  # a remote file system, or another build just started there: leave it
                return

    def _check_built_with_asked_weights(self, transform: BatchTransform) -> None:
        """Builder kwargs do not change the data directory: refuse to pass off other weights' features as asked."""
        if self.weights is None:
            return  # reading needs no weights
        built = self.info.metadata.get("batch_transform", {})
        if not transform.built_with(self.weights, built):
            raise WeightsError(
                f"{self.data_path} holds features made with other weights ({built.get('weights')}, SHA-256 "
                f"{built.get('weights_sha256')}) than {self.weights}. Read it without `weights`, rebuild it with "
                "`tfds build ... --overwrite` (Python: download_mode=tfds.download.GenerateMode.FORCE_REDOWNLOAD "
                "in the DownloadConfig), or build into another data_dir."
            )

    def _download_and_prepare(self, dl_manager, download_config) -> None:  # pytype: disable=signature-mismatch
        self._build = build = _Build(
            given_manual_dir=os.fspath(download_config.manual_dir) if download_config.manual_dir else None,
            use_beam=bool(download_config.beam_options or download_config.beam_runner),
            observations={p.metadata_key: ObservationLog(p) for p in self._passes},
        )
        if build.use_beam:
            super()._download_and_prepare(dl_manager, _beam().with_local_runner(download_config))
        elif download_config.max_examples_per_split != 0:  # TFDS's own: 0 writes nothing
            self._write_splits_in_process(dl_manager, download_config)

        if download_config.max_examples_per_split is None:  # a capped build stops mid-stream
            written = {name: split.num_examples for name, split in self.info.splits.items()}
            report_lib.check_accounting(build.report, build.handed_out, written)
        stored = build.report.to_json()
        self.info.metadata[report_lib.METADATA_KEY] = stored
        print("\n" + report_lib.format_table(stored), flush=True)
        summaries = build.summaries.result() if build.summaries is not None else self._summarize_passes()
        for dataset_pass in self._passes:
            summary = summaries[dataset_pass.metadata_key]
            self.info.metadata[dataset_pass.metadata_key] = summary
            if line := dataset_pass.summary_line(summary):
                print(line, flush=True)
        if self.builder_config.image_transform is not None:
            self.info.metadata["image_transform"] = self.builder_config.image_transform.metadata()
        if self._batch_transform is not None:
            self.info.metadata["batch_transform"] = self._batch_transform.metadata()
        self.split_timings = build.timings
        for split, timing in build.timings.items():
            print(timing.describe(split), flush=True)

    def _write_splits_in_process(
        self, dl_manager: tfds.download.DownloadManager, download_config: tfds.download.DownloadConfig
    ) -> None:
        """What TFDS's `_download_and_prepare` does in process, with a faster serializer (see `generation.write_split`).

        Once the last split's examples are all out, the passes summarize in a thread while TFDS
        writes that split's shards: grouping duplicates runs in faiss' C code, mostly without the GIL.
        """
        generators = self._split_generators(dl_manager)
        last = list(generators)[-1] if generators else None
        written = []
        for split, split_examples in generators.items():
            if split == last and self._passes:
                split_examples = _then(split_examples, self._summarize_in_background)
            written.append(generation.write_split(
                split, split_examples, self.info.features, self._get_filename_template(split), download_config,
                tfrecord.ExampleWriter(self.info.file_format, presorted=True), self.info.disable_shuffling,
            ))
        self.info.set_splits(tfds.core.SplitDict(written))

    def _summarize_passes(self) -> dict[str, Any]:
        """Every pass's metadata entry, from all splits' observations in key order."""
        observations = self._current_build.observations
        return {p.metadata_key: p.summarize(_in_key_order(observations[p.metadata_key].all())) for p in self._passes}

    def _summarize_in_background(self) -> None:
        """A daemon thread: if writing the shards fails meanwhile, exiting does not wait for it."""
        summaries: futures.Future[dict[str, Any]] = futures.Future()

        def summarize() -> None:
            try:
                summaries.set_result(self._summarize_passes())
            except BaseException as e:  # pylint: disable=broad-except  # re-raised by result(), on the main thread
                summaries.set_exception(e)

        threading.Thread(target=summarize, name="summarize", daemon=True).start()
        self._current_build.summaries = summaries

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        plan = self._locate_and_plan(dl_manager)
        if plan.label_names is not None:
            self.info.features["label"].names = plan.label_names
        for key, value in plan.metadata.items():
            self.info.metadata[key] = value
        return {split: self._generate_examples(split, split_plan) for split, split_plan in plan.splits.items()}

    def _generate_examples(self, split: str, plan: SplitPlan):  # pytype: disable=signature-mismatch
        """(key, example) for the kept images: in process on every core, or as a Beam PTransform."""
        build = self._current_build
        for recorded in plan.recorded:
            build.report[split].record(recorded.path, recorded.outcome, recorded.reason, recorded.detail)
        build.handed_out[split] += len(plan.entries)
        work = examples.Work(self.builder_config.image_transform, self._passes)
        batch = self._batch_transform
        if build.use_beam:
            build.beam_splits.append(split)
            return _beam().CleanExamples(plan.entries, work, batch, self._records_prefix(split))
        return generation.generate(
            split, plan.entries, work, batch, build.report[split], build.observations, build.timings
        )

    @property
    def _current_build(self) -> _Build:
        if self._build is None:
            raise RuntimeError("generation runs inside download_and_prepare")
        return self._build

    def _locate_and_plan(self, dl_manager: tfds.download.DownloadManager) -> DatasetPlan:
        """Plans from the embedded sample, else the manual_dir, else the download (if there is one)."""
        if self.builder_config.sample:
            return self._plan_splits(self._sample_path())
        given = self._current_build.given_manual_dir
        default = None if given is not None else _default_manual_dir(dl_manager)
        found = manual_dir.resolve(given, default, self.EXPECTED, self.MANUAL_STEPS)
        if found is not None:
            try:
                return self._plan_splits(found)
            except NothingFoundError as e:
                if given is not None or self.DOWNLOAD_URL is None:
                    raise ManualDirError(f"{e} Expected {self.EXPECTED}.\n{self.MANUAL_STEPS}") from None
                logging.info("The default manual_dir %s holds no %s data: downloading.", found, self.name)
        if self.DOWNLOAD_URL is None:
            raise ManualDirError(
                f"{self.name} needs a manual download and the default manual_dir "
                f"{dl_manager._manual_dir} is empty. "  # pylint: disable=protected-access
                f"Expected {self.EXPECTED}.\n{self.MANUAL_STEPS}"
            )
        return self._plan_splits(manual_dir.download(dl_manager, self.DOWNLOAD_URL, self.MANUAL_STEPS))

    def _sample_path(self) -> epath.Path:
        """The embedded sample, in the package of the class that declares it (subclasses may live elsewhere)."""
        owner = next(c for c in type(self).__mro__ if "SAMPLE_ARCHIVE" in vars(c))
        package = owner.__module__.rpartition(".")[0] or owner.__module__
        return epath.resource_path(package) / self.SAMPLE_ARCHIVE

    def _records_prefix(self, split: str) -> str:
        """Beam workers' report records go inside the dataset's temporary directory, then are removed."""
        return os.fspath(epath.Path(self.data_dir) / f"build-report-{split}")

    def _process_pipeline_result(self, pipeline_result) -> None:
        """After the Beam pipeline: fold every worker's records into the build report."""
        super()._process_pipeline_result(pipeline_result)
        build = self._current_build
        for split in build.beam_splits:
            for record in _beam().pop_records(self._records_prefix(split)):
                label, observed = record.pop("label"), record.pop("observed")
                build.report[split].record_sanitized(**record)
                for key, value in observed.items():
                    build.observations[key].append(Observation(split, record["path"], label, value))


def _default_manual_dir(dl_manager: tfds.download.DownloadManager) -> epath.Path | None:
    """TFDS's manual_dir (what --manual_dir gave, or `<data_dir>/downloads/manual`) if it holds anything."""
    try:
        return epath.Path(dl_manager.manual_dir)
    except AssertionError:  # TFDS: missing or empty
        return None


def checksums_file(dataset_name: str) -> epath.Path:
    """`checksums/<name>.tsv`, installed as `clean_images.checksums`; from a source tree that is
    not installed (or installed elsewhere), the repository's own `checksums/` folder."""
    try:
        checksums = importlib.import_module("clean_images.checksums")  # mapped by package_dir: see setup.cfg
    except ImportError:
        return epath.Path(__file__).parent.parent / "checksums" / f"{dataset_name}.tsv"
    return checksums.path_for(dataset_name)


_T = TypeVar("_T")


def _then(items: Iterable[_T], callback: Callable[[], None]) -> Iterator[_T]:
    """`items`, then `callback()` once they are all out (not when the consumer stops early)."""
    yield from items
    callback()


def _in_key_order(observations: list[Observation]) -> list[Observation]:
    """The same order whichever path built them: train first, then by filename."""
    return sorted(observations, key=lambda o: (o.split != "train", o.split, o.filename))


# `DatasetBuilder.info` without its caches (see `CleanImageBuilder.info`).
_TFDS_INFO = inspect.unwrap(tfds.core.DatasetBuilder.info.fget)


def _beam():
    """The Beam path, imported only when used: apache_beam costs ~0.4 s to import."""
    from clean_images import beam_generation  # pylint: disable=g-import-not-at-top

    return beam_generation
