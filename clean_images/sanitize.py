"""Decides, from one file's bytes, whether an image is stored as is, repaired or skipped.

Every image that leaves this module is a baseline/progressive RGB (YCbCr) JPEG that
libjpeg-turbo decodes without a single warning, so `tf.io.decode_jpeg(..., channels=3)`
returns (h, w, 3) and prints nothing. Clean JPEGs keep their exact bytes; everything
else is repaired once (without touching pixels where the fault allows) or skipped with
a reason: truncated files (decoding would invent grey pixels) and undecodable ones.

Validation decodes the full entropy-coded data (that is where truncation and corruption
show) but at 1/8 DCT scale, which skips most of the inverse DCT and colour conversion:
the same warnings as a full decode at a fraction of the cost. simplejpeg releases the
GIL while decoding, so threads scale across cores.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable, Iterator
from typing import Optional

import numpy as np
import simplejpeg
from absl import logging
from PIL import Image, ImageFile

STORED = "stored"
REPAIRED = "repaired"
SKIPPED = "skipped"

REPAIR_QUALITY = 95

_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG2000"),
    (b"\xffO\xffQ", "JPEG2000"),
    *((b"P" + bytes([digit]), "PNM") for digit in b"123456"),
)
_EXTRANEOUS = re.compile(r"(\d+) extraneous bytes before marker 0x([0-9a-f]{2})")
# libjpeg ran out of bytes. Not to be confused with "Corrupt JPEG data: premature end of data
# segment", where a desynchronised scan hit a marker early in a file that may be complete.
_RAN_OUT = "premature end of jpeg file"
_CORRUPT_DATA = ("huffman", "found marker", "corrupt jpeg data", "premature end", "unsupported marker")
# libjpeg says the same for junk before the end marker (pixels intact) and for a scan that
# lost sync after a damaged byte (pixels garbled from there on): the reason claims neither.
EXTRANEOUS_BYTES_REMOVED = "bytes libjpeg skipped removed (scan may be damaged)"
# How each JPEG colour space is decoded for validation (YCCK through libjpeg's CMYK).
_DECODE_AS = {"YCbCr": "RGB", "RGB": "RGB", "Gray": "GRAY", "CMYK": "CMYK", "YCCK": "CMYK"}


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What happens to one image file; `jpeg` is what gets written (None when skipped)."""

    outcome: str
    reason: str = ""
    detail: str = ""
    jpeg: bytes | None = None
    height: int = 0
    width: int = 0
    pixels: np.ndarray | None = None  # a clean JPEG's pixels from validation's decode (see `sanitize`)


def sniff_format(data: bytes) -> str | None:
    """Returns the real container format from magic bytes, whatever the file is named.

    Only formats with a signature: guessing (Pillow's TGA reader accepts almost anything)
    would turn a text file into an image of noise.
    """
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "AVIF"
    return None


DecodeSize = Callable[[int, int], Optional[tuple[int, int]]]  # a runtime alias


def sanitize(data: bytes, decode_size: DecodeSize | None = None) -> Verdict:
    """Classifies and, if needed, repairs one image file. Never raises on bad data.

    For a clean colour JPEG the verdict carries the pixels validation decoded: grey (h, w, 1)
    at 1/8 DCT scale (the duplicates hash), or, when `decode_size(height, width)` names the
    smallest (height, width) a later step needs, RGB at the smallest DCT scale of at least
    that size: one decode serves both (e.g. the 256px configs).
    """
    if not data:
        return Verdict(SKIPPED, "empty file")
    fmt = sniff_format(data)
    if fmt is None:
        return Verdict(SKIPPED, "not an image", f"starts with {data[:8]!r}")
    try:
        if fmt == "JPEG":
            return _sanitize_jpeg(data, decode_size)
        return _convert(data, f"{fmt} saved as .jpg")
    except Exception as e:  # pylint: disable=broad-except  # a codec bug must not end a build
        return Verdict(SKIPPED, f"undecodable {fmt}", _one_line(e))


def _sanitize_jpeg(data: bytes, decode_size: DecodeSize | None = None) -> Verdict:
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data, strict=False)
    except ValueError as e:
        return _answer_header_error(data, str(e))
    if height * width > (Image.MAX_IMAGE_PIXELS or float("inf")):
        return Verdict(SKIPPED, "decompression bomb", f"{width}x{height} pixels claimed")
    decode_as = _DECODE_AS.get(colorspace)
    if decode_as is None:
        return _convert(data, f"{colorspace} JPEG converted to RGB")
    wanted = decode_size(height, width) if decode_size is not None and decode_as == "RGB" else None
    # Nobody needs colour at 1/8 scale: luma alone validates as well (all components are
    # entropy-decoded either way) and skips the colour conversion, ~10 % of the decode.
    validate_as = "GRAY" if decode_as == "RGB" and wanted is None else decode_as
    message, pixels = _strict_decode(data, validate_as, *(wanted or (1, 1)))
    repair = ""
    if message is not None:  # every colour space is checked: a corrupt CMYK file is still corrupt
        answer = _answer_warning(data, message, decode_as)
        if isinstance(answer, Verdict):
            return answer
        data, repair = answer
    if decode_as != "RGB":
        conversion = f"{'grayscale' if decode_as == 'GRAY' else colorspace} JPEG converted to RGB"
        return _convert(data, ", ".join(filter(None, [repair, conversion])), message or "")
    if repair:
        return Verdict(REPAIRED, repair, message or "", data, height, width)
    return Verdict(STORED, jpeg=data, height=height, width=width, pixels=pixels)


