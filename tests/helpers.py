"""Building datasets through the real builders, and reading back what they stored."""

from __future__ import annotations

import pathlib

import tensorflow_datasets as tfds


def build(builder_cls, data_dir: pathlib.Path, manual_dir=None, config: str = "full"):
    builder = builder_cls(config=config, data_dir=str(data_dir))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir) if manual_dir else None)
    )
    return builder


def stored_examples(builder, split: str = "train") -> dict[str, dict]:
    """filename -> example, with the image as its stored (undecoded) bytes."""
    dataset = builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()})
    out = {}
    for example in tfds.as_numpy(dataset):
        name = example["image/filename"].decode()
        assert name not in out, f"duplicate {name}"
        out[name] = example
    return out
