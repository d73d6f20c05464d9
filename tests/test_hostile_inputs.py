"""Hostile and broken inputs through the real builders: a recorded skip or a clear error, never more."""

from __future__ import annotations

import io
import os
import struct
import time
import zipfile
import zlib

import pytest
import simplejpeg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clean_images import errors, sanitize, sources
from clean_images import report as report_lib
from clean_images.testing import faults
from clean_images.testing.replica import photos
from pet_images import pet_images_dataset_builder as pet
from tests.helpers import build, stored_examples


def _zip(path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> None:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data, compress_type=compression)


def test_unsafe_and_windows_member_names(tmp_path, photo):
    jpeg = faults.jpeg_bytes(photo)
    (tmp_path / "manual").mkdir()
    _zip(tmp_path / "manual" / "pets.zip", {
        "PetImages/Cat/1.jpg": jpeg,
        "/abs/PetImages/Cat/2.jpg": jpeg,
        "../PetImages/Cat/3.jpg": jpeg,
        "PetImages\\Dog\\4.jpg": jpeg,  # a Windows archiver's separators
        "PetImages/cat/1.jpg": jpeg,  # same example key as PetImages/Cat/1.jpg
    })
    builder = build(pet.Builder, tmp_path / "data", manual_dir=tmp_path / "manual")
    assert set(stored_examples(builder)) == {"PetImages/Cat/1.jpg", "PetImages/Dog/4.jpg"}
    report = builder.info.metadata[report_lib.METADATA_KEY]["train"]
    reasons = {f["path"]: f["reason"] for f in report["files"]}
    assert reasons["/abs/PetImages/Cat/2.jpg"].startswith("unsafe path")
    assert reasons["../PetImages/Cat/3.jpg"].startswith("unsafe path")
    assert reasons["PetImages/cat/1.jpg"].startswith("same example as PetImages/Cat/1.jpg")
    assert report["image_files"] == 5 and report["stored"] == 2 and report["skipped"] == 3
    assert not (tmp_path / "abs").exists() and not (tmp_path.parent / "PetImages").exists()


def test_symlinks_in_an_extracted_folder_are_not_followed(tmp_path, photo):
    secret = tmp_path / "outside.jpg"
    secret.write_bytes(faults.jpeg_bytes(photo))
    cats = tmp_path / "manual" / "PetImages" / "Cat"
    cats.mkdir(parents=True)
    (cats / "1.jpg").write_bytes(faults.jpeg_bytes(photo))
    os.symlink(secret, cats / "2.jpg")
    (cats.parent / "Dog").mkdir()
    (cats.parent / "Dog" / "3.jpg").write_bytes(faults.jpeg_bytes(photo, quality=50))
    builder = build(pet.Builder, tmp_path / "data", manual_dir=tmp_path / "manual")
    assert set(stored_examples(builder)) == {"PetImages/Cat/1.jpg", "PetImages/Dog/3.jpg"}
    report = builder.info.metadata[report_lib.METADATA_KEY]["train"]
    assert [f["reason"] for f in report["files"]] == ["symbolic link: not followed"]
    assert report["image_files"] == 3  # the link is an image file of the report; the timing line says it was not read
    assert "train: 2 image files read, validated and serialized (1 more skipped unread) in" in builder.split_timings[
        "train"].describe("train")


_UNCOMPRESSED, _COMPRESSED = 24, 20  # size fields of a central directory entry


def _patch_central_size(path, member: str, size: int, field: int = _UNCOMPRESSED) -> None:
    """Makes the central directory claim `size` bytes for `member` (a zip bomb's lie)."""
    data = bytearray(path.read_bytes())
    entry = data.find(b"PK\x01\x02")
    while entry >= 0:
        name_length = struct.unpack("<H", data[entry + 28 : entry + 30])[0]
        if data[entry + 46 : entry + 46 + name_length] == member.encode():
            data[entry + field : entry + field + 4] = struct.pack("<I", size)
            break
        entry = data.find(b"PK\x01\x02", entry + 4)
    path.write_bytes(bytes(data))


def test_member_declaring_an_absurd_size_is_skipped_unread(tmp_path, photo):
    (tmp_path / "manual").mkdir()
    archive = tmp_path / "manual" / "pets.zip"
    _zip(archive, {"PetImages/Cat/1.jpg": faults.jpeg_bytes(photo), "PetImages/Dog/2.jpg": faults.jpeg_bytes(photo)})
    _patch_central_size(archive, "PetImages/Dog/2.jpg", 4_000_000_000)
    builder = build(pet.Builder, tmp_path / "data", manual_dir=tmp_path / "manual")
    report = builder.info.metadata[report_lib.METADATA_KEY]["train"]
    assert report["reasons"]["skipped"] == {"file too large": 1} and report["stored"] == 1