def _strict_decode(
    data: bytes, decode_as: str = "RGB", min_height: int = 1, min_width: int = 1
) -> tuple[str | None, np.ndarray | None]:
    """(None, pixels at the smallest DCT scale covering the size, down to 1/8) or (libjpeg's first warning, None).

    The whole entropy-coded data is decoded at any scale, so any scale validates.
    """
    try:
        pixels = simplejpeg.decode_jpeg(
            data, colorspace=decode_as, min_height=min_height, min_width=min_width, strict=True
        )
    except ValueError as e:
        return str(e), None
    return None, pixels


def _jpeg_warning(data: bytes, decode_as: str = "RGB") -> str | None:
    """Returns libjpeg's first warning or error for `data`, or None if it decodes cleanly."""
    return _strict_decode(data, decode_as)[0]


def is_complete(data: bytes, fmt: str = "JPEG") -> bool:
    """Whether the file ends as its format ends (JPEG: the end-of-image marker; PNG: IEND), so
    nothing is missing from it: such a file is damaged, never truncated."""
    if fmt == "PNG":
        return data.endswith(b"IEND\xaeB`\x82")
    return data.endswith(b"\xff\xd9") if fmt == "JPEG" else False


def _answer_header_error(data: bytes, message: str) -> Verdict:
    """The header itself cannot be read: cut inside the header, or a JPEG flavour libjpeg lacks."""
    if "premature end" in message.lower() and not is_complete(data):
        return Verdict(SKIPPED, "truncated JPEG", message)
    return _convert(data, "unusual JPEG re-encoded", message)


def _answer_warning(data: bytes, message: str, decode_as: str) -> tuple[bytes, str] | Verdict:
    """For a JPEG libjpeg warns about: (fixed bytes, repair) when a fix leaves pixels alone, else a verdict.

    The in-place fixes change no pixel of what libjpeg decodes from the original file: they
    add a lost end marker after complete scans, correct a header field, or cut bytes the
    decoder skipped (which may follow a damaged scan: the reason says so). Truncation is
    skipped (decoding would invent grey pixels); a complete file is never called truncated;
    any other damage is re-encoded from libjpeg's decode, under a reason that says so.
    """
    lowered = message.lower()
    if _RAN_OUT in lowered and not is_complete(data):
        completed = data + b"\xff\xd9"
        if _scans_complete(data) and _jpeg_warning(completed, decode_as) is None:
            return completed, "missing end-of-image marker added"
        return Verdict(SKIPPED, "truncated JPEG", message)
    if "jfif revision" in lowered and data[6:11] == b"JFIF\x00":
        fixed = data[:11] + b"\x01\x01" + data[13:]  # header only: pixels cannot change
        if _jpeg_warning(fixed, decode_as) is None:
            return fixed, "JFIF version fixed"
    extraneous = _EXTRANEOUS.search(message)
    if extraneous:
        cut = _drop_extraneous_bytes(data, int(extraneous[1]), int(extraneous[2], 16), decode_as)
        if cut is not None:
            return cut, EXTRANEOUS_BYTES_REMOVED
    if extraneous or any(t in lowered for t in _CORRUPT_DATA):
        return _reencode(data, "corrupt JPEG data re-encoded", message, decode_as)
    return _reencode(data, "JPEG with decoder warnings re-encoded", message, decode_as)


def _reencode(data: bytes, reason: str, detail: str, decode_as: str) -> Verdict:
    """Re-encodes libjpeg's own (lenient) decode: the pixels TensorFlow would have shown, minus the warning.

    Non-RGB JPEGs go through Pillow (which also uses libjpeg) for the colour conversion.
    """
    if decode_as != "RGB":
        return _convert(data, reason, detail)
    try:
        pixels = simplejpeg.decode_jpeg(data, colorspace="RGB", strict=False)
    except ValueError as e:
        return Verdict(SKIPPED, "undecodable JPEG", f"{detail}; {_one_line(e)}")
    return _encoded(Image.fromarray(pixels), reason, detail)


