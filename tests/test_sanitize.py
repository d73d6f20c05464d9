"""The sanitizer on every fault kind, made on the fly from a real photo."""

from __future__ import annotations

import collections
import io

import numpy as np
import pytest
import simplejpeg
from PIL import Image

from clean_images import sanitize
from clean_images.sanitize import REPAIRED, SKIPPED, STORED
from clean_images.testing import faults


@pytest.mark.parametrize("fault", sorted(faults.FAULTS))
def test_every_fault_kind_gets_its_outcome(fault, photo, decode_silently):
    make, expected = faults.FAULTS[fault]
    data = make(photo)
    verdict = sanitize.sanitize(data)
    assert verdict.outcome == expected, verdict
    if expected == SKIPPED:
        assert verdict.jpeg is None and verdict.reason
        return
    assert decode_silently(verdict.jpeg) == (verdict.height, verdict.width, 3)
    assert (verdict.height, verdict.width) == (photo.height, photo.width)
    if expected == STORED:
        assert verdict.jpeg == data and verdict.reason == ""
    else:
        assert verdict.reason and verdict.jpeg != data


def test_truncated_images_stay_skipped_when_other_code_told_pillow_to_load_them(photo, monkeypatch):
    """tfds.as_dataframe sets PIL.ImageFile.LOAD_TRUNCATED_IMAGES for the whole process: a build after it
    kept truncated PNGs padded with grey, until the sanitizer set the flag back."""
    from PIL import ImageFile  # pylint: disable=g-import-not-at-top

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    verdict = sanitize.sanitize(faults.truncated_png(photo))
    assert (verdict.outcome, verdict.reason) == (SKIPPED, "truncated PNG")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_the_raw_faults_really_are_faults(photo, capfd):
    """Guards the fixtures: without sanitation TF warns, misdecodes or fails on them."""
    import tensorflow as tf

    capfd.readouterr()
    tf.io.decode_jpeg(faults.extraneous_bytes_jpeg(photo), channels=3)
    assert "extraneous bytes before marker 0xd9" in capfd.readouterr().err
    tf.io.decode_jpeg(faults.jfif_revision_zero(photo), channels=3)
    assert "unknown JFIF revision number 0.00" in capfd.readouterr().err
    with pytest.raises(tf.errors.InvalidArgumentError):  # TF refuses what libjpeg calls truncated
        tf.io.decode_jpeg(faults.missing_eoi_jpeg(photo), channels=3)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.decode_jpeg(faults.FAULTS["bmp_as_jpg"][0](photo), channels=3)
    gif = faults.FAULTS["gif_as_jpg"][0](photo)
    assert tf.io.decode_image(gif).shape.rank == 4  # GIF: a 4-D tensor, breaks pipelines
    cmyk = faults.FAULTS["cmyk_jpeg"][0](photo)
    assert simplejpeg.decode_jpeg_header(cmyk)[2] == "CMYK"


@pytest.mark.parametrize(
    "fault, reason",
    [
        ("extraneous_bytes", sanitize.EXTRANEOUS_BYTES_REMOVED),
        ("missing_eoi", "missing end-of-image marker added"),
        ("jfif_revision_zero", "JFIF version fixed"),
    ],
)
def test_repairs_in_place_keep_every_pixel(fault, reason, photo):
    data = faults.FAULTS[fault][0](photo)
    verdict = sanitize.sanitize(data)
    assert verdict.reason == reason and verdict.detail
    original = faults.jpeg_bytes(photo)  # each of these faults was made from this clean file
    np.testing.assert_array_equal(simplejpeg.decode_jpeg(verdict.jpeg), simplejpeg.decode_jpeg(original))
    assert abs(len(verdict.jpeg) - len(original)) <= 8


def test_progressive_jpeg_missing_only_its_end_marker_keeps_every_pixel(photo):
    original = faults.jpeg_bytes(photo, progressive=True)
    verdict = sanitize.sanitize(original[:-2])
    assert verdict.reason == "missing end-of-image marker added"
    assert verdict.jpeg == original


def test_non_rgb_jpegs_are_checked_before_conversion(photo):
    assert sanitize.sanitize(faults.truncated_grayscale_jpeg(photo)).reason == "truncated JPEG"
    verdict = sanitize.sanitize(faults.cmyk_with_extraneous_bytes(photo))
    assert verdict.reason == f"{sanitize.EXTRANEOUS_BYTES_REMOVED}, CMYK JPEG converted to RGB"


def _scan_corruptions(photo, count: int, seed: int = 5):
    """(libjpeg's message on the damaged file, its verdict) for `count` one-byte changes inside
    the scan of one complete JPEG; only those libjpeg notices."""
    from benchmarks.damaged_scans import corrupt_scan_byte

    clean = faults.jpeg_bytes(photo)
    rng = np.random.default_rng(seed)
    for _ in range(count):
        damaged = corrupt_scan_byte(clean, rng)
        message = sanitize._jpeg_warning(damaged)  # pylint: disable=protected-access
        if message is not None:
            yield damaged, message, sanitize.sanitize(damaged)


