"""Shared fixtures: real photos, and the check that TensorFlow decodes images silently."""

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
