"""The recommended training input pipeline: right shapes, every example once, DCT scaling."""

import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

import pet_images
from clean_images import reading
from clean_images.errors import NotBuiltError
from clean_images.resize import ShorterSide
from clean_images.testing.faults import jpeg_bytes
from tests.helpers import build

SAMPLE_TRAIN_KEPT = 78  # the train examples pet_images/sample keeps, of the 92 images it sanitizes


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
    assert images.shape == (SAMPLE_TRAIN_KEPT, 96, 96, 3) and images.dtype == dtype.as_numpy_dtype
    assert all(b[0].shape[0] == 16 for b in batches[:-1])
    assert sorted(set(labels)) == [0, 1] and 0 < images.mean() < 255


@pytest.mark.parametrize("mode", ["resize", "eval", "train"])
def test_uint8_is_the_rounded_float32(sample_dir, mode):
    # uint8 is rounded without a clip (see reading._as): a pixel out of 0..255 would wrap around here.
    def batches(dtype):
        return np.concatenate([images.numpy() for images, _ in reading.training_pipeline(
            "pet_images/sample", "train", mode=mode, image_size=64, data_dir=sample_dir, dtype=dtype, shuffle=False,
            seed=3)])

    as_float, as_uint8 = batches(tf.float32), batches(tf.uint8)
    assert len(as_uint8) == SAMPLE_TRAIN_KEPT
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


def _example(photo, size):
    jpeg = jpeg_bytes(photo.resize(size, Image.Resampling.BILINEAR), quality=92)
    return jpeg, {"image": tf.constant(jpeg), "image/height": tf.constant(size[1]), "image/width": tf.constant(size[0])}


def test_eval_mode_crops_only_when_the_shorter_side_is_already_256(photo):
    jpeg, example = _example(photo, (341, 256))
    got = reading.center_crop(example, 224, tf.uint8).numpy()
    full = tf.io.decode_jpeg(jpeg, channels=3, dct_method="INTEGER_ACCURATE").numpy()
    expected = full[16:240, 58:282]  # the centre 224 square, not resampled
    # Inside, identical; on the crop's right edge libjpeg upsamples chroma without the column beyond it.
    np.testing.assert_array_equal(got[:, :-1], expected[:, :-1])
    assert np.abs(got[:, -1].astype(int) - expected[:, -1]).max() <= 4


@pytest.mark.parametrize(
    ("size", "resized"),
    [((700, 525), (256, 341)), ((525, 700), (341, 256)), ((200, 150), (256, 341)), ((1000, 257), (256, 996))],
)
def test_eval_mode_is_resize_256_then_centre_crop_224(photo, size, resized):
    """Exactly: only the window under the crop is decoded, but resampled as the whole image would be
    (so a 256px config's stored image, cropped, matches it up to its JPEG re-encoding)."""
    jpeg, example = _example(photo, size)
    got = reading.center_crop(example, 224).numpy()
    full = tf.io.decode_jpeg(jpeg, channels=3, dct_method="INTEGER_ACCURATE")
    whole = tf.image.resize(full, resized, antialias=True).numpy()  # shorter side to 256, the other rounded
    top, left = (resized[0] - 224) // 2, (resized[1] - 224) // 2
    assert got.shape == (224, 224, 3)
    np.testing.assert_allclose(got, whole[top : top + 224, left : left + 224], atol=0.01)


def test_train_mode_crops_flips_and_resizes_the_same_for_the_same_seed(photo):
    _, example = _example(photo, (500, 375))
    unseeded = [reading.random_resized_crop(example, 160).numpy() for _ in range(3)]
    assert all(c.shape == (160, 160, 3) for c in unseeded)
    assert not np.array_equal(unseeded[0], unseeded[1])  # a new crop every call
    seeded = [reading.random_resized_crop(example, 160, 7).numpy(),
              reading.random_resized_crop(example, 160, tf.constant([7, 0], tf.int64)).numpy()]
    np.testing.assert_array_equal(seeded[0], seeded[1])  # an int seed is the stateless seed [seed, 0]
    other = reading.random_resized_crop(example, 160, 8).numpy()
    assert not np.array_equal(seeded[0], other)