def test_damaged_scans_get_honest_reasons_on_every_branch(photo, decode_silently):
    """A complete file is never truncated; a desynchronised scan is re-encoded or cut, never
    given a reason that claims untouched pixels; both repair branches are really reached."""
    reasons = collections.Counter()
    for damaged, message, verdict in _scan_corruptions(photo, 400):
        reasons[verdict.reason] += 1
        assert damaged.endswith(b"\xff\xd9") and not verdict.reason.startswith("truncated"), (message, verdict)
        assert verdict.reason not in ("missing end-of-image marker added", "JFIF version fixed"), (message, verdict)
        assert verdict.detail.startswith(message), (message, verdict)
        lowered = message.lower()
        if "premature end of data segment" in lowered or "huffman" in lowered:
            assert verdict.reason == "corrupt JPEG data re-encoded", (message, verdict)
        elif "extraneous bytes before marker 0xd9" in lowered:
            assert verdict.reason in (sanitize.EXTRANEOUS_BYTES_REMOVED, "corrupt JPEG data re-encoded"), verdict
        if verdict.reason == "corrupt JPEG data re-encoded":  # libjpeg's lenient decode, re-encoded at q95
            lenient = simplejpeg.decode_jpeg(damaged, strict=False).astype(np.int16)
            stored = simplejpeg.decode_jpeg(verdict.jpeg).astype(np.int16)
            assert np.abs(stored - lenient).mean() < 2.0
        if verdict.reason == sanitize.EXTRANEOUS_BYTES_REMOVED:  # cut: exactly libjpeg's pixels of the file
            np.testing.assert_array_equal(simplejpeg.decode_jpeg(verdict.jpeg), simplejpeg.decode_jpeg(damaged, strict=False))
        if verdict.jpeg is not None:
            decode_silently(verdict.jpeg)
    assert reasons["corrupt JPEG data re-encoded"] >= 5 and reasons[sanitize.EXTRANEOUS_BYTES_REMOVED] >= 5, reasons


def test_a_complete_file_whose_scan_ran_into_its_end_marker_is_not_truncated(photo):
    """libjpeg's 'premature end of data segment' in a file that ends with its end marker."""
    found = [v for _, m, v in _scan_corruptions(photo, 150) if "premature end of data segment" in m.lower()]
    assert found and all(v.outcome == REPAIRED and v.reason == "corrupt JPEG data re-encoded" for v in found)


def test_huge_claimed_dimensions_are_skipped_before_decoding():
    header = faults.jpeg_bytes(Image.new("RGB", (8, 8)))
    sof = header.find(b"\xff\xc0")
    bomb = header[: sof + 5] + (60000).to_bytes(2, "big") + (60000).to_bytes(2, "big") + header[sof + 9 :]
    verdict = sanitize.sanitize(bomb)
    assert (verdict.outcome, verdict.reason) == (SKIPPED, "decompression bomb")


def test_transparent_png_is_flattened_on_white(photo):
    rgba = photo.convert("RGBA")
    rgba.putalpha(0)  # fully transparent
    buffer = io.BytesIO()
    rgba.save(buffer, "PNG")
    verdict = sanitize.sanitize(buffer.getvalue())
    assert verdict.outcome == REPAIRED
    pixels = simplejpeg.decode_jpeg(verdict.jpeg)
    assert pixels.min() > 245  # white, not the black that convert("RGB") would give


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "not an image"),
        (b"\xff\xd8\xff\xe0" + bytes(50), None),
        (b"GIF89a" + bytes(20), None),
    ],
)
def test_garbage_is_skipped_never_raised(data, reason):
    verdict = sanitize.sanitize(data)
    assert verdict.outcome == SKIPPED and verdict.jpeg is None
    if reason:
        assert verdict.reason == reason


def test_sixteen_bit_png_is_scaled_not_clipped(photo):
    array = (np.asarray(photo.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    verdict = sanitize.sanitize(buffer.getvalue())
    assert verdict.outcome == REPAIRED
    stored = simplejpeg.decode_jpeg(verdict.jpeg, colorspace="GRAY")[..., 0].astype(np.float64)
    grey = np.asarray(photo.convert("L"), dtype=np.float64)
    expected = grey * 255.0 / grey.max()  # 16-bit scaled by its peak, back to 8 bits
    assert np.abs(stored - expected).mean() < 2.0  # plain conversion would saturate near 255


def test_clean_photos_are_byte_identical(some_photos, decode_silently):
    for image in some_photos:
        data = faults.jpeg_bytes(image, quality=75)
        verdict = sanitize.sanitize(data)
        assert verdict.outcome == STORED and verdict.jpeg is data
        decode_silently(verdict.jpeg)