def _drop_extraneous_bytes(data: bytes, count: int, marker: int, decode_as: str) -> bytes | None:
    """Deletes the bytes libjpeg skipped before `marker`, if that leaves the decoded pixels unchanged.

    The entropy decoder may read a junk byte or two ahead, so the reported count can be
    short of the real one: candidates are checked by a strict decode and a pixel compare
    with libjpeg's decode of the original file.
    """
    reference = simplejpeg.decode_jpeg(data, colorspace=decode_as, strict=False)
    needle = bytes((0xFF, marker))
    scan_start = data.rfind(b"\xff\xda")
    position = len(data)
    for _ in range(8):
        position = data.rfind(needle, scan_start + 2, position)
        if position < 0:
            return None
        for extra in range(8):
            cut = position - count - extra
            if cut <= scan_start:
                break
            candidate = data[:cut] + data[position:]
            if _jpeg_warning(candidate, decode_as) is None and np.array_equal(
                simplejpeg.decode_jpeg(candidate, colorspace=decode_as), reference
            ):
                return candidate
    return None


def _segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(marker, payload) of the header segments, then of every scan header (SOS) in the file."""
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        yield marker, data[position + 4 : position + 2 + length]
        if marker == 0xDA:
            break
        position += 2 + length
    sos = data.find(b"\xff\xda", position + 2)
    while sos >= 0:  # later scans; byte stuffing keeps FF DA out of entropy-coded data
        length = int.from_bytes(data[sos + 2 : sos + 4], "big")
        yield 0xDA, data[sos + 4 : sos + 2 + length]
        sos = data.find(b"\xff\xda", sos + 2)


def _scans_complete(data: bytes) -> bool:
    """Whether the scans present bring every coefficient of every component to full precision.

    A progressive JPEG cut between two scans decodes without a warning once an end marker
    is added, but blurred: that must stay a truncated file, not a repaired one.
    """
    components: list[int] = []
    exact: dict[int, set[int]] = {}
    for marker, payload in _segments(data):
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and len(payload) >= 6:
            components = [payload[6 + 3 * i] for i in range(payload[5]) if 6 + 3 * i < len(payload)]
        elif marker == 0xDA and payload:
            count = payload[0]
            if len(payload) < 4 + 2 * count:
                return False
            start, end, approximation = payload[1 + 2 * count : 4 + 2 * count]
            if approximation & 0x0F == 0:  # Al = 0: these coefficients are now exact
                for i in range(count):
                    exact.setdefault(payload[1 + 2 * i], set()).update(range(start, end + 1))
    return bool(components) and all(exact.get(c, set()) >= set(range(64)) for c in components)


def _refuse_truncated_images() -> None:
    """Pillow pads a truncated image with grey when `ImageFile.LOAD_TRUNCATED_IMAGES` is True, a
    process-wide flag other code sets (TFDS's own `tfds.as_dataframe` does, for its thumbnails):
    a truncated file must be skipped, so the flag goes back to Pillow's default, and says so."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        logging.warning("PIL.ImageFile.LOAD_TRUNCATED_IMAGES was True (TFDS's visualization sets it): set back to "
                        "False, so that truncated images are skipped, not padded with grey.")


def _convert(data: bytes, reason: str, detail: str = "") -> Verdict:
    """Decodes any Pillow-readable image fully and re-encodes it as an RGB JPEG."""
    _refuse_truncated_images()
    try:
        with Image.open(io.BytesIO(data)) as image:  # lazy: only the header is read here
            if image.width * image.height > (Image.MAX_IMAGE_PIXELS or float("inf")):
                return Verdict(SKIPPED, "decompression bomb", f"{image.width}x{image.height} pixels claimed")
            image.seek(0)  # first frame of an animated GIF/WebP/TIFF
            image.load()
            rgb = _to_rgb(image)
    except Image.DecompressionBombError as e:
        return Verdict(SKIPPED, "decompression bomb", _one_line(e))
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        text = _one_line(e)
        fmt = _format_of(data)
        kind = "truncated" if "truncat" in text.lower() and not is_complete(data, fmt) else "undecodable"
        return Verdict(SKIPPED, f"{kind} {fmt}", text)
    return _encoded(rgb, reason, detail)


def _encoded(rgb: Image.Image, reason: str, detail: str) -> Verdict:
    buffer = io.BytesIO()
    rgb.save(buffer, "JPEG", quality=REPAIR_QUALITY, subsampling=0)
    return Verdict(REPAIRED, reason, detail, buffer.getvalue(), rgb.height, rgb.width)


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
    """The message, on one line and without object addresses, so reports are reproducible."""
    text = re.sub(r" ?<[^<>]* at 0x[0-9a-f]+>", "", " ".join(str(error).split())) or type(error).__name__
    return text[:300]
