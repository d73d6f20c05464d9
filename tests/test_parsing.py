"""clean_images.parsing: the shards read with tf.data + tf.io.parse_example alone give what TFDS gives."""

from __future__ import annotations

import ast
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from clean_images import errors, parsing
from landmark_images import landmark_images_dataset_builder as landmark
from pet_images import pet_images_dataset_builder as pet
from tests.helpers import build, stored_examples

PARSING_FILE = pathlib.Path(parsing.__file__)
IMAGE_BUILDS = [(pet.Builder, "sample"), (pet.Builder, "sample-256px"), (landmark.Builder, "sample"),
                (landmark.Builder, "sample-256px")]
_SHARD = re.compile(r"^(?P<dataset>\w+)-(?P<split>\w+)\.tfrecord-\d{5}-of-\d{5}$")
_KIND = {tf.string: "bytes_list", tf.int64: "int64_list"}


@pytest.fixture(scope="module")
def image_builders(tmp_path_factory) -> dict[tuple[str, str], tfds.core.DatasetBuilder]:
    """Every image config of both samples, built into one data_dir: (dataset, config) -> builder."""
    data_dir = tmp_path_factory.mktemp("data")
    builders = [build(cls, data_dir, config=config) for cls, config in IMAGE_BUILDS]
    return {(b.name, b.builder_config.name): b for b in builders}


def shards_by_split(builder: tfds.core.DatasetBuilder) -> dict[str, list[str]]:
    """The TFRecord files of a built version directory, by the split their name gives (as the docs say)."""
    found: dict[str, list[str]] = {}
    for path in sorted(pathlib.Path(builder.data_dir).glob("*.tfrecord-*")):
        match = _SHARD.match(path.name)
        assert match is not None and match["dataset"] == builder.name, path.name
        found.setdefault(match["split"], []).append(str(path))
    assert sorted(found) == sorted(builder.info.splits), found
    return found


def assert_records_hold_exactly_the_spec(builder: tfds.core.DatasetBuilder) -> None:
    """Raw records (no parser in between): every key of the spec, no other, one value of the declared kind."""
    spec = parsing.feature_spec(builder.name, builder.builder_config.name)
    for files in shards_by_split(builder).values():
        for record in tf.data.TFRecordDataset(files).as_numpy_iterator():
            features = tf.train.Example.FromString(record).features.feature
            assert set(features) == set(spec)
            for key, value in features.items():
                kind = value.WhichOneof("kind")
                assert kind == _KIND[spec[key].dtype] and len(getattr(value, kind).value) == 1, key


def assert_parsed_equal_tfds(builder: tfds.core.DatasetBuilder) -> None:
    """Every shard parsed with `parse_example`, example by example against TFDS's reading, values and dtypes."""
    dataset, config = builder.name, builder.builder_config.name
    for split, files in shards_by_split(builder).items():
        expected = stored_examples(builder, split)
        parsed = tf.data.TFRecordDataset(files).map(lambda s: parsing.parse_example(s, dataset, config))
        seen = set()
        for example in tfds.as_numpy(parsed):
            name = example["image/filename"].decode()
            assert name in expected and name not in seen, name
            seen.add(name)
            assert example.keys() == expected[name].keys()
            for key, value in example.items():
                wanted = np.asarray(expected[name][key])
                assert np.asarray(value).dtype == wanted.dtype and np.array_equal(value, wanted), (name, key)
        assert seen == expected.keys()


def assert_same_element_spec(builder: tfds.core.DatasetBuilder) -> None:
    """The parsed tf.data types and shapes are TFDS's (with the image left undecoded)."""
    dataset, config = builder.name, builder.builder_config.name
    skip = {"image": tfds.decode.SkipDecoding()} if "image" in builder.info.features else None
    tfds_spec = builder.as_dataset(split="train", decoders=skip).element_spec
    files = shards_by_split(builder)["train"]
    parsed_spec = tf.data.TFRecordDataset(files).map(lambda s: parsing.parse_example(s, dataset, config)).element_spec
    assert parsed_spec == tfds_spec


@pytest.mark.parametrize("dataset, config", [(cls.name, config) for cls, config in IMAGE_BUILDS])
def test_image_configs_store_exactly_the_documented_keys(image_builders, dataset, config):
    assert_records_hold_exactly_the_spec(image_builders[dataset, config])


@pytest.mark.parametrize("dataset, config", [(cls.name, config) for cls, config in IMAGE_BUILDS])
def test_parsed_image_shards_equal_tfds_example_by_example(image_builders, dataset, config):
    builder = image_builders[dataset, config]
    assert_parsed_equal_tfds(builder)
    assert_same_element_spec(builder)


