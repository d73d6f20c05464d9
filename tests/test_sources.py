"""clean_images.sources: member names as people mean them, streaming reads, refusals with reasons."""

from __future__ import annotations

import os
import unicodedata
import zipfile

import pytest

from clean_images import errors, sources


def _raw_zip(path, raw_names: dict[bytes, bytes]) -> None:
    """Members whose names are written as given bytes, without the UTF-8 flag."""

    class Raw(zipfile.ZipInfo):
        def __init__(self, raw: bytes):
            super().__init__(raw.decode("cp437"), (2020, 1, 1, 0, 0, 0))
            self._raw = raw

        def _encodeFilenameFlags(self):  # noqa: N802  # zipfile's own hook
            return self._raw, self.flag_bits & ~0x800

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for raw, data in raw_names.items():
            z.writestr(Raw(raw), data)


def test_cp949_and_nfd_names_without_the_utf8_flag_are_read_as_meant(tmp_path):
    name = "train/서울시/경복궁/경복궁_001.JPG"
    _raw_zip(tmp_path / "a.zip", {name.encode("cp949"): b"1", unicodedata.normalize("NFD", "test/a/b.JPG").encode(): b"2"})
    source = sources.ZipSource(tmp_path / "a.zip")
    assert source.members() == ["test/a/b.JPG", name]
    assert source.read(name) == b"1"


def test_backslashes_twins_and_unsafe_paths(tmp_path):
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as z:
        z.writestr("dir\\a.jpg", b"windows")
        z.writestr("../evil.jpg", b"x")
        z.writestr("/abs.jpg", b"x")
        z.writestr(unicodedata.normalize("NFC", "é.jpg"), b"first")
        z.writestr(unicodedata.normalize("NFD", "é.jpg"), b"second")
    source = sources.ZipSource(tmp_path / "a.zip")
    assert source.members() == ["dir/a.jpg", "é.jpg"]
    assert source.read("é.jpg") == b"first"
    reasons = dict(source.refused)
    assert reasons["../evil.jpg"].startswith("unsafe path") and reasons["/abs.jpg"].startswith("unsafe path")
    assert reasons["é.jpg"].startswith("duplicate name")


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_member_refs_are_read_by_offset_even_when_names_repeat(tmp_path):
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as z:
        z.writestr("a.jpg", b"first")
        z.writestr("a.jpg", b"second")  # zipfile warns; real archivers write this too
    source = sources.ZipSource(tmp_path / "a.zip")
    assert source.ref("a.jpg").read() == b"first"


def test_folder_members_carry_the_prefix_and_links_are_refused(tmp_path):
    (tmp_path / "PetImages" / "Cat").mkdir(parents=True)
    (tmp_path / "PetImages" / "Cat" / "0.jpg").write_bytes(b"cat")
    os.symlink("/etc/passwd", tmp_path / "PetImages" / "Cat" / "1.jpg")
    source = sources.FolderSource(tmp_path / "PetImages", prefix="PetImages/")
    assert source.members() == ["PetImages/Cat/0.jpg"]
    assert source.read("PetImages/Cat/0.jpg") == b"cat"
    assert source.refused == [("PetImages/Cat/1.jpg", "symbolic link: not followed")]


def test_a_file_that_is_not_a_zip_is_a_damaged_archive(tmp_path):
    (tmp_path / "cut.zip").write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(errors.DamagedArchiveError, match="cut.zip is not a readable zip archive.*download it again"):
        sources.ZipSource(tmp_path / "cut.zip")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949"])
def test_csv_text_in_any_encoding_dacon_users_save(encoding):
    assert sources.decode_text("id,이름\n".encode(encoding), "x.csv") == "id,이름\n"


def test_text_in_no_known_encoding_names_the_file_and_the_fix():
    with pytest.raises(errors.MetadataError, match="train.csv is neither UTF-8 nor CP949.*Re-save it as UTF-8"):
        sources.decode_text(b"\xff\xfe\x00\xd8\x00\xdc", "train.csv")


@pytest.mark.parametrize(
    "name, reason",
    [("a/Thumbs.db", "not an image file name (.db)"), ("__MACOSX/a/._1.jpg", "macOS/Finder metadata (__MACOSX, ._*, .DS_Store)"),
     ("a/1.JPG", None), ("README", "not an image file name (no suffix)")],
)
def test_not_an_image_reason(name, reason):
    assert sources.not_an_image_reason(name) == reason
