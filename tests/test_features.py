"""The EfficientNetB0 features configs, with weights files made here (nothing is downloaded)."""

from __future__ import annotations

import itertools
import logging
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from apache_beam.options.pipeline_options import PipelineOptions
from keras.applications import efficientnet

from clean_images import features as features_lib
from clean_images import report as report_lib
from clean_images.errors import WeightsError
from clean_images.hooks import Image
from clean_images.testing.replica import photos
from landmark_images import landmark_images_dataset_builder as landmark
from pet_images import pet_images_dataset_builder as pet
from tests.helpers import TFDS, build, run_ok, stored_examples
from tests.test_beam import BEAM_FLAGS

pytestmark = pytest.mark.slow  # a CNN over every sample image

FEATURES = "sample-efficientnetb0"
# Features computed in other batch sizes or thread counts differ by float rounding (then float16's):
# measured up to 4.7e-4 of a map's largest value on the sample (trained-like weights); the README states this bound.
TOLERANCE = 1e-3


def relative_difference(got: np.ndarray, expected: np.ndarray) -> float:
    """The largest difference between two feature maps, as a fraction of the expected map's largest value."""
    got, expected = got.astype(np.float32), expected.astype(np.float32)
    return float(np.abs(got - expected).max() / np.abs(expected).max())


def _random_weights(path: pathlib.Path, seed: int) -> str:
    """EfficientNetB0(include_top=False) with random weights, saved as Keras does.

    Its batch-norm statistics are set from a batch of real photos (a data-dependent init):
    with the default ones, the output of a random network hardly depends on its input.
    """
    keras.utils.set_random_seed(seed)
    model = efficientnet.EfficientNetB0(include_top=False, weights=None, input_shape=(224, 224, 3))
    batch = np.stack([np.asarray(p.convert("RGB").resize((224, 224)), dtype=np.float32)
                      for p in itertools.islice(photos("dog", seed=seed), 8)])
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in norms:
        layer.momentum = 0.0  # the moving statistics become this batch's
    model(batch, training=True)
    model.save_weights(path)
    return str(path)


@pytest.fixture(scope="module")
def weights(b0_weights) -> str:
    return b0_weights


@pytest.fixture(scope="module")
def pets(tmp_path_factory, features_builds):
    """The pet sample's image config and features config (the session's: see conftest)."""
    return build(pet.Builder, tmp_path_factory.mktemp("data"), config="sample"), features_builds["pet_images"]


def _keras_features(weights: str, jpegs: list[bytes]) -> np.ndarray:
    """The blog recipe, straight through Keras."""
    model = efficientnet.EfficientNetB0(include_top=False, weights=weights, input_shape=(224, 224, 3))
    images = [tf.image.resize(tf.io.decode_jpeg(jpeg, channels=3), (224, 224)) for jpeg in jpegs]
    return model.predict(efficientnet.preprocess_input(tf.stack(images)), batch_size=8, verbose=0)


def test_features_are_float16_maps_with_the_image_configs_labels_and_report(pets):
    images, features = pets
    stored = stored_examples(features)
    assert stored.keys() == stored_examples(images).keys() and len(stored) > 50
    for name, example in stored.items():
        assert example["features"].shape == (7, 7, 1280) and example["features"].dtype == np.float16
        assert np.isfinite(example["features"]).all()
        assert example["label"] == (0 if name.startswith("PetImages/Cat/") else 1)  # the recipe's cat 0, dog 1
        assert set(example) == {"features", "label", "image/filename", "image/repair"}
    assert features.info.metadata[report_lib.METADATA_KEY] == images.info.metadata[report_lib.METADATA_KEY]
    assert features.info.supervised_keys == ("features", "label")
    assert "duplicates" not in features.info.metadata  # a report on images, carried by the image configs


def test_features_are_stored_as_two_bytes_a_value(pets):
    _, features = pets
    shard = next(features.data_path.glob("*.tfrecord*"))
    record = next(iter(tf.data.TFRecordDataset(str(shard))))
    example = tf.train.Example.FromString(record.numpy())
    assert len(example.features.feature["features"].bytes_list.value[0]) == 7 * 7 * 1280 * 2


def test_features_equal_keras_on_the_stored_images(pets, weights):
    images, features = pets
    stored_images, stored_features = stored_examples(images), stored_examples(features)
    names = sorted(stored_features)
    expected = _keras_features(weights, [stored_images[name]["image"] for name in names])
    for name, keras_map in zip(names, expected):
        assert relative_difference(stored_features[name]["features"], keras_map) < TOLERANCE, name


def test_features_differ_between_images(pets):
    _, features = pets
    maps = [example["features"] for example in stored_examples(features).values()]
    distinct = {m.tobytes() for m in maps}
    assert len(distinct) == len(maps)
    assert min(np.abs(maps[0].astype(np.float32) - m.astype(np.float32)).mean() for m in maps[1:]) > 1e-3


def test_a_rebuild_gives_the_same_bytes(pets, weights, tmp_path):
    _, features = pets
    again = build(pet.Builder, tmp_path, config=FEATURES, weights=weights)
    shards = sorted(p.name for p in features.data_path.glob("*.tfrecord*"))
    assert shards == sorted(p.name for p in again.data_path.glob("*.tfrecord*"))
    for shard in shards:
        assert (features.data_path / shard).read_bytes() == (again.data_path / shard).read_bytes()


