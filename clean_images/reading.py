"""The recommended way to feed these datasets to training: decode once, as small as allowed.

    from clean_images import reading
    train = reading.training_pipeline("pet_images/256px", "train[:80%]", mode="train")
    val = reading.training_pipeline("pet_images/256px", "train[80%:]", mode="eval")

- Images are read undecoded (`SkipDecoding`) and decoded in one parallel map, with
  libjpeg's DCT scaling (`ratio` 2, 4 or 8) whenever the image is at least that many
  times larger than the target: far less work for large photos (landmark_images).
  `image/height` and `image/width` are stored, so the ratio is known before decoding.
- No TFDS autocache: it would keep every encoded image in RAM after the first epoch.
- Shuffling happens on encoded bytes (small), before decoding; two shards are read at a
  time, from local disks through 1 MiB buffers (TFDS's default, kept for gs:// and other
  object stores: 8 MiB, read ahead in parallel), and two batches prefetched, so memory
  stays flat.
- The map functions are traced as written, without AutoGraph: the first pipeline of each mode
  built in a process takes ~0.2 s to build instead of ~0.7 s (AutoGraph caches its conversion,
  so later ones took ~0.1 s either way): ~8 % of a first eval epoch of a 25k-image 256px config.
- tf.data's autotuning is off: parallelism and buffers are set here, and with it on an
  epoch's end is sometimes held until the autotuner's next wake-up (measured: in a third of
  runs, ~1 s late at 6k images, ~3 s at 25k, the cores idle meanwhile). It stays off for
  stages added after it (their AUTOTUNE means a fixed default); to turn it back on, apply
  options with `autotune.enabled = True`.
- `dtype=tf.uint8` rounds the resized pixels back to bytes, like the images TFDS returns:
  a quarter of the memory of float32; cast (or rescale) inside the model. float32 batches
  over 32 MB (64 at 224 px) are a fresh glibc `mmap` each, faulted in page by page, unless
  TensorFlow's pooling allocator is on (`TF_CPU_ALLOCATOR_USE_BFC=1` before its first op):
  1.5-1.7x faster here. Not set for you: it changes the whole process's memory behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf
import tensorflow_datasets as tfds
from absl import logging

from clean_images import duplicates
from clean_images.builder import CleanImageConfig
from clean_images.errors import built_builder
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
    return _as(tf.image.resize(image, (image_size, image_size)), dtype)


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


EVAL_CROP_FRACTION = 0.875  # "shorter side 256, centre crop 224": the ImageNet evaluation convention


def random_resized_crop(
    example: dict, image_size: int, seed: int | tf.Tensor | None = None, dtype: tf.DType = tf.float32
) -> tf.Tensor:
    """Train mode: a random crop (8-100 % of the area, aspect 3/4-4/3), decoding only that crop
    (`decode_and_crop_jpeg`), a random left-right flip, then a resize to image_size x image_size.

    `seed`: a stateless seed (an int, or shape [2]): the same seed, the same crop and flip,
    whichever thread of a parallel map runs it; None: new ones every call.
    """
    if isinstance(seed, int):
        seed = tf.constant([seed, 0], tf.int64)
    shape = tf.cast(tf.stack([example["image/height"], example["image/width"], 3]), tf.int32)
    box = {"bounding_boxes": tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), "min_object_covered": 0.1,
           "aspect_ratio_range": (3 / 4, 4 / 3), "area_range": (0.08, 1.0), "max_attempts": 10,
           "use_image_if_no_bounding_boxes": True}
    if seed is None:
        begin, size, _ = tf.image.sample_distorted_bounding_box(shape, **box)
        flip = tf.image.random_flip_left_right
    else:
        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(shape, seed=crop_seed, **box)
        flip = lambda image: tf.image.stateless_random_flip_left_right(image, flip_seed)
    window = tf.stack([begin[0], begin[1], size[0], size[1]])
    image = flip(tf.io.decode_and_crop_jpeg(example["image"], window, channels=3, dct_method="INTEGER_FAST"))
    return _as(tf.image.resize(image, (image_size, image_size)), dtype)


def center_crop(example: dict, image_size: int, dtype: tf.DType = tf.float32) -> tf.Tensor:
    """Eval mode: the shorter side resized to image_size / 0.875 (256 for 224; the longer side
    rounded as the 256px configs round it), then the centre image_size square, exactly (the
    same antialiased bilinear filter as `tf.image.resize`), but only the window under that
    square decoded. When the stored shorter side already is that size (the 256px configs at
    224), the crop is the output: no resampling at all (libjpeg upsamples 4:2:0 chroma at the
    crop's right edge without the column beyond it: that column may differ by a few levels)."""
    geometry = _center_crop_geometry(example["image/height"], example["image/width"], image_size)
    return _center_crop_with(example, geometry, image_size, dtype)


def _center_crop_geometry(height: tf.Tensor, width: tf.Tensor, image_size: int) -> dict[str, tf.Tensor]:
    """Where eval mode's crop lies, elementwise: for one example, or for a batch of them at once
    (`_with_center_crop_geometry`)."""
    resized_height, resized_width = _resized_size(height, width, round(image_size / EVAL_CROP_FRACTION))
    return {
        "resized": tf.stack([resized_height, resized_width], axis=-1),
        "crop": tf.stack([(resized_height - image_size) // 2, (resized_width - image_size) // 2], axis=-1),
        "stored_at_size": (resized_height == height) & (resized_width == width),
    }


def _with_center_crop_geometry(dataset: tf.data.Dataset, image_size: int, batch: int = 64) -> tf.data.Dataset:
    """(example, its crop geometry), the geometry computed for `batch` examples at once: its ~20
    small ops, run example by example, cost more than a tenth of an eval epoch on a 256px config
    (batched, the 25k replica's epoch ran 1.16x faster: median of 6 alternated runs)."""
    def geometry(examples: dict) -> tuple[dict, dict]:
        return examples, _center_crop_geometry(examples["image/height"], examples["image/width"], image_size)

    return dataset.batch(batch).map(_traced_as_is(geometry)).unbatch()


def _center_crop_with(example: dict, geometry: dict, image_size: int, dtype: tf.DType) -> tf.Tensor:
    """`center_crop` of one example whose geometry is computed."""
    top, left = geometry["crop"][0], geometry["crop"][1]
    return tf.cond(
        geometry["stored_at_size"],
        lambda: _decoded_crop(example["image"], tf.stack([top, left, image_size, image_size]), image_size, dtype),
        lambda: _resized_crop(example["image"], tf.stack([example["image/height"], example["image/width"]]),
                              geometry["resized"], geometry["crop"], image_size, dtype),
    )


def _resized_size(height: tf.Tensor, width: tf.Tensor, short_side: int) -> tuple[tf.Tensor, tf.Tensor]:
    """(height, width) with the shorter side at `short_side`, the other rounded as
    `clean_images.resize.ShorterSide.target` rounds it (half to even, like Python's round); elementwise."""
    short = tf.cast(tf.minimum(height, width), tf.float64)
    scale = short_side / short

    def other(side: tf.Tensor) -> tf.Tensor:
        return tf.maximum(1, tf.cast(tf.round(tf.cast(side, tf.float64) * scale), height.dtype))

    landscape = height <= width
    return (tf.where(landscape, tf.cast(short_side, height.dtype), other(height)),
            tf.where(landscape, other(width), tf.cast(short_side, height.dtype)))


def _decoded_crop(jpeg: tf.Tensor, window: tf.Tensor, image_size: int, dtype: tf.DType) -> tf.Tensor:
    image = tf.io.decode_and_crop_jpeg(jpeg, window, channels=3, dct_method="INTEGER_ACCURATE")
    return tf.ensure_shape(tf.cast(image, dtype), (image_size, image_size, 3))


def _resized_crop(
    jpeg: tf.Tensor, size: tf.Tensor, resized: tf.Tensor, crop: tf.Tensor, image_size: int, dtype: tf.DType
) -> tf.Tensor:
    """The `image_size` square at `crop` of the image resized to `resized`: the source window
    under it (plus the filter's reach) is decoded and resampled with the whole image's scale."""
    scale = tf.cast(resized, tf.float32) / tf.cast(size, tf.float32)
    reach = tf.cast(tf.math.ceil(tf.maximum(1.0, 1.0 / scale)), tf.int32) + 1  # the triangle's support, in source pixels
    start = tf.cast(tf.math.floor(tf.cast(crop, tf.float32) / scale), tf.int32) - reach
    stop = tf.cast(tf.math.ceil(tf.cast(crop + image_size, tf.float32) / scale), tf.int32) + reach
    start, stop = tf.maximum(start, 0), tf.minimum(stop, size)
    window = tf.concat([start, stop - start], axis=0)
    image = tf.io.decode_and_crop_jpeg(jpeg, window, channels=3, dct_method="INTEGER_ACCURATE")
    resampled = tf.raw_ops.ScaleAndTranslate(  # what tf.image.resize(antialias=True) runs, shifted to the window
        images=tf.cast(image, tf.float32)[None], size=[image_size, image_size], scale=scale,
        translation=tf.cast(start, tf.float32) * scale - tf.cast(crop, tf.float32), kernel_type="triangle",
        antialias=True,
    )[0]
    if not dtype.is_integer:  # (rounding brings integers back: see `_as`)
        # Its normalized weights can sum a rounding error above 1 (255.00006 seen). Bilinear
        # interpolation (the other modes) cannot overshoot, and a clip there cost 7-15 % of float32 reads.
        resampled = tf.clip_by_value(resampled, 0.0, 255.0)
    return _as(tf.ensure_shape(resampled, (image_size, image_size, 3)), dtype)


def _as(resized: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
    """Resampled pixels as `dtype`; integers rounded half to even, not clipped: every resampler here
    (bilinear, the antialiased triangle) weighs 0..255 pixels with non-negative weights that sum to 1,
    so its output strays from 0..255 by a rounding error at most (255.00006 seen), which rounding
    absorbs. The clip cost ~6 % of a uint8 train epoch (12 alternated rounds)."""
    if dtype.is_integer:
        return tf.cast(tf.round(resized), dtype)
    return tf.cast(resized, dtype)


def training_pipeline(
    name: str,
    split: str,
    *,
    mode: str = "resize",
    image_size: int = 224,
    batch_size: int = 64,
    data_dir: str | None = None,
    shuffle: bool | None = None,
    seed: int | None = None,
    dtype: tf.DType | str = tf.float32,
    drop_remainder: bool = False,
    skip_repaired: bool = False,
    skip_duplicates: bool = False,
    extras: Sequence[str] = (),
) -> tf.data.Dataset:
    """(images [batch, size, size, 3] in 0..255, labels) batches: float32 like Keras' loaders, or uint8.

    Args:
        name: a registered dataset and config, e.g. "pet_images/full", "pet_images/256px" or
            "landmark_images/sample" (import the dataset's package first, so TFDS knows it).
        split: a TFDS split expression, e.g. "train", "train[:80%]".
        mode: "train": random resized crop (only the crop is decoded) + random flip;
            "eval": shorter side to image_size / 0.875, centre crop (only the crop is decoded; no
            resize at all on a 256px config at 224); "resize": the whole image squashed to
            image_size x image_size, decoded at the coarsest DCT scale that covers it (like
            Keras' folder loader).
        image_size: the side of the square images returned.
        batch_size: examples per batch.
        data_dir: where the dataset was built (TFDS's default when None).
        shuffle: shuffle files and examples (a 1,024-example buffer of encoded bytes); default:
            True in "train" and "resize" modes, False in "eval" (the stored order).
        seed: for the shuffles and the random crops and flips: the same seed, the same batches
            (each epoch new ones, the same again in another run); None: new ones every epoch.
        dtype: tf.float32 (values 0..255, like Keras' loaders) or tf.uint8 (rounded, a quarter
            of the memory); also float16, bfloat16, float64, or a dtype's name ("uint8").
        drop_remainder: drop the last, smaller batch (static batch shapes, e.g. for TPUs).
        skip_repaired: leave out the images the build repaired (`image/repair` not empty).
        skip_duplicates: leave out every image but the first of its duplicate group (see
            `without_duplicates`).
        extras: other features to return beside each batch, e.g. ("image/filename",), or
            ("image/filename", "id") for landmark_images: batches are then (images, labels,
            {feature: values}), e.g. for a submission (without `skip_duplicates`, which also
            leaves out test images that copy a train image).

    Raises:
        NotBuiltError: `name` is not built in `data_dir` (the message gives the `tfds build` command).
        NotImportedError: `name` is one of this project's datasets, but its package is not imported.
        ValueError: an unknown `mode` or `dtype`, or an `extras` name that is not a feature of the dataset.
    """
    if mode not in ("train", "eval", "resize"):
        raise ValueError(f"mode must be 'train', 'eval' or 'resize', not {mode!r}")
    dtype = _pixel_dtype(dtype)
    shuffle = mode != "eval" if shuffle is None else shuffle
    builder = built_builder(name, data_dir)
    _check_extras(extras, builder.info.features, name)
    _warn_if_upscaled(_stored_as(builder), name, mode, image_size)
    dataset = builder.as_dataset(
        split=split,
        shuffle_files=shuffle,
        decoders={"image": tfds.decode.SkipDecoding()},
        read_config=_read_config(builder.data_dir, seed),
    )
    if skip_repaired:
        dataset = dataset.filter(_traced_as_is(lambda example: tf.equal(tf.strings.length(example["image/repair"]), 0)))
    if skip_duplicates:
        dataset = without_duplicates(dataset, builder.info)
    if shuffle:
        dataset = dataset.shuffle(1024, seed=seed)  # encoded bytes, ~26 MB at 256px: cheap to hold
    decode = {
        "train": lambda e, element_seed: random_resized_crop(e, image_size, element_seed, dtype),
        "eval": lambda e, geometry: _center_crop_with(e, geometry, image_size, dtype),
        "resize": lambda e, _: decode_resized(e, image_size, dtype),
    }[mode]
    if mode == "train" and seed is not None:
        dataset = tf.data.Dataset.zip((dataset, _element_seeds(seed)))
    elif mode == "eval":
        dataset = _with_center_crop_geometry(dataset, image_size)

    def to_batch_element(example: dict, prepared: tf.Tensor | dict | None = None):
        """`prepared`: the example's seed (train) or crop geometry (eval)."""
        if extras:
            return decode(example, prepared), example["label"], {key: example[key] for key in extras}
        return decode(example, prepared), example["label"]

    deterministic = seed is not None or not shuffle  # a seed promises the same batches
    dataset = dataset.map(_traced_as_is(to_batch_element), num_parallel_calls=worker_count(), deterministic=deterministic)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(2)  # two batches hide the next
    return dataset.with_options(without_autotuner())


_PIXEL_DTYPES = (tf.float32, tf.uint8, tf.float16, tf.bfloat16, tf.float64)  # hold 0..255; other integers wrap


def _pixel_dtype(dtype: tf.DType | str) -> tf.DType:
    """One of `_PIXEL_DTYPES`, also given by name."""
    try:
        as_dtype = tf.dtypes.as_dtype(dtype)
    except TypeError:
        as_dtype = None
    if as_dtype not in _PIXEL_DTYPES:
        names = ", ".join(f"tf.{d.name}" for d in _PIXEL_DTYPES)
        raise ValueError(f"dtype must be one of {names} (or its name), not {dtype!r}")
    return as_dtype


def _check_extras(extras: Sequence[str], features: tfds.features.FeaturesDict, name: str) -> None:
    """Every `extras` name is a feature of the dataset: said before any tracing, with the ones it has."""
    if isinstance(extras, str):
        raise ValueError(f"extras must be a sequence of feature names, e.g. ({extras!r},), not the string {extras!r}")
    unknown = list(dict.fromkeys(key for key in extras if key not in features))
    if unknown:
        available = ", ".join(sorted(key for key in features if key != "image"))
        raise ValueError(f"{name} has no feature {', '.join(map(repr, unknown))} to return in extras; it has: {available}")


def _traced_as_is(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` traced without AutoGraph, whose rewrite of its source was most of building a process's
    first pipeline (a first epoch, building included: eval 1.11x, train 1.06x faster without it). None
    here needs it: their `if`s test arguments fixed at construction, never tensors."""
    return tf.autograph.experimental.do_not_convert(function)


def _stored_as(builder: tfds.core.DatasetBuilder) -> dict:
    """What the config's image transform records (e.g. its shorter side), from the config itself:
    `info.metadata` would load the whole metadata.json, whose duplicate groups alone are ~7 MiB
    of Python objects for 25k images, held as long as the builder. (Data built by a version of
    this package whose config stored another size would be described by today's config: the
    warning is advice, and the dataset version changes with what a config stores.)"""
    config = builder.builder_config
    if isinstance(config, CleanImageConfig):
        return config.image_transform.metadata() if config.image_transform is not None else {}
    return builder.info.metadata.get("image_transform", {})  # a builder read from its files alone


def _warn_if_upscaled(transform: dict, name: str, mode: str, image_size: int) -> None:
    """A config stored at a smaller size than the pipeline needs would be enlarged: say so, once."""
    stored = transform.get("shorter_side")
    needed = round(image_size / EVAL_CROP_FRACTION) if mode == "eval" else image_size
    if stored is not None and needed > stored:
        logging.warning(
            "%s stores images with the shorter side at %d px, but mode=%r at image_size=%d needs %d: "
            "they will be enlarged. Read the full-size config for this size.", name, stored, mode, image_size, needed)


def _element_seeds(seed: int) -> tf.data.Dataset:
    """One stateless seed per example, new each epoch, the same for the same `seed` in any run (a
    stateful random op seeded once would hand out its draws in whatever order the map's threads ask)."""
    return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).map(
        _traced_as_is(lambda draw: tf.stack([draw, tf.constant(seed, tf.int64)])))


def without_duplicates(dataset: tf.data.Dataset, info: tfds.core.DatasetInfo) -> tf.data.Dataset:
    """Leaves out every file but the first of its group in `info.metadata["duplicates"]`.

    Groups span all splits and list train files first, so this also removes from a test
    split the copies of train images (leakage). Examples must be dicts with `image/filename`
    (not `as_supervised`).
    """
    if not isinstance(dataset.element_spec, dict) or "image/filename" not in dataset.element_spec:
        raise TypeError(
            "without_duplicates needs dict examples with image/filename: load without as_supervised=True, "
            "leave the duplicates out, then map to (image, label); or use training_pipeline(..., skip_duplicates=True)."
        )
    later = sorted(duplicates.later_copies(info.metadata["duplicates"]))
    if not later:
        return dataset
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(later), tf.ones(len(later), tf.bool)), default_value=False
    )
    return dataset.filter(_traced_as_is(lambda example: tf.logical_not(table.lookup(example["image/filename"]))))


def without_autotuner() -> tf.data.Options:
    """No autotuner: parallelism and buffers are set explicitly, and it can delay an epoch's end."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return options
