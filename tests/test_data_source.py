"""Random access: an ArrayRecord build read through `tfds.data_source` and fed to Grain (the README's example)."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

import grain
import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from clean_images import parsing
from pet_images import pet_images_dataset_builder as pet
from tests.helpers import build, stored_examples

SIZE = 64  # the README resizes to 224; smaller here, the same code
BATCH = 16


class DecodeJpeg(grain.transforms.Map):
    """JPEG bytes -> uint8 (SIZE, SIZE, 3), so that examples of any size batch together."""

    def map(self, element: dict[str, Any]) -> dict[str, Any]:
        image = Image.open(io.BytesIO(element["image"])).convert("RGB").resize((SIZE, SIZE))
        return {"image": np.asarray(image), "label": element["label"], "filename": element["image/filename"]}


@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory) -> dict[str, str]:
    """The pet sample built twice: ArrayRecord (random access) and TFRecord (what TFDS's tf.data reading says)."""
    dirs = {fmt: tmp_path_factory.mktemp(fmt) for fmt in ("array_record", "tfrecord")}
    for file_format, data_dir in dirs.items():
        build(pet.Builder, data_dir, config="sample", file_format=file_format)
    return {fmt: str(path) for fmt, path in dirs.items()}


@pytest.fixture(scope="module")
def expected(data_dirs) -> dict[str, dict]:
    """filename -> example, read back from the TFRecord build through tf.data."""
    return stored_examples(tfds.builder("pet_images/sample", data_dir=data_dirs["tfrecord"]))


@pytest.fixture
def source(data_dirs):
    """The README's data source: examples by index, the image left as its JPEG bytes for the loader to decode."""
    return tfds.data_source("pet_images/sample", split="train", data_dir=data_dirs["array_record"],
                            decoders={"image": tfds.decode.SkipDecoding()})


def assert_every_example_once_with_its_label(batches, expected: dict[str, dict]) -> None:
    seen: list[str] = []
    for batch in batches:
        assert batch["image"].dtype == np.uint8 and batch["image"].shape[1:] == (SIZE, SIZE, 3)
        assert len(batch["image"]) == len(batch["label"]) == len(batch["filename"]) <= BATCH
        for filename, label in zip(batch["filename"], batch["label"]):
            name = filename.decode()
            assert label == expected[name]["label"] == (0 if name.startswith("PetImages/Cat/") else 1), name
            seen.append(name)
    assert sorted(seen) == sorted(expected)  # each once, none missing


def test_the_data_source_holds_the_same_examples_by_index(source, expected):
    assert len(source) == len(expected) > 50
    for index in (0, len(source) // 2, len(source) - 1):  # random access, not a stream
        example = source[index]
        wanted = expected[example["image/filename"].decode()]
        assert example.keys() == wanted.keys()
        assert all(np.array_equal(example[key], wanted[key]) for key in example), example["image/filename"]


def test_grain_map_dataset_decodes_and_batches_every_example_once(source, expected):
    dataset = grain.MapDataset.source(source).shuffle(seed=0).map(DecodeJpeg()).batch(BATCH)
    assert len(dataset) == -(-len(expected) // BATCH)
    assert_every_example_once_with_its_label(dataset, expected)


def test_grain_data_loader_decodes_and_batches_every_example_once(source, expected):
    sampler = grain.samplers.IndexSampler(num_records=len(source), shuffle=True, seed=0, num_epochs=1,
                                          shard_options=grain.sharding.NoSharding())
    loader = grain.DataLoader(data_source=source, sampler=sampler, worker_count=0,
                              operations=[DecodeJpeg(), grain.transforms.Batch(batch_size=BATCH)])
    assert_every_example_once_with_its_label(loader, expected)


def test_array_record_records_parse_with_the_tensorflow_parser(data_dirs, expected):
    """The ArrayRecord shards hold the same serialized tf.train.Example records as TFRecord ones."""
    raw = tfds.data_source("pet_images/sample", split="train", data_dir=data_dirs["array_record"],
                           deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES)
    records = [raw[i] for i in range(len(raw))]
    assert all(isinstance(record, bytes) for record in records)
    parsed = parsing.parse_example(np.array(records, dtype=object), "pet_images", "sample")
    names = [name.decode() for name in parsed["image/filename"].numpy()]
    assert sorted(names) == sorted(expected)
    for i, name in enumerate(names):
        assert parsed["image"][i].numpy() == expected[name]["image"] and parsed["label"][i] == expected[name]["label"]


def test_reading_through_grain_needs_no_tensorflow(data_dirs, expected):
    """What PyTorch or JAX users get: the data source and Grain, TensorFlow never imported."""
    script = (
        "import sys, tensorflow_datasets as tfds, grain, pet_images\n"
        f"source = tfds.data_source('pet_images/sample', split='train', data_dir={data_dirs['array_record']!r},"
        " decoders={'image': tfds.decode.SkipDecoding()})\n"
        "count = sum(len(b['label']) for b in grain.MapDataset.source(source).batch(16))\n"
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'\n"
        "print(count)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [str(len(expected))]


class TorchPets:
    """The README's PyTorch Dataset over the data source (module level: spawned workers unpickle it)."""

    def __init__(self, data_source):
        self.source = data_source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int):
        import torch  # pylint: disable=g-import-not-at-top

        element = DecodeJpeg().map(self.source[index])
        return torch.from_numpy(element["image"]).permute(2, 0, 1), int(element["label"]), element["filename"]


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_pytorch_data_loader_batches_every_example_once(source, expected, workers):
    """The README's PyTorch snippet (deselected by default: installing PyTorch costs minutes;
    `pip install torch && python -m pytest -m torch tests/test_data_source.py`). Worker processes
    are spawned: forked from a process running TensorFlow or ArrayRecord's threads, they crashed."""
    from torch.utils.data import DataLoader  # pylint: disable=g-import-not-at-top

    context = "spawn" if workers else None
    loader = DataLoader(TorchPets(source), batch_size=BATCH, shuffle=True, num_workers=workers,
                        multiprocessing_context=context)
    batches = ({"image": images.permute(0, 2, 3, 1).numpy(), "label": labels.numpy(), "filename": names}
               for images, labels, names in loader)
    assert_every_example_once_with_its_label(batches, expected)
