"""clean_images.manual_dir: which manual_dir is read, what is found in it, which archive wins."""

from __future__ import annotations

import hashlib
import logging
import re
import zipfile

import pytest
from etils import epath
from tensorflow_datasets.core.download.checksums import UrlInfo

from clean_images import errors, manual_dir, sources


def _zip(path, members: dict[str, bytes]) -> epath.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return epath.Path(path)


def _holds_cats(members: list[str]) -> bool:
    return any(m.endswith(".jpg") and "/Cat/" in m for m in members)


def _registered(path) -> dict[str, UrlInfo]:
    data = epath.Path(path).read_bytes()
    return {"https://example.org/a.zip": UrlInfo(size=len(data), checksum=hashlib.sha256(data).hexdigest(), filename="a.zip")}


def test_a_given_manual_dir_that_is_missing_or_empty_is_an_error(tmp_path):
    with pytest.raises(errors.ManualDirError, match="does not exist. Expected THE DATA.\nSTEPS"):
        manual_dir.resolve(tmp_path / "nowhere", None, "THE DATA", "STEPS")
    (tmp_path / "empty").mkdir()
    with pytest.raises(errors.ManualDirError, match="is empty"):
        manual_dir.resolve(tmp_path / "empty", None, "THE DATA", "STEPS")


def test_no_manual_dir_given_and_an_empty_default_means_download(tmp_path):
    (tmp_path / "default").mkdir()
    assert manual_dir.resolve(None, epath.Path(tmp_path / "default"), "x", "y") is None
    assert manual_dir.resolve(None, None, "x", "y") is None


def test_the_archive_itself_may_be_the_manual_dir(tmp_path):
    path = _zip(tmp_path / "download (1)", {"PetImages/Cat/0.jpg": b"x"})
    assert manual_dir.resolve(path, None, "x", "y") == path
    found = manual_dir.contents(path, {})
    assert found.folder is None and [z.path for z in found.zips] == [path]


def test_contents_finds_zips_by_content_on_top_and_by_suffix_below(tmp_path):
    _zip(tmp_path / "download (1)", {"a.txt": b"a"})
    _zip(tmp_path / "deeper" / "inner.zip", {"b.txt": b"b"})
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "deeper" / "not-a-zip").write_bytes(b"PK\x03\x04 but deeper and unnamed")
    found = manual_dir.contents(epath.Path(tmp_path), {})
    assert sorted(z.path.name for z in found.zips) == ["download (1)", "inner.zip"]
    assert sorted(found.loose_members()) == ["deeper/not-a-zip", "notes.txt"]
    assert found.listing() == ["deeper/", "download (1)", "notes.txt"]


def test_a_registered_zip_wins_then_the_extracted_folder_then_any_zip(tmp_path, caplog):
    other = _zip(tmp_path / "repacked.zip", {"top/PetImages/Cat/1.jpg": b"x"})
    (tmp_path / "PetImages" / "Cat").mkdir(parents=True)
    (tmp_path / "PetImages" / "Cat" / "0.jpg").write_bytes(b"y")
    official = _zip(tmp_path / "download (1)", {"PetImages/Cat/0.jpg": b"z"})
    registered = _registered(official)
    root = epath.Path(tmp_path)

    chosen = manual_dir.single_archive(root, registered, ("PetImages",), _holds_cats)
    assert isinstance(chosen, sources.ZipSource) and chosen.path == official

    official.unlink()
    with caplog.at_level(logging.WARNING):
        chosen = manual_dir.single_archive(root, registered, ("PetImages",), _holds_cats)
    assert isinstance(chosen, sources.FolderSource) and chosen.members() == ["PetImages/Cat/0.jpg"]
    assert "cannot be checksum-validated" in caplog.text and "repacked.zip" in caplog.text

    (tmp_path / "PetImages" / "Cat" / "0.jpg").unlink()
    chosen = manual_dir.single_archive(root, registered, ("PetImages",), _holds_cats)
    assert isinstance(chosen, sources.ZipSource) and chosen.path == other


def test_the_extracted_folder_may_be_the_manual_dir_itself_or_one_level_below(tmp_path):
    (tmp_path / "download" / "PetImages" / "Cat").mkdir(parents=True)
    (tmp_path / "download" / "PetImages" / "Cat" / "0.jpg").write_bytes(b"y")
    for root in (tmp_path, tmp_path / "download" / "PetImages"):
        (folder,) = manual_dir.named_folders(epath.Path(root), ("PetImages",))
        assert folder.members() == ["PetImages/Cat/0.jpg"]


def test_nothing_found_lists_what_is_there(tmp_path):
    (tmp_path / "Cats").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "photos.tar").write_bytes(b"not a zip")
    with pytest.raises(errors.NothingFoundError) as error:
        manual_dir.single_archive(epath.Path(tmp_path), {}, ("PetImages",), _holds_cats)
    assert error.value.found == ["Cats/", "notes.txt", "photos.tar"]


def test_nothing_found_shows_what_an_unfit_zip_holds(tmp_path):
    _zip(tmp_path / "data.zip", {f"images/{i}.jpg": b"x" for i in range(7)})
    _zip(tmp_path / "deeper" / "old.zip", {"readme.txt": b"x"})
    expected = ("Found: data.zip, deeper/. data.zip holds images/0.jpg, images/1.jpg, images/2.jpg, images/3.jpg, "
                "images/4.jpg and 2 more. deeper/old.zip holds readme.txt.")
    with pytest.raises(errors.NothingFoundError, match=re.escape(expected)):
        manual_dir.single_archive(epath.Path(tmp_path), {}, ("PetImages",), _holds_cats)
    with pytest.raises(errors.NothingFoundError, match=re.escape("Found: data.zip. data.zip holds images/0.jpg")):
        manual_dir.single_archive(epath.Path(tmp_path / "data.zip"), {}, ("PetImages",), _holds_cats)


def test_a_zip_with_the_registered_size_but_another_sha256_is_refused(tmp_path):
    good = _zip(tmp_path / "good" / "a.zip", {"PetImages/Cat/0.jpg": b"x"})
    registered = _registered(good)
    data = bytearray(good.read_bytes())
    data[40] ^= 0xFF  # same size, other bytes
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.zip").write_bytes(bytes(data))
    with pytest.raises(errors.ArchiveChecksumError, match="has the size of https://example.org/a.zip.*Download it again"):
        manual_dir.contents(epath.Path(tmp_path / "bad"), registered)