def test_metadata_names_the_weights_and_reading_needs_none(pets, weights):
    _, features = pets
    stored = features.info.metadata["batch_transform"]
    assert stored["weights"] == "b0.weights.h5"
    assert stored["weights_sha256"] == features_lib.sha256_of(weights)
    reader = tfds.builder(f"pet_images/{FEATURES}", data_dir=str(features.data_dir_root))
    assert len(list(reader.as_dataset(split="train"))) == features.info.splits["train"].num_examples


def test_other_weights_than_the_built_ones_are_refused(pets, weights, tmp_path):
    _, features = pets
    other = _random_weights(tmp_path / "other.weights.h5", seed=2)
    with pytest.raises(WeightsError, match="other weights"):
        build(pet.Builder, pathlib.Path(features.data_dir_root), config=FEATURES, weights=other)
    build(pet.Builder, pathlib.Path(features.data_dir_root), config=FEATURES, weights=weights)  # the same: reused


@pytest.mark.parametrize("builder_cls", [pet.Builder, landmark.Builder])
def test_features_configs_come_last(builder_cls):
    """`tfds build NAME` builds every config in order and stops at the first failure: the
    configs that need weights must not stop the image configs from building."""
    needs_weights = [config.batch_transform is not None for config in builder_cls.BUILDER_CONFIGS]
    assert needs_weights == sorted(needs_weights) and sum(needs_weights) == 2


def test_missing_default_weights_stop_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # an empty cache
    monkeypatch.setattr(features_lib, "KERAS_WEIGHTS_URL", "http://127.0.0.1:9/efficientnetb0_notop.h5")  # closed port
    with pytest.raises(WeightsError) as raised:
        build(pet.Builder, tmp_path / "data", config=FEATURES)
    message = str(raised.value)
    for expected in ("efficientnetb0_notop.h5", "http://127.0.0.1:9/efficientnetb0_notop.h5",
                     str(tmp_path / "keras" / "models" / "efficientnetb0_notop.h5"), "weights=", "Nothing was built"):
        assert expected in message
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("content, match", [(None, "does not exist"), (b"not weights", "could not load")])
def test_unusable_weights_files_are_named(tmp_path, content, match):
    path = tmp_path / "b0.h5"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(WeightsError, match=match) as raised:
        build(pet.Builder, tmp_path / "data", config=FEATURES, weights=str(path))
    assert str(path) in str(raised.value)
    assert not (tmp_path / "data").exists()


def test_landmark_features_keep_ids_and_regions(features_builds, tmp_path):
    images = build(landmark.Builder, tmp_path, config="sample")
    features = features_builds["landmark_images"]
    for split in ("train", "test"):
        by_image, by_features = stored_examples(images, split), stored_examples(features, split)
        assert by_image.keys() == by_features.keys()
        for name, example in by_features.items():
            for key in ("label", "id", "region", "image/repair"):
                assert example[key] == by_image[name][key]


def test_the_cli_takes_the_weights_kwarg(weights, tmp_path):
    run_ok([TFDS, "build", f"pet_images/{FEATURES}/weights={weights}", "--imports", "pet_images",
            "--data_dir", str(tmp_path)], cwd=pathlib.Path(__file__).parent.parent)
    built = tfds.builder(f"pet_images/{FEATURES}", data_dir=str(tmp_path))
    assert built.info.metadata["batch_transform"]["weights_sha256"] == features_lib.sha256_of(weights)


def test_beam_gives_the_same_features(pets, weights, tmp_path):
    _, features = pets
    on_beam = build(pet.Builder, tmp_path, config=FEATURES, beam_options=PipelineOptions(BEAM_FLAGS), weights=weights)
    assert on_beam._build.beam_splits == ["train"]  # pylint: disable=protected-access
    local, beam = stored_examples(features), stored_examples(on_beam)
    assert local.keys() == beam.keys()
    for name, example in local.items():
        assert {k: v for k, v in example.items() if k != "features"} == {
            k: v for k, v in beam[name].items() if k != "features"}
        # TensorFlow's thread count changes the float32 rounding, which the network amplifies
        assert relative_difference(beam[name]["features"], example["features"]) < TOLERANCE, name
    assert on_beam.info.metadata[report_lib.METADATA_KEY] == features.info.metadata[report_lib.METADATA_KEY]


def test_features_too_small_for_float16_are_warned_about(weights, tmp_path, caplog):
    """An untrained network's features peak near 1e-5, where float16 keeps few significant bits."""
    untrained = tmp_path / "untrained.weights.h5"
    keras.utils.set_random_seed(3)
    efficientnet.EfficientNetB0(include_top=False, weights=None, input_shape=(224, 224, 3)).save_weights(untrained)
    jpegs = [np.asarray(p.convert("RGB").resize((160, 120))) for p in itertools.islice(photos("cat", seed=4), 2)]
    images = [Image(tf.io.encode_jpeg(j).numpy(), 120, 160) for j in jpegs]
    for path, warned in ((str(untrained), True), (weights, False)):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            features_lib.EfficientNetB0Features().ready(path, "test")(images)
        assert ("reduced-precision range" in caplog.text) == warned, path
