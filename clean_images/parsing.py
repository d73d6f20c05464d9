"""The shards' on-disk format, parsed with TensorFlow alone (`tf.data.TFRecordDataset` + `tf.io.parse_example`).

For readers without TFDS: a bare TPU job reading gs://, or code that reads TFRecords as blog
posts do. TFDS's own reading (`tfds.load`, `builder.as_dataset`) gives the same values.

Files: `<data_dir>/<dataset>/<config>/<version>/<dataset>-<split>.tfrecord-<shard>-of-<shards>`,
e.g. `pet_images/sample/1.0.0/pet_images-train.tfrecord-00000-of-00001` (versions: `VERSIONS`; TFDS picks the number
of shards; glob `...-train.tfrecord-*`). An ArrayRecord build (`--file_format array_record`)
names them `<dataset>-<split>.array_record-<shard>-of-<shards>` and holds the same serialized
`tf.train.Example` records. Beside them: `dataset_info.json`, `features.json`,
`label.labels.txt` (class names, one a line, in label order) and `metadata.json` (build report).

Every record is one `tf.train.Example`, one value per key:

| key | on disk | parse_example gives | configs |
| --- | --- | --- | --- |
| `image` | bytes: a JPEG file | tf.string (decode: `tf.io.decode_jpeg(x, channels=3)`) | image |
| `image/height`, `image/width` | int64 | tf.int32, as TFDS gives them | image |
| `features` | bytes: 7*7*1280 float16, little-endian | tf.float16 (7, 7, 1280) | features |
| `label` | int64 (landmark_images `test`: -1) | tf.int64 | all |
| `image/filename`, `image/repair` | bytes (UTF-8) | tf.string | all |
| `id`, `region` | bytes (UTF-8) | tf.string | landmark_images only |

Image configs: `sample`, `full`, `256px`, `sample-256px`; features configs: `efficientnetb0`,
`sample-efficientnetb0`.

This file imports nothing but TensorFlow (tested), so it can be copied alone where TFDS is not
installed. Imported as `clean_images.parsing`, Python first runs the package's `__init__`, which
imports TFDS (~1 s); either way, parsing runs TensorFlow ops only.
"""

from __future__ import annotations

import tensorflow as tf

DATASETS = ("pet_images", "landmark_images")
IMAGE_CONFIGS = ("sample", "full", "256px", "sample-256px")
FEATURES_CONFIGS = ("sample-efficientnetb0", "efficientnetb0")
FEATURES_SHAPE = (7, 7, 1280)
# The version folder of each config (the builders' config versions, restated here so this file
# imports nothing else; tested): the 256px configs take `ShorterSide.version`.
VERSIONS = {"sample": "1.0.0", "full": "1.0.0", "256px": "1.2.0", "sample-256px": "1.2.0",
            "sample-efficientnetb0": "1.0.0", "efficientnetb0": "1.0.0"}

_BYTES = tf.io.FixedLenFeature([], tf.string)
_INT = tf.io.FixedLenFeature([], tf.int64)
_LANDMARK_EXTRAS = {"id": _BYTES, "region": _BYTES}


def feature_spec(dataset: str, config: str) -> dict[str, tf.io.FixedLenFeature]:
    """What `tf.io.parse_example` needs for a record of `dataset`/`config`: every key stored, as stored."""
    _check_dataset(dataset)
    common = {"label": _INT, "image/filename": _BYTES, "image/repair": _BYTES}
    extras = _LANDMARK_EXTRAS if dataset == "landmark_images" else {}
    if is_features_config(config):
        return {"features": _BYTES, **common, **extras}
    return {"image": _BYTES, "image/height": _INT, "image/width": _INT, **common, **extras}


def parse_example(serialized: tf.Tensor, dataset: str, config: str) -> dict[str, tf.Tensor]:
    """One serialized record (a scalar) or a batch of them (a vector), as TFDS gives them with the image undecoded:
    heights and widths as int32, features decoded from their float16 bytes and shaped (..., 7, 7, 1280)."""
    parsed = tf.io.parse_example(serialized, feature_spec(dataset, config))
    for key in ("image/height", "image/width"):
        if key in parsed:
            parsed[key] = tf.cast(parsed[key], tf.int32)
    if "features" in parsed:
        values = tf.io.decode_raw(parsed["features"], tf.float16, little_endian=True)
        parsed["features"] = tf.reshape(values, tf.concat([tf.shape(serialized), FEATURES_SHAPE], axis=0))
    return parsed


def shard_pattern(data_dir: str, dataset: str, config: str, split: str, version: str | None = None) -> str:
    """The glob of a split's TFRecord shards, e.g. for `tf.io.gfile.glob` (local paths and gs:// alike);
    `version` defaults to the config's current one."""
    _check_dataset(dataset)
    is_features_config(config)  # checks the name
    return f"{data_dir.rstrip('/')}/{dataset}/{config}/{version or VERSIONS[config]}/{dataset}-{split}.tfrecord-*"


def is_features_config(config: str) -> bool:
    """True for a config that stores `features` instead of `image` (the name says which; unknown names are refused)."""
    if config in FEATURES_CONFIGS:
        return True
    if config in IMAGE_CONFIGS:
        return False
    raise ValueError(
        f"Unknown config {config!r}: image configs are {', '.join(IMAGE_CONFIGS)}; features configs are "
        f"{', '.join(FEATURES_CONFIGS)} (the folder after the dataset name in the shard path)."
    )


def _check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}: this format is that of {' and '.join(DATASETS)}.")
