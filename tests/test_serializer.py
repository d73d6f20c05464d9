"""Our example serializer writes exactly what TFDS's serializer writes once its features are put in key order."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from tensorflow_datasets.core import example_serializer

from clean_images.serializer import SortedExampleSerializer
from clean_images.tfrecord import sorted_features
from landmark_images import landmark_images_dataset_builder as landmark
from pet_images import pet_images_dataset_builder as pet

JPEG = tf.io.encode_jpeg(np.full((3, 4, 3), 7, np.uint8)).numpy()
IMAGE = {"image": JPEG, "image/height": 3, "image/width": 4}


def _both(features: tfds.features.FeaturesDict, example: dict) -> tuple[bytes, bytes]:
    encoded = features.encode_example(example)
    info = features.get_serialized_info()
    theirs = sorted_features(example_serializer.ExampleSerializer(info).serialize_example(encoded))
    return SortedExampleSerializer(info).serialize_example(encoded), theirs


@pytest.mark.parametrize("repair", ["", "bytes libjpeg skipped removed (scan may be damaged)", "é" * 200])
@pytest.mark.parametrize("label", [0, 1])
def test_pet_examples(label, repair):
    features = pet.Builder(config="sample").info.features
    example = {**IMAGE, "label": label, "image/filename": "PetImages/Dog/1.jpg", "image/repair": repair}
    ours, theirs = _both(features, example)
    assert ours == theirs


@pytest.mark.parametrize("label, identifier", [(-1, "0a1b2c"), (3, "x" * 300)])  # test images are unlabelled: -1
def test_landmark_examples_with_korean_text_and_negative_labels(label, identifier):
    features = landmark.Builder(config="sample").info.features
    example = {**IMAGE, "label": label, "id": identifier, "region": "서울특별시", "image/filename": "train/서울/경복궁/1.JPG",
               "image/repair": ""}
    ours, theirs = _both(features, example)
    assert ours == theirs
    assert tf.train.Example.FromString(ours).features.feature["label"].int64_list.value == [label]


def test_a_large_image_and_large_sizes():
    features = pet.Builder(config="sample").info.features
    example = {"image": JPEG + b"\0" * 300_000, "image/height": 2**20, "image/width": 70_000, "label": 1,
               "image/filename": "a", "image/repair": ""}
    ours, theirs = _both(features, example)
    assert ours == theirs


def test_features_configs_store_their_tensor_as_tfds_does():
    features = pet.Builder(config="sample-efficientnetb0").info.features
    example = {"features": np.arange(7 * 7 * 1280, dtype=np.float16).reshape(7, 7, 1280), "label": 1,
               "image/filename": "PetImages/Cat/2.jpg", "image/repair": ""}
    ours, theirs = _both(features, example)
    assert ours == theirs


def test_anything_but_flat_scalars_goes_through_tfds_serializer():
    ints = tfds.features.Tensor(shape=(3,), dtype=np.int64)
    features = tfds.features.FeaturesDict({"ints": ints, "name": tfds.features.Text()})
    ours, theirs = _both(features, {"ints": [1, -2, 3], "name": "b"})
    assert ours == theirs
    assert sorted_features(ours) == ours  # already in key order
    assert set(tf.train.Example.FromString(ours).features.feature) == {"ints", "name"}
