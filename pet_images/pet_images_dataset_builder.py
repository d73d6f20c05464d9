"""pet_images: Microsoft's Cats-vs-Dogs photos (PetImages), every file accounted for."""

from __future__ import annotations

import collections
import re

import tensorflow_datasets as tfds
from etils import epath

from clean_images import CleanImageBuilder, CleanImageConfig, DatasetPlan, Entry, SplitPlan, errors, manual_dir, sources
from clean_images.features import EfficientNetB0Features
from clean_images.resize import ShorterSide

_BASE_URL = "https://download.microsoft.com/download/3/E/1/3E1C3F21-ECDB-4869-8368-6DEBA77B919F/"
DOWNLOAD_URL = _BASE_URL + "kagglecatsanddogs_5340.zip"

# `PetImages/Cat/0.jpg`, possibly below a top folder the archive was re-packed with.
_MEMBER = re.compile(r"^(?:.*/)?PetImages/(cat|dog)/([^/]+)$", re.IGNORECASE)

_AT_256 = ShorterSide(256, quality=90)
_B0 = EfficientNetB0Features()

_MANUAL_STEPS = f"""\
  1. Download the archive in a browser: {DOWNLOAD_URL}
     (the page https://www.microsoft.com/en-us/download/details.aspx?id=54765 links it).
  2. Put it in a folder of your choice under any name (e.g. ~/pets/kagglecatsanddogs_5340.zip),
     or extract it there so that ~/pets/PetImages/Cat and ~/pets/PetImages/Dog exist.
  3. Run: tfds build pet_images --config full --manual_dir ~/pets --imports pet_images
A known official zip (5340 or 3367a) is checksum-validated; another zip or a folder is
accepted with a warning."""


class Builder(CleanImageBuilder):
    """DatasetBuilder for pet_images."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {
        "1.0.0": "Initial release: clean JPEGs byte-for-byte, faulty files repaired or skipped "
        "with a reason, build report in the metadata.",
    }
    # Samples first: `tfds build pet_images` (every config, in this order, stopping at the first
    # failure) builds both offline before `full` asks for the archive; features last, as they
    # need model weights (the builder kwarg `weights`, or Keras' cache).
    BUILDER_CONFIGS = [
        CleanImageConfig(
            name="sample",
            sample=True,
            description="A small archive shipped in the package, with one file of every fault kind: "
            "builds offline in seconds.",
        ),
        CleanImageConfig(
            name="sample-256px", sample=True, image_transform=_AT_256,
            description=f"The shipped sample, stored at training size. {_AT_256.describe()}",
        ),
        CleanImageConfig(
            name="full", description="The complete Microsoft archive (25,000 image files; the bad ones repaired or skipped)."
        ),
        CleanImageConfig(
            name="256px", image_transform=_AT_256,
            description=f"The complete archive, stored at training size. {_AT_256.describe()}",
        ),
        CleanImageConfig(
            name="sample-efficientnetb0", sample=True, batch_transform=_B0,
            description=f"The shipped sample as CNN features. {_B0.describe()}",
        ),
        CleanImageConfig(
            name="efficientnetb0", batch_transform=_B0,
            description=f"The complete archive as CNN features (~3 GB). {_B0.describe()}",
        ),
    ]
    DEFAULT_BUILDER_CONFIG_NAME = "full"  # tfds.load("NAME") means the real data
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Optional: without a manual_dir the archive is downloaded. If the download fails:\n" + _MANUAL_STEPS
    )

    HOMEPAGE = "https://www.microsoft.com/en-us/download/details.aspx?id=54765"
    SAMPLE_ARCHIVE = "sample/kagglecatsanddogs_sample.zip"
    DOWNLOAD_URL = DOWNLOAD_URL
    MANUAL_STEPS = _MANUAL_STEPS
    EXPECTED = (
        "the Cats-vs-Dogs zip (e.g. kagglecatsanddogs_5340.zip) or its extracted PetImages/ folder "
        "(with Cat/ and Dog/ inside)"
    )

    def _label_features(self) -> dict[str, tfds.features.FeatureConnector]:
        return {"label": tfds.features.ClassLabel(names=["cat", "dog"])}

    def _plan_splits(self, data: epath.Path) -> DatasetPlan:
        if self.builder_config.sample:  # shipped with the package: nothing to validate, nothing to warn about
            source: sources.Source = manual_dir.open_zip(data, {})
        else:
            source = manual_dir.single_archive(data, self.url_infos or {}, ("PetImages",), holds_pet_images)
        plan = plan_split(source)
        check_both_classes(plan, str(source.path if isinstance(source, sources.ZipSource) else data))
        return DatasetPlan({"train": plan})


_OUTSIDE = "outside PetImages/Cat and PetImages/Dog"


def plan_split(source: sources.Source) -> SplitPlan:
    """One entry per image file under PetImages/Cat and PetImages/Dog; every other file recorded."""
    plan = SplitPlan()
    plan.record_refused(source.refused)
    for member in source.members():
        match = _MEMBER.match(member)
        not_an_image = sources.not_an_image_reason(member)
        if match is None and not sources.is_os_metadata(member):
            plan.ignore(member, _OUTSIDE)
        elif match is None or not_an_image:  # macOS metadata anywhere, or not an image name
            plan.ignore(member, not_an_image or "")
        else:
            label = match[1].lower()
            filename = f"PetImages/{label.capitalize()}/{match[2]}"
            plan.add(Entry(ref=source.ref(member), filename=filename, features={"label": label}), member)
    return plan


def check_both_classes(plan: SplitPlan, where: str) -> None:
    """Stops a build with no image of a class: a zip cut short or re-packed with a misnamed folder
    (PetImages/Dogs) would otherwise give a one-class dataset that trains without complaint."""
    found = collections.Counter(entry.features["label"] for entry in plan.entries)
    missing = [label.capitalize() for label in ("cat", "dog") if not found[label]]
    if not missing:
        return
    outside = [r.path for r in plan.recorded if r.reason == _OUTSIDE]
    elsewhere = f" {len(outside):,} files lie outside them: {errors.listing(outside, 5)}" if outside else ""
    raise errors.ManualDirError(
        f"{where} holds no image file under PetImages/{' or PetImages/'.join(missing)} "
        f"({found['cat']:,} under PetImages/Cat, {found['dog']:,} under PetImages/Dog).{elsewhere}\n"
        "Name the folders PetImages/Cat and PetImages/Dog, or, if the archive is incomplete, get it again:\n"
        + _MANUAL_STEPS
    )


def holds_pet_images(members: list[str]) -> bool:
    return any(_MEMBER.match(m) and sources.not_an_image_reason(m) is None for m in members)
