"""pet_images: Microsoft's Cats-vs-Dogs photos (PetImages), every file accounted for."""

from __future__ import annotations

import re
from typing import Iterator

import tensorflow_datasets as tfds
from etils import epath

from clean_images import builder as builder_lib
from clean_images import sources
from clean_images.entries import Entry

_BASE_URL = "https://download.microsoft.com/download/3/E/1/3E1C3F21-ECDB-4869-8368-6DEBA77B919F/"
DOWNLOAD_URL = _BASE_URL + "kagglecatsanddogs_5340.zip"
SAMPLE_ARCHIVE = "sample/kagglecatsanddogs_sample.zip"

# `PetImages/Cat/0.jpg`, possibly below a top folder the archive was re-packed with.
_MEMBER = re.compile(r"^(?:.*/)?PetImages/(cat|dog)/([^/]+)$", re.IGNORECASE)

_MANUAL_STEPS = f"""\
  1. Download the archive in a browser: {DOWNLOAD_URL}
     (the page https://www.microsoft.com/en-us/download/details.aspx?id=54765 links it).
  2. Put it in a folder of your choice under any name (e.g. ~/pets/kagglecatsanddogs_5340.zip),
     or extract it there so that ~/pets/PetImages/Cat and ~/pets/PetImages/Dog exist.
  3. Run: tfds build pet_images --manual_dir ~/pets
A known official zip (5340 or 3367a) is checksum-validated; another zip or a folder is
accepted with a warning."""


class Builder(builder_lib.CleanImageBuilder):
    """DatasetBuilder for pet_images."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {
        "1.0.0": "Initial release: clean JPEGs byte-for-byte, faulty files repaired or skipped "
        "with a reason, build report in the metadata.",
    }
    BUILDER_CONFIGS = [  # sample first: `tfds build pet_images` (every config) builds it even offline
        tfds.core.BuilderConfig(
            name="sample",
            description="A small archive shipped in the package, with one file of every fault kind: "
            "builds offline in seconds.",
        ),
        tfds.core.BuilderConfig(name="full", description="The complete Microsoft archive (25,000 image files; the bad ones repaired or skipped)."),
    ]
    DEFAULT_BUILDER_CONFIG_NAME = "full"  # tfds.load("NAME") means the real data
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Optional: without a manual_dir the archive is downloaded. If the download fails:\n"
        + _MANUAL_STEPS
    )

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=builder_lib.image_features(label=tfds.features.ClassLabel(names=["cat", "dog"])),
            supervised_keys=("image", "label"),
            homepage="https://www.microsoft.com/en-us/download/details.aspx?id=54765",
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        return {"train": self._generate_examples(self._source(dl_manager))}

    def _source(self, dl_manager: tfds.download.DownloadManager) -> sources.Source:
        if self.builder_config.name == "sample":
            return sources.ZipSource(epath.resource_path("pet_images") / SAMPLE_ARCHIVE)
        found = builder_lib.find_manual_source(
            self, dl_manager, looks_like_dataset=_holds_pet_images, folder_names=("PetImages",),
            expected="the Cats-vs-Dogs zip (e.g. kagglecatsanddogs_5340.zip) or its extracted "
            "PetImages/ folder (with Cat/ and Dog/ inside)",
            steps=_MANUAL_STEPS,
        )
        if found is not None:
            return found
        return sources.ZipSource(builder_lib.download_or_explain(dl_manager, DOWNLOAD_URL, _MANUAL_STEPS))

    def _generate_examples(self, source: sources.Source) -> Iterator[tuple[str, dict]]:
        return self.clean_examples("train", self._entries("train", source))

    def _entries(self, split: str, source: sources.Source) -> Iterator[Entry]:
        """One entry per image file; everything else in the source is recorded with a reason."""
        self.record_refused(source, lambda _: split)
        taken: dict[str, str] = {}  # canonical filename -> member: keys must be unique
        for member in source.members():
            match = _MEMBER.match(member)
            not_an_image = sources.not_an_image_reason(member)
            if match is None and not sources.is_os_metadata(member):
                self.record_ignored(split, member, "outside PetImages/Cat and PetImages/Dog")
            elif not_an_image:
                self.record_ignored(split, member, not_an_image)
            else:
                label = match[1].lower()
                filename = f"PetImages/{label.capitalize()}/{match[2]}"
                if filename in taken:
                    self.record_skipped(split, member, f"same PetImages path as {taken[filename]}: only the first is read")
                    continue
                taken[filename] = member
                yield Entry(ref=source.ref(member), filename=filename, features={"label": label})


def _holds_pet_images(members: list[str]) -> bool:
    return any(_MEMBER.match(m) and sources.not_an_image_reason(m) is None for m in members)
