"""The recommended way to feed these datasets to training: decode once, as small as allowed.

    from clean_images import reading
    train = reading.training_pipeline("pet_images", "train[:80%]", image_size=224)

- Images are read undecoded (`SkipDecoding`) and decoded in one parallel map, with
  libjpeg's DCT scaling (`ratio` 2, 4 or 8) whenever the image is at least that many
  times larger than the target: far less work for large photos (landmark_images).
  `image/height` and `image/width` are stored, so the ratio is known before decoding.
- No TFDS autocache: it would keep every encoded image in RAM after the first epoch.
- Shuffling happens on encoded bytes (small), before decoding; two shards are read at a
  time, from local disks through 1 MiB buffers (TFDS's default, kept for gs:// and other
  object stores: 8 MiB, read ahead in parallel), and two batches prefetched, so memory
  stays flat.
- tf.data's autotuning is off: parallelism and buffers are set here, and with it on an
  epoch's end is sometimes held until the autotuner's next wake-up (measured: in a third of
  runs, ~1 s late at 6k images, ~3 s at 25k, the cores idle meanwhile). It stays off for
  stages added after it (their AUTOTUNE means a fixed default); to turn it back on, apply
  options with `autotune.enabled = True`.
- `dtype=tf.uint8` rounds the resized pixels back to bytes, like the images TFDS returns:
  a quarter of the memory of float32; cast (or rescale) inside the model.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_datasets as tfds

from clean_images.parallel import worker_count

_RATIOS = (8, 4, 2)


def decode_resized(example: dict, image_size: int, dtype: tf.DType = tf.float32) -> tf.Tensor:
    """Decodes at the coarsest DCT scale that still covers `image_size`, then resizes."""
    short_side = tf.minimum(example["image/height"], example["image/width"])
    branch = tf.constant(len(_RATIOS), tf.int32)  # default: full scale
    for index, ratio in reversed(list(enumerate(_RATIOS))):
        branch = tf.where(short_side >= ratio * image_size, tf.constant(index, tf.int32), branch)

    def decoder(ratio: int):
        return lambda: tf.io.decode_jpeg(example["image"], channels=3, ratio=ratio, dct_method="INTEGER_FAST")

    image = tf.switch_case(branch, [decoder(r) for r in _RATIOS] + [decoder(1)])
    image.set_shape((None, None, 3))
    resized = tf.image.resize(image, (image_size, image_size))
    if dtype.is_integer:
        return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), dtype)
    return tf.cast(resized, dtype)


def _read_config(data_dir: str, seed: int | None) -> tfds.ReadConfig:
    """Local disks: small buffers, no read-ahead (memory). Object stores keep TFDS's buffered,
    parallel reads, which hide their latency."""
    if "://" in data_dir:
        return tfds.ReadConfig(try_autocache=False, shuffle_seed=seed, interleave_cycle_length=2)
    return tfds.ReadConfig(
        try_autocache=False,
        shuffle_seed=seed,
        interleave_cycle_length=2,
        num_parallel_calls_for_interleave_files=1,  # reading is cheap; parallel reads buffer ahead
        override_buffer_size=1 << 20,
        skip_prefetch=True,  # the prefetch that matters is the last one, of decoded batches
    )


def training_pipeline(
    name: str,
    split: str,
    *,
    image_size: int = 224,
    batch_size: int = 64,
    data_dir: str | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    dtype: tf.DType = tf.float32,
) -> tf.data.Dataset:
    """(images [batch, size, size, 3] in 0..255, labels) batches: float32 like Keras' loaders, or uint8.

    Args:
        name: a registered dataset and config, e.g. "pet_images/full" or "landmark_images/sample"
            (import the dataset's package first, so TFDS knows it).
        split: a TFDS split expression, e.g. "train", "train[:80%]".
        image_size: the side of the square images returned; each image is decoded at the
            coarsest DCT scale that still covers it, then resized (aspect not kept).
        batch_size: examples per batch; the last batch may be smaller.
        data_dir: where the dataset was built (TFDS's default when None).
        shuffle: shuffle files and examples (a 1,024-example buffer of encoded bytes); False
            gives the stored order, deterministic.
        seed: for the shuffles; None: a new order every epoch.
        dtype: tf.float32 (values 0..255, like Keras' loaders) or tf.uint8 (rounded, a quarter
            of the memory).
    """
    builder = tfds.builder(name, data_dir=data_dir)
    dataset = builder.as_dataset(
        split=split,
        shuffle_files=shuffle,
        decoders={"image": tfds.decode.SkipDecoding()},
        read_config=_read_config(builder.data_dir, seed),
    )
    if shuffle:
        dataset = dataset.shuffle(1024, seed=seed)  # encoded bytes, ~30 MB: cheap to hold
    dataset = dataset.map(
        lambda example: (decode_resized(example, image_size, dtype), example["label"]),
        num_parallel_calls=worker_count(),
        deterministic=not shuffle,
    )
    dataset = dataset.batch(batch_size).prefetch(2)  # two decoded batches are enough to hide the next
    return dataset.with_options(without_autotuner())


def without_autotuner() -> tf.data.Options:
    """No autotuner: parallelism and buffers are set explicitly, and it can delay an epoch's end."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return options
