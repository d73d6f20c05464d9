"""landmark_images: Dacon Korean landmark classification (2020), however the archive arrived."""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

import tensorflow_datasets as tfds
from etils import epath

from clean_images import CleanImageBuilder, CleanImageConfig, DatasetPlan, errors, manual_dir
from clean_images.features import EfficientNetB0Features
from clean_images.resize import ShorterSide
from landmark_images import dacon

_AT_256 = ShorterSide(256, quality=90)
_B0 = EfficientNetB0Features()

_MANUAL_STEPS = """\
  1. Log in at https://dacon.io and open the competition "랜드마크 분류 AI 경진대회"
     (https://dacon.io/competitions/official/235585/data), accept its rules.
  2. Download the data (one zip, or train.zip, test.zip and the CSV files).
  3. Put what you downloaded, as is or extracted, in a folder, e.g. ~/dacon_landmark:
       ~/dacon_landmark/open.zip                                   (the single archive, any name), or
       ~/dacon_landmark/{train.zip,test.zip,train.csv,category.csv,sample_submission.csv}, or
       ~/dacon_landmark/{train/,test/,train.csv,category.csv,sample_submission.csv}
     Names may be UTF-8 (NFC or macOS NFD) or CP949; CSVs UTF-8, UTF-8 with BOM or CP949.
  4. Run: tfds build landmark_images --config full --manual_dir ~/dacon_landmark --imports landmark_images
If files and CSV rows disagree, the build stops and lists them; to build without them:
  tfds build landmark_images/full/skip_mismatches=True --imports landmark_images --manual_dir ..."""


@dataclasses.dataclass
class LandmarkConfig(CleanImageConfig):
    """A config knows how many classes its category.csv must list."""

    num_classes: int = 1049


class Builder(CleanImageBuilder):
    """DatasetBuilder for landmark_images."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release: train (88,102 labelled) and test (37,964 unlabelled)."}
    BUILDER_CONFIGS = [  # samples first: `tfds build landmark_images` (every config) builds them before `full` fails offline
        LandmarkConfig(
            name="sample",
            sample=True,
            num_classes=6,
            description="A mini-archive shipped in the package: real class names and ids of 6 "
            "landmarks (renumbered 0-5), a CP949 zip with awkward names and faulty files.",
        ),
        LandmarkConfig(
            name="sample-256px", sample=True, num_classes=6, image_transform=_AT_256,
            description=f"The shipped mini-archive, stored at training size. {_AT_256.describe()}",
        ),
        LandmarkConfig(name="full", description="The complete Dacon data (manual download)."),
        LandmarkConfig(
            name="256px", image_transform=_AT_256,
            description=f"The complete Dacon data (manual download), stored at training size. {_AT_256.describe()}",
        ),
        LandmarkConfig(  # features last: they need model weights (the builder kwarg `weights`, or Keras' cache)
            name="sample-efficientnetb0", sample=True, num_classes=6, batch_transform=_B0,
            description=f"The shipped mini-archive as CNN features. {_B0.describe()}",
        ),
        LandmarkConfig(
            name="efficientnetb0", batch_transform=_B0,
            description=f"The complete Dacon data (manual download) as CNN features (~16 GB). {_B0.describe()}",
        ),
    ]
    DEFAULT_BUILDER_CONFIG_NAME = "full"  # tfds.load("NAME") means the real data
    MANUAL_DOWNLOAD_INSTRUCTIONS = _MANUAL_STEPS

    HOMEPAGE = "https://dacon.io/competitions/official/235585/overview/description"
    SAMPLE_ARCHIVE = "sample/dacon_landmark_sample.zip"
    MANUAL_STEPS = _MANUAL_STEPS
    EXPECTED = (
        "the Dacon landmark data in one of these shapes: the single zip Dacon serves; train.zip and "
        "test.zip beside train.csv, category.csv and sample_submission.csv; or the extracted tree "
        "(train/<region>/<landmark>/<id>.JPG, test/<c>/<id>.JPG or test/<id>.JPG, and the CSVs)"
    )

    def __init__(self, *, skip_mismatches: bool = False, **kwargs: Any):
        """`skip_mismatches=True` builds without the files/rows that disagree (recorded) instead of failing.

        From the CLI: `tfds build landmark_images/full/skip_mismatches=True --imports landmark_images`;
        from Python: `tfds.builder("landmark_images", skip_mismatches=True)`.
        """
        super().__init__(**kwargs)
        self.skip_mismatches = skip_mismatches

    @property
    def builder_config(self) -> LandmarkConfig:
        config = super().builder_config
        assert isinstance(config, LandmarkConfig)
        return config

    def _label_features(self) -> dict[str, tfds.features.FeatureConnector]:
        return {
            "label": tfds.features.ClassLabel(num_classes=self.builder_config.num_classes),
            "region": tfds.features.Text(doc="City/province folder, e.g. 서울시 ('' for test)."),
            "id": tfds.features.Text(doc="Dacon image id, as in train.csv / sample_submission.csv."),
        }

    def _plan_splits(self, data: epath.Path) -> DatasetPlan:
        contents = manual_dir.contents(data, {})
        files = dacon.files_in(contents)
        tables = dacon.read_tables(files, self.builder_config.num_classes)
        plans, mismatches = dacon.plan(files, tables)
        for source in [contents.folder, *contents.zips]:
            for name, why in source.refused if source is not None else []:
                plans[dacon.split_of(name)].record_refused([(name, why)])
        if mismatches and not self.skip_mismatches:
            rerun = f"--manual_dir {shlex.quote(str(data))} --data_dir {shlex.quote(str(self._data_dir_root))}"
            raise errors.MismatchError(mismatches.describe(rerun))
        mismatches.record_in(plans)
        options = {"skip_mismatches": self.skip_mismatches}
        return DatasetPlan(plans, label_names=tables.categories, metadata={"build_options": options})