def test_a_seeded_train_pipeline_gives_the_same_batches_every_run_and_new_ones_every_epoch(sample_dir):
    # Without op determinism: the crops come from per-example stateless seeds, not from a
    # stateful op whose draws the map's two threads take in any order.
    def epochs(seed: int, count: int = 2) -> list[np.ndarray]:
        dataset = reading.training_pipeline("pet_images/sample", "train", mode="train", image_size=64,
                                            batch_size=16, data_dir=sample_dir, seed=seed, dtype=tf.uint8)
        return [np.concatenate([images.numpy() for images, _ in dataset]) for _ in range(count)]

    first, second = epochs(0), epochs(0)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])  # a new epoch, new crops and order
    assert not np.array_equal(first[0], epochs(1, count=1)[0])


def test_float32_pixels_stay_within_0_255(sample_dir):
    # Resampling rounds: the eval crop of a full-size image once came out at 255.00006.
    for mode in ("eval", "train", "resize"):
        for images, _ in reading.training_pipeline("pet_images/sample", "train", mode=mode, image_size=64,
                                                   data_dir=sample_dir, seed=2):
            assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 255.0


def test_pipeline_modes_filters_and_extras(sample_dir):
    def count(**kwargs) -> int:
        return sum(int(b[0].shape[0]) for b in reading.training_pipeline(
            "pet_images/sample", "train", image_size=64, batch_size=10, data_dir=sample_dir, seed=3, **kwargs))

    assert count(mode="train") == count(mode="eval") == SAMPLE_TRAIN_KEPT
    assert count(mode="eval", drop_remainder=True) == 70
    assert count(mode="eval", skip_repaired=True) == 52  # the sample's 26 repaired images left out
    images, labels, extras = next(iter(reading.training_pipeline(
        "pet_images/sample", "train", mode="eval", image_size=64, data_dir=sample_dir, extras=("image/filename",))))
    assert images.shape[1:] == (64, 64, 3) and labels.shape == extras["image/filename"].shape
    assert extras["image/filename"][0].numpy().startswith(b"PetImages/")
    with pytest.raises(ValueError, match="mode must be"):
        reading.training_pipeline("pet_images/sample", "train", mode="crop", data_dir=sample_dir)


def test_extras_and_dtype_are_checked_before_any_tracing(sample_dir):
    # pet_images has no Dacon id: the error lists the features it has, not a KeyError deep in tf.data's tracing.
    with pytest.raises(ValueError, match=r"pet_images/sample has no feature 'id' to return in extras; it has: "
                                         r"image/filename, image/height, image/repair, image/width, label"):
        reading.training_pipeline("pet_images/sample", "train", data_dir=sample_dir, extras=("image/filename", "id"))
    with pytest.raises(ValueError, match=r"extras must be a sequence of feature names, e\.g\. \('image/filename',\)"):
        reading.training_pipeline("pet_images/sample", "train", data_dir=sample_dir, extras="image/filename")
    for wrong in (tf.int32, "int8", "float8_e4m3fn", "pixels"):
        with pytest.raises(ValueError, match="dtype must be one of tf.float32, tf.uint8, "):
            reading.training_pipeline("pet_images/sample", "train", data_dir=sample_dir, dtype=wrong)
    images, _ = next(iter(reading.training_pipeline("pet_images/sample", "train", mode="eval", image_size=32,
                                                    data_dir=sample_dir, dtype="uint8")))
    assert images.dtype == tf.uint8


def test_reading_before_importing_the_dataset_package_says_to_import_it(tmp_path):
    # A fresh process, where nothing imported landmark_images: TFDS alone would list its hundreds of datasets.
    code = ("from clean_images import reading\n"
            "try:\n"
            f"    reading.training_pipeline('landmark_images/sample', 'train', data_dir={str(tmp_path)!r})\n"
            "except Exception as error:\n"
            "    from tensorflow_datasets.core.registered import DatasetNotFoundError\n"
            "    print(type(error).__name__, isinstance(error, DatasetNotFoundError), error)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip() == (
        "NotImportedError True TFDS does not know landmark_images in this process: `import landmark_images` first "
        "(importing the dataset's package registers its builder), then read 'landmark_images/sample'."), result.stderr


def test_an_older_version_not_built_here_is_a_clear_error_naming_the_current_one(tmp_path):
    """TFDS raises a bare AssertionError for `name:version` when that version is neither current nor built."""
    message = (f"pet_images/256px:1.1.0 is not built (.*1.1.0.*): an older version is read only where it was built; "
               f"the current one, {re.escape(ShorterSide.version)}, is built by: tfds build pet_images --config 256px ")
    with pytest.raises(NotBuiltError, match=message):
        reading.training_pipeline("pet_images/256px:1.1.0", "train", data_dir=str(tmp_path))


