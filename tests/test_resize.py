"""clean_images.resize and the 256px configs: geometry, quality, same examples as the full config."""

from __future__ import annotations

import io

import numpy as np
import pytest
import simplejpeg
from PIL import Image as PILImage

from clean_images import report as report_lib
from clean_images.hooks import Image
from clean_images.resize import ShorterSide
from clean_images.testing.faults import jpeg_bytes
from clean_images.testing.replica import write_pet_archive
from pet_images import pet_images_dataset_builder as pet
from tests.helpers import TFDS, build, run_ok, stored_examples


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize(
    "size, expected", [((375, 500), (256, 341)), ((500, 375), (341, 256)), ((1000, 1000), (256, 256)), ((3000, 4000), (256, 341))]
)
def test_the_shorter_side_becomes_256_and_the_aspect_is_kept(size, expected):
    assert ShorterSide(256).target(*size) == expected


@pytest.mark.parametrize("size", [(256, 400), (120, 90), (256, 256)])
def test_images_at_most_256_on_their_shorter_side_are_never_upscaled_nor_re_encoded(size, photo):
    data = jpeg_bytes(photo.resize((size[1], size[0])))
    image = Image(data, *size)
    assert ShorterSide(256)(image) is image


@pytest.mark.parametrize("scale", [2, 4, 8])  # 8: libjpeg decodes at 1/4 scale before the area filter
def test_resized_image_is_close_to_a_lanczos_resize_of_the_full_image(photo, scale):
    big = photo.resize((photo.width * scale, photo.height * scale), PILImage.Resampling.BICUBIC)
    data = jpeg_bytes(big, quality=95)
    out = ShorterSide(256)(Image(data, big.height, big.width))
    pixels = simplejpeg.decode_jpeg(out.jpeg)
    assert pixels.shape == (out.height, out.width, 3) and min(out.height, out.width) == 256
    decoded = PILImage.open(io.BytesIO(data)).convert("RGB")
    reference = np.asarray(decoded.resize((out.width, out.height), PILImage.Resampling.LANCZOS))
    assert _psnr(pixels, reference) > 33.0


def test_optimized_huffman_tables_store_the_same_pixels_in_fewer_bytes(photo):
    """Huffman coding is lossless: only the entropy tables change, so every epoch decodes fewer bytes."""
    import cv2

    rgb = np.asarray(photo.convert("RGB"))
    standard = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [
        cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420])[1].tobytes()
    optimized = ShorterSide(256).encode(rgb)
    assert len(optimized) < 0.99 * len(standard)
    assert np.array_equal(simplejpeg.decode_jpeg(optimized), simplejpeg.decode_jpeg(standard))
    assert simplejpeg.decode_jpeg_header(optimized)[3] == "420"


@pytest.fixture(scope="module")
def replica(tmp_path_factory):
    """PetImages-sized photos (shorter side ~280-500) with faults, in a manual_dir."""
    folder = tmp_path_factory.mktemp("manual")
    faults = {"png_as_jpg": 1, "cmyk_jpeg": 1, "extraneous_bytes": 1, "empty": 1, "truncated_jpeg": 1, "exif_only": 1}
    write_pet_archive(str(folder / "pets.zip"), images_per_class=12, faults=faults, seed=8, max_width=700, min_width=560)
    return folder


def test_256px_config_stores_the_same_examples_at_training_size(replica, tmp_path):
    full = build(pet.Builder, tmp_path / "full", manual_dir=replica, config="full")
    small = build(pet.Builder, tmp_path / "small", manual_dir=replica, config="256px")
    full_examples, small_examples = stored_examples(full), stored_examples(small)
    assert full_examples.keys() == small_examples.keys() and len(small_examples) == 32
    resized = 0
    for name, example in small_examples.items():
        source = full_examples[name]
        for key in ("label", "image/filename", "image/repair"):
            assert example[key] == source[key], (name, key)
        h, w = int(source["image/height"]), int(source["image/width"])
        expected = ShorterSide(256).target(h, w) or (h, w)
        assert (example["image/height"], example["image/width"]) == expected
        assert simplejpeg.decode_jpeg(example["image"]).shape == (*expected, 3)
        if min(h, w) > 256:  # re-encoded: 4:2:0 chroma, as the metadata says
            assert simplejpeg.decode_jpeg_header(example["image"])[3] == "420", name
            resized += 1
    assert resized >= 20
    assert small.info.metadata[report_lib.METADATA_KEY] == full.info.metadata[report_lib.METADATA_KEY]
    assert small.info.metadata["image_transform"]["shorter_side"] == 256
    assert small.info.metadata["image_transform"]["chroma_subsampling"] == "4:2:0"
    assert small.info.metadata["image_transform"]["huffman"] == "optimized"
    assert str(small.version) == "1.2.0" and "Huffman" in small.info.release_notes["1.2.0"]
    assert "4:2:0" in small.info.release_notes["1.1.0"]
    assert str(full.version) == "1.0.0"  # its bytes did not change
    assert "JPEG quality 90" in small.info.config_description and "INTER_AREA" in small.info.config_description
    assert small.info.metadata["image_transform"]["filter"].startswith("libjpeg DCT scaling")


@pytest.mark.slow
def test_tfds_build_without_a_config_builds_both_samples_before_asking_for_the_archive(tmp_path):
    """Offline, every config in order: sample and sample-256px are built, then full stops with the manual steps."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent
    env_data = tmp_path / "data"
    result = __import__("subprocess").run(
        [TFDS, "build", "pet_images", "--data_dir", str(env_data)], cwd=root, capture_output=True, text=True, timeout=600
    )
    assert result.returncode != 0
    assert "--manual_dir" in result.stderr + result.stdout
    for config, version in (("sample", "1.0.0"), ("sample-256px", ShorterSide.version)):
        assert (env_data / "pet_images" / config / version / "dataset_info.json").exists(), config
    assert not (env_data / "pet_images" / "256px").exists()
    assert not (env_data / "pet_images" / "sample-efficientnetb0").exists()  # features come last
    run_ok([TFDS, "build", "pet_images", "--config", "sample-256px", "--data_dir", str(env_data)], cwd=root)


def test_pixels_decoded_by_validation_give_the_same_bytes_as_a_fresh_decode(photo):
    """One decode serves validation and resize: sanitize hands over the pixels at the DCT scale asked for."""
    from clean_images import sanitize

    big = photo.resize((photo.width * 8, photo.height * 8), PILImage.Resampling.BICUBIC)  # > 2x the target
    data = jpeg_bytes(big, quality=90)
    transform = ShorterSide(256)
    verdict = sanitize.sanitize(data, transform.decode_size)
    assert verdict.outcome == "stored" and verdict.pixels is not None
    assert min(verdict.pixels.shape[:2]) >= 256 and min(verdict.pixels.shape[:2]) < min(big.size)  # a DCT-scaled decode
    shared = transform(Image(data, big.height, big.width, verdict.pixels))
    fresh = transform(Image(data, big.height, big.width))
    assert shared == fresh
    eighth = sanitize.sanitize(data).pixels  # nobody asked: validation stays at 1/8 scale
    assert eighth.shape[:2] == (-(-big.height // 8), -(-big.width // 8))
