"""Shared fixtures: real photos, the features samples (built once), and the check that TensorFlow decodes images silently."""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

import pytest
import tensorflow as tf
from PIL import Image

from clean_images.testing.replica import photos


@pytest.fixture(scope="session")
def photo() -> Image.Image:
    """One real photograph (scikit-image's cat), PetImages-sized."""
    return next(photos("cat", seed=1))


@pytest.fixture(scope="session")
def some_photos() -> list[Image.Image]:
    return list(itertools.islice(photos("dog", seed=2), 6))


@pytest.fixture(scope="session")
def b0_weights(tmp_path_factory) -> str:
    """An EfficientNetB0(include_top=False) weights file made here (nothing is downloaded)."""
    from tests.test_features import _random_weights  # pylint: disable=g-import-not-at-top  (Keras: only where used)

    return _random_weights(tmp_path_factory.mktemp("weights") / "b0.weights.h5", seed=1)


@pytest.fixture(scope="session")
def features_builds(tmp_path_factory, b0_weights) -> dict:
    """Both samples' `sample-efficientnetb0` configs, built once for every test file that reads them
    (a CNN over every image: ~30 s). Read them; build anything else into another data_dir."""
    from landmark_images import landmark_images_dataset_builder as landmark  # pylint: disable=g-import-not-at-top
    from pet_images import pet_images_dataset_builder as pet  # pylint: disable=g-import-not-at-top
    from tests.helpers import build  # pylint: disable=g-import-not-at-top

    data_dir = tmp_path_factory.mktemp("features")
    return {cls.name: build(cls, data_dir, config="sample-efficientnetb0", weights=b0_weights)
            for cls in (pet.Builder, landmark.Builder)}


@pytest.fixture
def decode_silently(capfd):
    """Decodes JPEG bytes as a training pipeline would; fails if anything reaches stderr/stdout."""
    tf.io.decode_jpeg(tf.io.encode_jpeg(tf.zeros((2, 2, 3), tf.uint8)))  # warm TF's own logging up
    capfd.readouterr()

    def decode(jpeg: bytes) -> tuple[int, ...]:
        capfd.readouterr()  # drop whatever the test printed before
        image = tf.io.decode_jpeg(jpeg, channels=3)
        printed = capfd.readouterr()
        assert printed.err == "" and printed.out == "", f"decoder printed: {printed.err or printed.out}"
        return tuple(image.shape)

    return decode