def test_an_unbuilt_config_is_a_clear_error_with_the_build_command(tmp_path, caplog):
    with pytest.raises(NotBuiltError, match=f"pet_images/256px is not built: no dataset_info.json in {tmp_path}/pet_images/"
                                            f"256px/{ShorterSide.version}. Build it first: tfds build pet_images --config 256px "
                                            f"--imports pet_images --data_dir {tmp_path}$"):
        reading.training_pipeline("pet_images/256px", "train", data_dir=str(tmp_path))
    assert "dataset_info.json" not in caplog.text  # TFDS's own warning of it would come first, without the fix
    import landmark_images  # noqa: F401  # a manual download: the command needs --manual_dir

    with pytest.raises(NotBuiltError, match=re.escape(f"--imports landmark_images --data_dir {tmp_path} --manual_dir DIR (")):
        reading.training_pipeline("landmark_images/full", "train", data_dir=str(tmp_path))
    with pytest.raises(NotBuiltError, match=f"--imports landmark_images --data_dir {tmp_path}$"):
        reading.training_pipeline("landmark_images/sample", "train", data_dir=str(tmp_path))


def test_reading_a_256px_config_at_a_larger_size_warns_that_it_enlarges(caplog):
    stored = {"shorter_side": 256}
    reading._warn_if_upscaled(stored, "pet_images/256px", "eval", 224)  # 256 needed: stored at size
    reading._warn_if_upscaled(stored, "pet_images/256px", "train", 256)
    reading._warn_if_upscaled({}, "pet_images/full", "eval", 600)  # full size: nothing to say
    assert caplog.text == ""
    reading._warn_if_upscaled(stored, "pet_images/256px", "eval", 300)
    assert "shorter side at 256 px, but mode='eval' at image_size=300 needs 343: they will be enlarged" in caplog.text


def test_the_pipeline_leaves_metadata_json_unread_and_still_warns_of_enlarging(tmp_path, monkeypatch, caplog):
    """The stored size for the warning comes from the config: reading never loads metadata.json,
    whose duplicate groups are ~7 MiB of Python objects at 25k images, kept with the builder."""
    import tensorflow_datasets as tfds

    build(pet_images.Builder, tmp_path, config="sample-256px")
    loads = []
    real = tfds.core.MetadataDict.load_metadata
    monkeypatch.setattr(tfds.core.MetadataDict, "load_metadata", lambda self, folder: loads.append(folder) or real(self, folder))
    next(iter(reading.training_pipeline("pet_images/sample-256px", "train", image_size=300, mode="eval", data_dir=str(tmp_path))))
    assert loads == [] and "they will be enlarged" in caplog.text
    assert tfds.builder("pet_images/sample-256px", data_dir=str(tmp_path)).info.metadata["image_transform"]["shorter_side"] == 256
    assert len(loads) == 1  # the spy sees a load


@pytest.mark.parametrize("config, image_size", [("sample", 96), ("sample-256px", 224)])
def test_the_eval_pipeline_crops_as_center_crop_does_example_by_example(sample_dir, config, image_size):
    # The pipeline computes the crop geometry a batch at a time; it must land where center_crop
    # puts it, on both branches (resampled: `sample` at 96; cropped only: `sample-256px` at 224).
    if config != "sample":
        build(pet_images.Builder, sample_dir, config=config)
    images, filenames = [], []
    for batch, _, extras in reading.training_pipeline(f"pet_images/{config}", "train", mode="eval", image_size=image_size,
                                                      batch_size=10, data_dir=sample_dir, dtype=tf.uint8,
                                                      extras=("image/filename",)):
        images.append(batch.numpy())
        filenames += list(extras["image/filename"].numpy())
    dataset = pet_images.Builder(config=config, data_dir=sample_dir).as_dataset(
        split="train", shuffle_files=False, decoders={"image": tfds.decode.SkipDecoding()})
    expected = {example["image/filename"].numpy(): reading.center_crop(example, image_size, tf.uint8).numpy()
                for example in dataset}
    stored_at_256 = [min(int(e["image/height"]), int(e["image/width"])) == 256 for e in dataset]
    assert any(stored_at_256) if config == "sample-256px" else not any(stored_at_256)
    assert len(filenames) == len(expected) == SAMPLE_TRAIN_KEPT
    np.testing.assert_array_equal(np.concatenate(images), np.stack([expected[f] for f in filenames]))
