"""Small real hooks of each kind, and builders using them, for tests/test_builder.py.

In a module of their own (imported as `tests.hooks`) so that Beam's worker processes,
started from the repository root, can unpickle them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import simplejpeg
import tensorflow_datasets as tfds
from PIL import Image as PILImage

from clean_images import BatchTransform, CleanImageConfig, DatasetPass, Image, ImageTransform, Observation
from pet_images import pet_images_dataset_builder as pet


class HalfSize(ImageTransform):
    def __call__(self, image: Image) -> Image:
        pil = PILImage.open(io.BytesIO(image.jpeg))
        half = pil.reduce(2)
        buffer = io.BytesIO()
        half.save(buffer, "JPEG", quality=90)
        return Image(buffer.getvalue(), half.height, half.width)

    def describe(self) -> str:
        return "Images halved."


class MeanColour(BatchTransform):
    batch_size = 5
    setups = 0

    def features(self) -> dict[str, tfds.features.FeatureConnector]:
        return {"features": tfds.features.Tensor(shape=(3,), dtype=np.float32)}

    def setup(self) -> None:
        type(self).setups += 1

    def __call__(self, images: Sequence[Image]) -> list[dict[str, Any]]:
        assert 1 <= len(images) <= self.batch_size
        return [{"features": simplejpeg.decode_jpeg(i.jpeg).mean(axis=(0, 1)).astype(np.float32)} for i in images]

    def describe(self) -> str:
        return "Each image is replaced by its mean colour."

    def metadata(self) -> dict[str, Any]:
        return {"what": "mean colour"}


class PixelCount(DatasetPass):
    metadata_key = "pixels"

    def observe(self, image: Image) -> Any:
        return image.height * image.width

    def summarize(self, observations: list[Observation]) -> Any:
        return {
            "files": [o.filename for o in observations],
            "by_label": {label: sum(o.value for o in observations if o.label == label) for label in ("cat", "dog")},
        }

    def summary_line(self, summary: Any) -> str:
        return f"pixels: {summary['by_label']}"


class HookedPets(pet.Builder, skip_registration=True):
    __module__ = pet.__name__  # TFDS reads the dataset card (README, CITATIONS) from the builder's package
    BUILDER_CONFIGS = [
        CleanImageConfig(name="sample", sample=True),
        CleanImageConfig(name="sample-half", sample=True, image_transform=HalfSize()),
        CleanImageConfig(name="sample-mean", sample=True, batch_transform=MeanColour()),
    ]
    DEFAULT_BUILDER_CONFIG_NAME = "sample"
    DATASET_PASSES = (PixelCount(),)


class LeakyPets(pet.Builder, skip_registration=True):
    """A bug on purpose: the generator loses its last example."""

    __module__ = pet.__name__

    def _generate_examples(self, split, plan):
        return list(super()._generate_examples(split, plan))[:-1]
