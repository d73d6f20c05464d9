"""Decides, from one file's bytes, whether an image is stored as is, repaired or skipped.

Every image that leaves this module is a baseline/progressive RGB (YCbCr) JPEG that
libjpeg-turbo decodes without a single warning, so `tf.io.decode_jpeg(..., channels=3)`
returns (h, w, 3) and prints nothing. Clean JPEGs keep their exact bytes; everything
else is repaired once (losslessly where the fault allows) or skipped with a reason.

Validation decodes the full entropy-coded data (that is where truncation and corruption
show) but at 1/8 DCT scale, which skips most of the inverse DCT and colour conversion:
the same warnings as a full decode at a fraction of the cost. simplejpeg releases the
GIL while decoding, so threads scale across cores.
"""

from __future__ import annotations

import dataclasses
import io
import re
import warnings

import numpy as np
import simplejpeg
from PIL import Image

STORED = "stored"
REPAIRED = "repaired"
SKIPPED = "skipped"

REPAIR_QUALITY = 95

# Pillow refuses images above this many pixels (its decompression-bomb guard, x2).
Image.MAX_IMAGE_PIXELS = 89_478_485

_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
_EXTRANEOUS = re.compile(r"(\d+) extraneous bytes before marker 0x([0-9a-f]{2})")
_TRUNCATED = ("premature end",)
_SEQUENTIAL_FRAMES = (0xC0, 0xC1)  # baseline and extended sequential Huffman
_CORRUPT_DATA = ("bad huffman", "found marker", "huffman", "corrupt jpeg data")


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What happens to one image file; `jpeg` is what gets written (None when skipped)."""

    outcome: str
    reason: str = ""
    detail: str = ""
    jpeg: bytes | None = None
    height: int = 0
    width: int = 0


def sniff_format(data: bytes) -> str | None:
    """Returns the real container format from magic bytes, whatever the file is named."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def sanitize(data: bytes) -> Verdict:
    """Classifies and, if needed, repairs one image file. Never raises on bad data."""
    if not data:
        return Verdict(SKIPPED, "empty file")
    fmt = sniff_format(data)
    if fmt is None:
        return Verdict(SKIPPED, "not an image", f"starts with {data[:8]!r}")
    try:
        if fmt == "JPEG":
            return _sanitize_jpeg(data)
        return _convert(data, f"{fmt} saved as .jpg")
    except Exception as e:  # pylint: disable=broad-except  # a codec bug must not end a build
        return Verdict(SKIPPED, f"undecodable {fmt}", _one_line(e))


def _sanitize_jpeg(data: bytes) -> Verdict:
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError as e:
        return _classify_jpeg_error(data, str(e))
    if colorspace not in ("YCbCr", "RGB"):
        label = {"Gray": "grayscale"}.get(colorspace, colorspace)
        return _convert(data, f"{label} JPEG converted to RGB")
    message = _jpeg_warning(data)
    if message is None:
        return Verdict(STORED, jpeg=data, height=height, width=width)
    return _classify_jpeg_error(data, message)


def _jpeg_warning(data: bytes) -> str | None:
    """Returns libjpeg's first warning or error for `data`, or None if it decodes cleanly."""
    try:
        simplejpeg.decode_jpeg(data, min_height=1, min_width=1, min_factor=8, strict=True)
    except ValueError as e:
        return str(e)
    return None


def _classify_jpeg_error(data: bytes, message: str) -> Verdict:
    lowered = message.lower()
    if any(t in lowered for t in _TRUNCATED):
        if _frame_type(data) in _SEQUENTIAL_FRAMES:
            # All scan data present, only the end-of-image marker lost: every pixel is real.
            # (Not for progressive JPEGs, where a cut between scans still decodes, blurred.)
            completed = data + b"\xff\xd9"
            if _jpeg_warning(completed) is None:
                return _lossless(completed, "missing end-of-image marker added (lossless)", message)
        return Verdict(SKIPPED, "truncated JPEG", message)
    if "jfif revision" in lowered and data[6:11] == b"JFIF\x00":
        fixed = data[:11] + b"\x01\x01" + data[13:]  # header only: pixels cannot change
        if _jpeg_warning(fixed) is None:
            return _lossless(fixed, "JFIF version fixed (lossless)", message)
    extraneous = _EXTRANEOUS.search(message)
    if extraneous:
        fixed = _drop_extraneous_bytes(data, int(extraneous[1]), int(extraneous[2], 16))
        if fixed is not None:
            return _lossless(fixed, "extraneous bytes removed (lossless)", message)
        return _convert(data, "corrupt JPEG data re-encoded", message)
    if any(t in lowered for t in _CORRUPT_DATA):
        return Verdict(SKIPPED, "corrupt JPEG data", message)
    if "not a jpeg" in lowered or "unsupported" in lowered or "invalid" in lowered:
        return _convert(data, "unusual JPEG re-encoded", message)
    return _convert(data, "JPEG with decoder warnings re-encoded", message)


def _lossless(fixed: bytes, reason: str, message: str) -> Verdict:
    height, width, *_ = simplejpeg.decode_jpeg_header(fixed)
    return Verdict(REPAIRED, reason, message, fixed, height, width)


def _frame_type(data: bytes) -> int | None:
    """The SOFn marker of a JPEG (0xC0 baseline, 0xC2 progressive...), from its segment chain."""
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return marker
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return None


def _drop_extraneous_bytes(data: bytes, count: int, marker: int) -> bytes | None:
    """Deletes the junk libjpeg skipped before `marker`, if that leaves identical pixels.

    The entropy decoder may read a junk byte or two ahead, so the reported count can be
    short of the real one: candidates are checked by a strict decode and a pixel compare.
    """
    reference = simplejpeg.decode_jpeg(data, strict=False)
    needle = bytes((0xFF, marker))
    scan_start = data.rfind(b"\xff\xda")
    position = len(data)
    for _ in range(8):
        position = data.rfind(needle, scan_start + 2, position)
        if position < 0:
            return None
        for extra in range(0, 8):
            cut = position - count - extra
            if cut <= scan_start:
                break
            candidate = data[:cut] + data[position:]
            if _jpeg_warning(candidate) is None and np.array_equal(
                simplejpeg.decode_jpeg(candidate), reference
            ):
                return candidate
    return None


def _convert(data: bytes, reason: str, detail: str = "") -> Verdict:
    """Decodes any Pillow-readable image fully and re-encodes it as an RGB JPEG."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.seek(0)  # first frame of an animated GIF/WebP/TIFF
                image.load()
                rgb = _to_rgb(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        return Verdict(SKIPPED, "decompression bomb", _one_line(e))
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        text = _one_line(e)
        kind = "truncated" if "truncat" in text.lower() else "undecodable"
        return Verdict(SKIPPED, f"{kind} {_format_of(data)}", text)
    buffer = io.BytesIO()
    rgb.save(buffer, "JPEG", quality=REPAIR_QUALITY, subsampling=0)
    jpeg = buffer.getvalue()
    return Verdict(REPAIRED, reason, detail, jpeg, rgb.height, rgb.width)


def _to_rgb(image: Image.Image) -> Image.Image:
    """Flattens transparency onto white (not black) and converts any mode to RGB."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        peak = array.max() or 1.0
        return Image.fromarray((array * (255.0 / peak)).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def _format_of(data: bytes) -> str:
    return sniff_format(data) or "image"


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:300]