def test_batches_parse_to_the_same_values_as_single_records(image_builders):
    files = shards_by_split(image_builders["landmark_images", "sample"])["test"]
    one_by_one = list(tf.data.TFRecordDataset(files).map(lambda s: parsing.parse_example(s, "landmark_images", "sample")))
    batched = next(iter(tf.data.TFRecordDataset(files).batch(100).map(
        lambda s: parsing.parse_example(s, "landmark_images", "sample"))))
    assert len(one_by_one) == batched["label"].shape[0] == 6
    for i, example in enumerate(one_by_one):
        for key, value in example.items():
            assert value.numpy() == batched[key][i].numpy(), key
    assert (batched["label"].numpy() == -1).all()  # the documented label of landmark test examples


@pytest.mark.parametrize("dataset, config", [(cls.name, config) for cls, config in IMAGE_BUILDS])
def test_shard_pattern_finds_every_shard(image_builders, dataset, config):
    builder = image_builders[dataset, config]
    data_dir = str(pathlib.Path(builder.data_dir).parent.parent.parent)
    for split, files in shards_by_split(builder).items():
        assert tf.io.gfile.glob(parsing.shard_pattern(data_dir, dataset, config, split)) == files
        assert pathlib.Path(files[0]).name == f"{dataset}-{split}.tfrecord-00000-of-00001"  # the samples: one shard


@pytest.mark.parametrize(
    "call, message",
    [(lambda: parsing.feature_spec("cats", "sample"), "Unknown dataset 'cats'.*pet_images and landmark_images"),
     (lambda: parsing.feature_spec("pet_images", "512px"), "Unknown config '512px'.*sample-256px.*efficientnetb0"),
     (lambda: parsing.shard_pattern("/d", "pet_images", "b0", "train"), "Unknown config 'b0'")],
)
def test_unknown_datasets_and_configs_are_refused_with_the_known_names(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_module_imports_nothing_but_tensorflow():
    """Its promise: copied alone, it needs TensorFlow only (no TFDS, nothing of this project)."""
    tree = ast.parse(PARSING_FILE.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"__future__", "tensorflow"}


@pytest.mark.slow  # a fresh interpreter importing TensorFlow
def test_a_copy_of_the_file_reads_a_shard_without_tfds(image_builders, tmp_path):
    """A bare job: the file copied alone, TensorFlow imported, TFDS never; it parses every pet example."""
    copy = tmp_path / "pet_format.py"
    copy.write_bytes(PARSING_FILE.read_bytes())
    files = shards_by_split(image_builders["pet_images", "sample"])["train"]
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import tensorflow as tf; import pet_format as p\n"
        "ds = tf.data.TFRecordDataset(sys.argv[2:]).map(lambda s: p.parse_example(s, 'pet_images', 'sample'))\n"
        "labels = [int(e['label']) for e in ds]\n"
        "assert not {'tensorflow_datasets', 'clean_images', 'pet_images'} & set(sys.modules), 'imported more'\n"
        "print(len(labels), sum(labels))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path), *files], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = stored_examples(image_builders["pet_images", "sample"])
    assert result.stdout.split() == [str(len(expected)), str(sum(int(e["label"]) for e in expected.values()))]


@pytest.fixture(scope="module")
def features_builders(features_builds) -> list[tfds.core.DatasetBuilder]:
    """Both samples' features configs (built once per session: see conftest)."""
    return list(features_builds.values())


@pytest.mark.slow  # EfficientNetB0 over both samples (~30 s)
def test_features_shards_hold_the_documented_keys_and_parse_as_tfds_reads_them(features_builders):
    for builder in features_builders:
        assert_records_hold_exactly_the_spec(builder)
        assert_parsed_equal_tfds(builder)
        assert_same_element_spec(builder)
        record = next(tf.data.TFRecordDataset(shards_by_split(builder)["train"]).as_numpy_iterator())
        raw = tf.train.Example.FromString(record).features.feature["features"].bytes_list.value[0]
        assert len(raw) == 7 * 7 * 1280 * 2  # float16, not TFDS's usual float32


def test_the_parser_knows_every_config_of_both_builders():
    """parsing.py may not import the builders (TensorFlow only): its config lists must follow theirs."""
    from landmark_images import landmark_images_dataset_builder as landmark  # pylint: disable=g-import-not-at-top
    from pet_images import pet_images_dataset_builder as pet  # pylint: disable=g-import-not-at-top

    for builder_cls in (pet.Builder, landmark.Builder):
        for config in builder_cls.BUILDER_CONFIGS:
            assert parsing.is_features_config(config.name) == (config.batch_transform is not None), config.name
            assert parsing.VERSIONS[config.name] == str(config.version), config.name
        assert parsing.VERSIONS.keys() == {config.name for config in builder_cls.BUILDER_CONFIGS}


def test_the_tensorflow_free_dataset_list_is_parsings():
    assert errors.DATASETS == parsing.DATASETS
