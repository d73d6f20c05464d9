"""The fault kinds found in real image archives, made on demand from a clean photo.

Used by the sample generator, the tests and the replica generator, so each fault the
sanitizer claims to handle is exercised with bytes built the way the real ones are.
Each entry maps a fault name to (maker, expected outcome).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

from PIL import Image

from clean_images.sanitize import REPAIRED, SKIPPED, STORED


def jpeg_bytes(image: Image.Image, quality: int = 85, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, **options)
    return buffer.getvalue()


def _saved_as(fmt: str, mode: str = "RGB") -> Callable[[Image.Image], bytes]:
    def make(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.convert(mode).save(buffer, fmt)
        return buffer.getvalue()

    return make


def exif_only_jpeg(image: Image.Image) -> bytes:
    """A camera-style JPEG: an Exif APP1 segment and no JFIF APP0 (TFDS cats_vs_dogs drops these)."""
    data = jpeg_bytes(image)
    assert data[2:4] == b"\xff\xe0", "Pillow writes JFIF APP0 first"
    app0_end = 4 + struct.unpack(">H", data[4:6])[0]
    tiff = b"MM\x00*\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"  # big-endian TIFF header, empty IFD0
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + app1 + data[app0_end:]


def _cut(data: bytes) -> bytes:
    """What a broken download leaves: the first 3/5 of the file."""
    return data[: len(data) * 3 // 5]


def extraneous_bytes_jpeg(image: Image.Image) -> bytes:
    """libjpeg: 'Corrupt JPEG data: N extraneous bytes before marker 0xd9'."""
    data = jpeg_bytes(image)
    eoi = data.rfind(b"\xff\xd9")
    return data[:eoi] + bytes(range(1, 33)) + data[eoi:]


def truncated_jpeg(image: Image.Image) -> bytes:
    return _cut(jpeg_bytes(image))


def missing_eoi_jpeg(image: Image.Image) -> bytes:
    """Complete scan data, end-of-image marker lost: libjpeg says 'Premature end of JPEG file'."""
    data = jpeg_bytes(image)
    assert data.endswith(b"\xff\xd9")
    return data[:-2]


def jfif_revision_zero(image: Image.Image) -> bytes:
    """libjpeg: 'Warning: unknown JFIF revision number 0.00' (seen in PetImages)."""
    data = jpeg_bytes(image)
    return data[:11] + b"\x00\x00" + data[13:]


def truncated_progressive_jpeg(image: Image.Image) -> bytes:
    """Cut between two scans: decodable but blurred, so it must not pass for repaired."""
    data = jpeg_bytes(image, progressive=True)
    scans = [i for i in range(len(data) - 1) if data[i : i + 2] == b"\xff\xda"]
    return data[: scans[len(scans) // 2]]


def missing_eoi_progressive_jpeg(image: Image.Image) -> bytes:
    """All scans of a progressive JPEG present, only the end marker lost: every pixel is real."""
    return jpeg_bytes(image, progressive=True)[:-2]


def truncated_grayscale_jpeg(image: Image.Image) -> bytes:
    """Damage in a non-RGB JPEG must be caught before any colour conversion."""
    return truncated_jpeg(image.convert("L"))


def cmyk_with_extraneous_bytes(image: Image.Image) -> bytes:
    return extraneous_bytes_jpeg(image.convert("CMYK"))


def truncated_exif_jpeg(image: Image.Image) -> bytes:
    return _cut(exif_only_jpeg(image))


def truncated_png(image: Image.Image) -> bytes:
    data = _saved_as("PNG")(image)
    return data[: len(data) // 2]


THUMBS_DB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)  # Windows' thumbnail cache: an OLE compound file


FAULTS: dict[str, tuple[Callable[[Image.Image], bytes], str]] = {
    "clean_jfif": (jpeg_bytes, STORED),
    "clean_progressive": (lambda im: jpeg_bytes(im, progressive=True), STORED),
    "exif_only": (exif_only_jpeg, STORED),
    "png_as_jpg": (_saved_as("PNG"), REPAIRED),
    "rgba_png_as_jpg": (_saved_as("PNG", "RGBA"), REPAIRED),
    "gif_as_jpg": (_saved_as("GIF", "P"), REPAIRED),
    "bmp_as_jpg": (_saved_as("BMP"), REPAIRED),
    "webp_as_jpg": (_saved_as("WEBP"), REPAIRED),
    "cmyk_jpeg": (lambda im: jpeg_bytes(im.convert("CMYK")), REPAIRED),
    "grayscale_jpeg": (lambda im: jpeg_bytes(im.convert("L")), REPAIRED),
    "extraneous_bytes": (extraneous_bytes_jpeg, REPAIRED),
    "missing_eoi": (missing_eoi_jpeg, REPAIRED),
    "missing_eoi_progressive": (missing_eoi_progressive_jpeg, REPAIRED),
    "cmyk_with_extraneous_bytes": (cmyk_with_extraneous_bytes, REPAIRED),
    "ppm_as_jpg": (_saved_as("PPM"), REPAIRED),
    "jfif_revision_zero": (jfif_revision_zero, REPAIRED),
    "empty": (lambda _: b"", SKIPPED),
    "truncated_jpeg": (truncated_jpeg, SKIPPED),
    "truncated_progressive_jpeg": (truncated_progressive_jpeg, SKIPPED),
    "truncated_grayscale_jpeg": (truncated_grayscale_jpeg, SKIPPED),
    "truncated_exif_jpeg": (truncated_exif_jpeg, SKIPPED),
    "truncated_png": (truncated_png, SKIPPED),
    "not_an_image": (lambda _: b"<html><body>404 Not Found</body></html>\n", SKIPPED),
}
