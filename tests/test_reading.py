"""The recommended training input pipeline: right shapes, every example once, DCT scaling."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import pet_images
from clean_images import reading
from clean_images.testing.faults import jpeg_bytes
from tests.helpers import build


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    build(pet_images.Builder, data_dir, config="sample")
    return str(data_dir)


@pytest.mark.parametrize("dtype", [tf.float32, tf.uint8])
def test_every_example_once_in_batches_of_the_asked_shape(sample_dir, dtype):
    dataset = reading.training_pipeline("pet_images/sample", "train", image_size=96, batch_size=16,
                                        data_dir=sample_dir, dtype=dtype, seed=1)
    batches = list(dataset)
    images = np.concatenate([b[0].numpy() for b in batches])
    labels = np.concatenate([b[1].numpy() for b in batches])
    assert images.shape == (78, 96, 96, 3) and images.dtype == dtype.as_numpy_dtype
    assert all(b[0].shape[0] == 16 for b in batches[:-1])
    assert sorted(set(labels)) == [0, 1] and 0 < images.mean() < 255


def test_uint8_is_the_rounded_float32(sample_dir):
    def first_batch(dtype):
        return next(iter(reading.training_pipeline("pet_images/sample", "train", image_size=64, data_dir=sample_dir,
                                                   dtype=dtype, shuffle=False)))[0].numpy()

    as_float, as_uint8 = first_batch(tf.float32), first_batch(tf.uint8)
    np.testing.assert_array_equal(np.clip(np.round(as_float), 0, 255).astype(np.uint8), as_uint8)


@pytest.mark.parametrize("size, expected_ratio", [((500, 375), 1), ((1000, 800), 2), ((2000, 1800), 8), ((1800, 950), 4)])
def test_decodes_at_the_coarsest_dct_scale_that_still_covers_the_target(photo, size, expected_ratio):
    jpeg = jpeg_bytes(photo.resize(size, Image.Resampling.BILINEAR), quality=90)
    example = {"image": tf.constant(jpeg), "image/height": tf.constant(size[1]), "image/width": tf.constant(size[0])}
    got = reading.decode_resized(example, 224).numpy()
    scaled = tf.io.decode_jpeg(jpeg, channels=3, ratio=expected_ratio, dct_method="INTEGER_FAST")
    assert min(scaled.shape[:2]) >= 224
    np.testing.assert_array_equal(got, tf.image.resize(scaled, (224, 224)).numpy())


def test_the_autotuner_is_off_so_an_epoch_ends_with_its_last_batch(sample_dir):
    # With tf.data's autotuner on, the end of an epoch sometimes waited for its next wake-up
    # (1-3 s here, cores idle); the pipeline sets its parallelism and buffers itself.
    dataset = reading.training_pipeline("pet_images/sample", "train", data_dir=sample_dir)
    assert dataset.options().autotune.enabled is False
