"""The sanitizer on every fault kind, made on the fly from a real photo."""

from __future__ import annotations

import io

import numpy as np
import pytest
import simplejpeg
from PIL import Image

from clean_images import sanitize
from clean_images.testing import faults
from clean_images.sanitize import REPAIRED, SKIPPED, STORED


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
        ("extraneous_bytes", "extraneous bytes removed"),
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
    assert verdict.reason == "extraneous bytes removed, CMYK JPEG converted to RGB"


@pytest.mark.parametrize("offset", [0.3, 0.5, 0.7, 0.9])
def test_damaged_scan_data_is_re_encoded_under_an_honest_reason(offset, photo, decode_silently):
    data = bytearray(faults.jpeg_bytes(photo))
    start = int(len(data) * offset)
    data[start : start + 64] = bytes(range(64))  # garbage inside the scan
    verdict = sanitize.sanitize(bytes(data))
    if verdict.outcome == STORED:  # libjpeg saw nothing wrong: neither can TensorFlow
        decode_silently(verdict.jpeg)
        return
    assert verdict.reason in ("corrupt JPEG data re-encoded", "extraneous bytes removed", "truncated JPEG"), verdict
    assert verdict.detail  # libjpeg's own words
    if verdict.jpeg is not None:
        decode_silently(verdict.jpeg)


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
    assert simplejpeg.decode_jpeg(verdict.jpeg).mean() > 20


def test_clean_photos_are_byte_identical(some_photos, decode_silently):
    for image in some_photos:
        data = faults.jpeg_bytes(image, quality=75)
        verdict = sanitize.sanitize(data)
        assert verdict.outcome == STORED and verdict.jpeg is data
        decode_silently(verdict.jpeg)
