"""The base class's hooks and checks, through a real builder: the pet sample with extra configs.

Each hook kind is exercised with a small real transform, in process and on Beam, with the
same output both ways; the accounting check is triggered by a generator that loses an example.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import simplejpeg
import tensorflow_datasets as tfds
from apache_beam.options.pipeline_options import PipelineOptions

from clean_images import errors
from clean_images.resize import ShorterSide
from tests.helpers import assert_same_dataset, build, stored_examples
from tests.hooks import HookedPets, LeakyPets, MeanColour

BEAM_FLAGS = ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    return build(HookedPets, tmp_path_factory.mktemp("plain"), config="sample")


def test_image_transform_stores_the_transformed_image_with_the_same_keys_and_report(plain, tmp_path):
    half = build(HookedPets, tmp_path, config="sample-half")
    full_examples, half_examples = stored_examples(plain), stored_examples(half)
    assert full_examples.keys() == half_examples.keys()
    for name, example in half_examples.items():
        source = full_examples[name]
        halved = ((source["image/height"] + 1) // 2, (source["image/width"] + 1) // 2)
        assert (example["image/height"], example["image/width"]) == halved
        assert simplejpeg.decode_jpeg(example["image"]).shape[:2] == (example["image/height"], example["image/width"])
        assert example["label"] == source["label"] and example["image/repair"] == source["image/repair"]
    assert half.info.metadata["build_report"] == plain.info.metadata["build_report"]


def test_batch_transform_replaces_the_image_by_features_computed_once_per_image(plain, tmp_path):
    MeanColour.setups = 0
    mean = build(HookedPets, tmp_path, config="sample-mean")
    assert MeanColour.setups == 1
    assert "image" not in mean.info.features and mean.info.supervised_keys == ("features", "label")
    sources = stored_examples(plain)
    dataset = mean.as_dataset(split="train")
    examples = {e["image/filename"].decode(): e for e in tfds.as_numpy(dataset)}
    assert examples.keys() == sources.keys()
    for name, example in examples.items():
        expected = simplejpeg.decode_jpeg(sources[name]["image"]).mean(axis=(0, 1)).astype(np.float32)
        np.testing.assert_array_equal(example["features"], expected)
    assert mean.info.metadata["batch_transform"] == {"what": "mean colour"}
    assert "pixels" not in mean.info.metadata  # passes look at stored images; this config stores none


def test_dataset_pass_sees_every_kept_image_of_every_split_in_key_order(plain, capsys):
    summary = plain.info.metadata["pixels"]
    examples = stored_examples(plain)
    assert summary["files"] == sorted(examples)
    for label, index in (("cat", 0), ("dog", 1)):
        expected = sum(int(e["image/height"]) * int(e["image/width"]) for e in examples.values() if e["label"] == index)
        assert summary["by_label"][label] == expected


@pytest.mark.slow
@pytest.mark.parametrize("config", ["sample", "sample-half", "sample-mean"])
def test_every_hook_gives_the_same_dataset_on_beam(config, tmp_path):
    local = build(HookedPets, tmp_path / "local", config=config)
    beam = build(HookedPets, tmp_path / "beam", config=config, beam_options=PipelineOptions(BEAM_FLAGS))
    if config == "sample-mean":
        one = {e["image/filename"]: e for e in tfds.as_numpy(local.as_dataset(split="train"))}
        other = {e["image/filename"]: e for e in tfds.as_numpy(beam.as_dataset(split="train"))}
        assert one.keys() == other.keys()
        for name in one:
            np.testing.assert_array_equal(one[name]["features"], other[name]["features"])
        assert local.info.metadata["build_report"] == beam.info.metadata["build_report"]
    else:
        assert_same_dataset(local, beam, ["train"])
        assert local.info.metadata["pixels"] == beam.info.metadata["pixels"]


def test_a_lost_example_fails_the_accounting_check_and_publishes_nothing(tmp_path):
    expected = "split 'train' does not add up: 92 images handed to sanitation, 92 verdicts, 78 kept, 77 examples written"
    with pytest.raises(errors.AccountingError, match=expected):
        build(LeakyPets, tmp_path, config="sample")
    assert not list(tmp_path.glob("leaky_pets/sample/1.0.0"))
    assert not [p for p in tmp_path.rglob("*") if p.suffix == ".tfrecord" or "tfrecord-" in p.name]


def test_a_mistyped_config_name_is_answered_with_the_real_ones():
    import landmark_images  # noqa: F401  # registers it
    import pet_images  # noqa: F401

    with pytest.raises(ValueError, match=r"closely match: full:1\.0\.0"):
        tfds.builder("pet_images/fulll")
    with pytest.raises(ValueError, match=f"closely match: 256px:{re.escape(ShorterSide.version)}"):
        tfds.builder("landmark_images/256")


def test_a_builder_and_its_metadata_are_freed_with_it(plain):
    """TFDS caches `info` for the whole class, which kept every builder (and its metadata) alive."""
    import gc
    import weakref

    builder = HookedPets(config="sample", data_dir=plain.data_dir_root)
    assert builder.info.metadata["build_report"] == plain.info.metadata["build_report"]
    freed = weakref.ref(builder)
    del builder
    gc.collect()
    assert freed() is None