def test_crc_mismatch_is_a_clear_error_and_nothing_is_published(tmp_path, photo):
    (tmp_path / "manual").mkdir()
    archive = tmp_path / "manual" / "pets.zip"
    jpeg = faults.jpeg_bytes(photo)
    _zip(archive, {"PetImages/Cat/1.jpg": jpeg, "PetImages/Dog/2.jpg": faults.jpeg_bytes(photo, quality=50)},
         compression=zipfile.ZIP_STORED)
    data = bytearray(archive.read_bytes())
    middle = data.find(jpeg) + len(jpeg) // 2
    data[middle] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(errors.DamagedArchiveError, match="(?s)PetImages/Cat/1.jpg.*download it again"):
        build(pet.Builder, tmp_path / "data", manual_dir=tmp_path / "manual")
    assert not list((tmp_path / "data").rglob("dataset_info.json"))
    assert not list((tmp_path / "data").rglob("*.tfrecord*"))


def _base_files() -> list[bytes]:
    """Small real photos (scikit-image's cat) in every container the archives hold."""
    image = next(photos("cat", seed=5, max_width=96))
    out = [faults.jpeg_bytes(image), faults.jpeg_bytes(image, progressive=True), faults.jpeg_bytes(image.convert("CMYK"))]
    for fmt in ("PNG", "GIF", "BMP"):
        buffer = io.BytesIO()
        image.save(buffer, fmt)
        out.append(buffer.getvalue())
    return out


BASES = _base_files()


@st.composite
def mutated_files(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete", "zero"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del data[position:]
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del data[position : position + draw(st.integers(1, 64))]
        elif kind == "zero":
            data[position : position + 16] = bytes(min(16, len(data) - position))
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=mutated_files())
def test_fuzzed_images_only_ever_end_in_a_verdict(data, decode_silently):
    started = time.perf_counter()
    verdict = sanitize.sanitize(data)  # must not raise
    assert time.perf_counter() - started < 5
    assert verdict.outcome in (sanitize.STORED, sanitize.REPAIRED, sanitize.SKIPPED)
    if verdict.outcome == sanitize.SKIPPED:
        assert verdict.jpeg is None and verdict.reason
        return
    simplejpeg.decode_jpeg(verdict.jpeg, strict=True)
    assert decode_silently(verdict.jpeg) == (verdict.height, verdict.width, 3)


def test_member_inflating_past_its_declared_size_is_skipped(tmp_path, photo):
    """A zip bomb lies small in the directory: inflation stops at the declared size."""
    (tmp_path / "manual").mkdir()
    archive = tmp_path / "manual" / "pets.zip"
    _zip(archive, {"PetImages/Cat/1.jpg": faults.jpeg_bytes(photo), "PetImages/Dog/2.jpg": bytes(5_000_000)})
    _patch_central_size(archive, "PetImages/Dog/2.jpg", 1000)
    builder = build(pet.Builder, tmp_path / "data", manual_dir=tmp_path / "manual")
    report = builder.info.metadata[report_lib.METADATA_KEY]["train"]
    assert report["reasons"]["skipped"] == {"file too large": 1} and report["stored"] == 1


def test_png_claiming_a_huge_canvas_is_skipped_before_decoding(photo):
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    png = bytearray(buffer.getvalue())
    png[16:24] = struct.pack(">II", 100_000, 100_000)  # IHDR width and height
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))  # a valid chunk again
    verdict = sanitize.sanitize(bytes(png))
    assert (verdict.outcome, verdict.reason) == (sanitize.SKIPPED, "decompression bomb"), verdict


def test_a_zip_declaring_a_huge_compressed_size_is_refused_unread(tmp_path):
    """A member whose header claims more compressed bytes than any image has: not allocated, not read."""
    path = tmp_path / "huge.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("PetImages/Cat/1.jpg", b"x" * 100)
    _patch_central_size(path, "PetImages/Cat/1.jpg", sources.MAX_MEMBER_BYTES + 1, _COMPRESSED)
    source = sources.ZipSource(str(path))
    with pytest.raises(errors.OversizedMemberError):
        source.read("PetImages/Cat/1.jpg")


def test_members_read_whole_when_the_file_system_returns_short_reads(tmp_path, monkeypatch):
    """pread may return fewer bytes than asked (network and FUSE mounts): reading goes on."""
    payload = os.urandom(50_000)
    path = tmp_path / "short.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("PetImages/Dog/7.jpg", payload)
    real_pread = os.pread
    monkeypatch.setattr(sources.os, "pread", lambda fd, size, offset: real_pread(fd, min(size, 1000), offset))
    assert sources.ZipSource(str(path)).read("PetImages/Dog/7.jpg") == payload
