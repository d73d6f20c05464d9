"""pet_images built through the real builder from every accepted manual_dir layout."""

from __future__ import annotations

import collections
import http.server
import shutil
import threading
import time
import zipfile

import pytest
import tensorflow_datasets as tfds
from etils import epath

from clean_images import checksums, errors
from clean_images import report as report_lib
from clean_images.testing import faults
from clean_images.testing.replica import write_pet_archive
from pet_images import pet_images_dataset_builder as pet
from tests.helpers import build, stored_examples

# A fault mix unlike the shipped sample's, with a prefix folder like re-packed archives have.
FAULTS = {"png_as_jpg": 2, "cmyk_jpeg": 1, "grayscale_jpeg": 1, "exif_only": 2, "extraneous_bytes": 1,
          "gif_as_jpg": 1, "bmp_as_jpg": 1, "empty": 1, "truncated_jpeg": 2, "not_an_image": 1}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("manual_zip")
    path = folder / "download (1)"  # what browsers name it: detected by content, not name
    expected = write_pet_archive(str(path), images_per_class=9, faults=FAULTS, seed=31, max_width=160)
    return path, expected


@pytest.fixture(scope="module")
def built_from_zip(archive, tmp_path_factory):
    path, _ = archive
    return build(pet.Builder, tmp_path_factory.mktemp("data"), manual_dir=path.parent)


def _expected_counts(expected: dict[str, str]) -> collections.Counter:
    return collections.Counter(expected.values())


def test_zip_in_manual_dir_accounts_for_every_file(archive, built_from_zip, decode_silently):
    path, expected = archive
    examples = stored_examples(built_from_zip)
    counts = _expected_counts(expected)
    assert len(examples) == counts["stored"] + counts["repaired"]

    report = built_from_zip.info.metadata[report_lib.METADATA_KEY]["train"]
    assert report["image_files"] == len(expected) == sum(counts.values())
    for outcome in ("stored", "repaired", "skipped"):
        assert report[outcome] == counts[outcome], outcome
    assert report["ignored"] == 4  # 2 Thumbs.db, the licence PDF and the readme
    listed = {f["path"]: f["outcome"] for f in report["files"]}

    with zipfile.ZipFile(path) as z:
        for member, outcome in expected.items():
            if outcome == "stored":
                assert examples[member]["image"] == z.read(member), member  # byte-identical
                assert examples[member]["image/repair"] == b""
            else:
                assert listed[member] == outcome
            if outcome != "skipped":
                example = examples[member]
                assert example["label"] == (0 if "/Cat/" in member else 1)
                shape = decode_silently(example["image"])
                assert shape == (example["image/height"], example["image/width"], 3)


def test_report_survives_reload(built_from_zip):
    data_dir = built_from_zip.data_dir
    from_dir = tfds.builder_from_directory(data_dir).info.metadata[report_lib.METADATA_KEY]
    _, info = tfds.load("pet_images/full", data_dir=built_from_zip._data_dir_root, with_info=True, download=False)
    assert from_dir == info.metadata[report_lib.METADATA_KEY] == built_from_zip.info.metadata[report_lib.METADATA_KEY]
    train = from_dir["train"]
    assert train["stored"] + train["repaired"] == built_from_zip.info.splits["train"].num_examples
    assert train["stored"] + train["repaired"] + train["skipped"] == train["image_files"]


@pytest.mark.parametrize("layout", ["PetImages", "kagglecatsanddogs_5340/PetImages"])
def test_extracted_folder_gives_the_same_dataset(layout, archive, built_from_zip, tmp_path):
    path, _ = archive
    manual = tmp_path / "manual"
    with zipfile.ZipFile(path) as z:
        z.extractall(manual / "x")
    (manual / layout).parent.mkdir(parents=True, exist_ok=True)
    shutil.move(manual / "x" / "PetImages", manual / layout)
    shutil.rmtree(manual / "x")
    builder = build(pet.Builder, tmp_path / "data", manual_dir=manual)
    from_folder, from_zip = stored_examples(builder), stored_examples(built_from_zip)
    assert from_folder.keys() == from_zip.keys()
    for name, example in from_zip.items():
        assert from_folder[name]["image"] == example["image"], name
    report = builder.info.metadata[report_lib.METADATA_KEY]["train"]
    zip_report = built_from_zip.info.metadata[report_lib.METADATA_KEY]["train"]
    assert {k: report[k] for k in ("stored", "repaired", "skipped")} == {
        k: zip_report[k] for k in ("stored", "repaired", "skipped")
    }


def _assert_nothing_written(data_dir):
    """No dataset, complete or partial, that tfds.load could find (TFDS's own `.config` aside)."""
    paths = list(data_dir.rglob("*")) if data_dir.exists() else []
    leftovers = [p for p in paths if ".config" not in p.parts and (p.is_file() or "1.0.0" in p.name)]
    assert not leftovers, leftovers
    assert not (data_dir / "pet_images" / "full").exists(), "an empty config folder makes later reads warn"


def test_missing_manual_dir_is_an_error(tmp_path):
    with pytest.raises(errors.ManualDirError, match="(?s)does not exist.*PetImages"):
        build(pet.Builder, tmp_path / "data", manual_dir=tmp_path / "nowhere")
    _assert_nothing_written(tmp_path / "data")


def test_empty_manual_dir_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(errors.ManualDirError, match="is empty"):
        build(pet.Builder, tmp_path / "data", manual_dir=tmp_path / "empty")


def test_wrong_manual_dir_lists_what_it_found(tmp_path):
    manual = tmp_path / "manual"
    (manual / "Cats").mkdir(parents=True)
    (manual / "notes.txt").write_text("hi")
    with pytest.raises(errors.ManualDirError, match=r"(?s)Found: Cats/, notes.txt.*--manual_dir"):
        build(pet.Builder, tmp_path / "data", manual_dir=manual)
    _assert_nothing_written(tmp_path / "data")


def test_a_tar_in_manual_dir_is_explained(tmp_path):
    """A tar of the photos is found but never opened: the error says to extract it."""
    import tarfile

    manual = tmp_path / "manual"
    (manual / "PetImages" / "Cat").mkdir(parents=True)
    (manual / "PetImages" / "Cat" / "1.txt").write_text("not an image")
    with tarfile.open(manual / "pets.tar", "w") as tar:
        tar.add(manual / "PetImages", arcname="PetImages")
    with pytest.raises(errors.ManualDirError, match=r"(?s)Only zip archives are read: pets.tar must be extracted"):
        build(pet.Builder, tmp_path / "data", manual_dir=manual)


def test_registered_size_with_wrong_checksum_is_refused(tmp_path):
    """A file of the official 5340 size (sparse, so free) whose bytes are not the official ones."""
    manual = tmp_path / "manual"
    manual.mkdir()
    fake = manual / "kagglecatsanddogs_5340.zip"
    with open(fake, "wb") as f:
        f.write(b"PK\x03\x04")
        f.truncate(824887076)
    with pytest.raises(errors.ArchiveChecksumError, match="b7974bd0.*Download it again"):
        build(pet.Builder, tmp_path / "data", manual_dir=manual)
    _assert_nothing_written(tmp_path / "data")


def test_failed_download_explains_manual_dir(tmp_path, monkeypatch):
    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(pet.Builder, "DOWNLOAD_URL", f"http://127.0.0.1:{server.server_port}/kagglecatsanddogs_5340.zip")
    builder = pet.Builder(config="full", data_dir=str(tmp_path / "data"))
    try:
        with pytest.raises(errors.DownloadFailedError, match=r"(?s)404.*--manual_dir"):
            builder.download_and_prepare(download_dir=str(tmp_path / "downloads"))
    finally:
        server.shutdown()
    _assert_nothing_written(tmp_path / "data")


def test_sample_config_builds_offline_from_the_package(tmp_path, decode_silently, caplog):
    builder = build(pet.Builder, tmp_path, config="sample")
    assert "checksum" not in caplog.text  # the package's own sample is no unregistered user archive
    report = builder.info.metadata[report_lib.METADATA_KEY]["train"]
    examples = stored_examples(builder)
    assert len(examples) == report["stored"] + report["repaired"] > 40
    assert report["skipped"] > 0 and report["repaired"] > 0
    for example in examples.values():
        decode_silently(example["image"])


def test_manual_dir_may_be_the_zip_itself(archive, built_from_zip, tmp_path):
    path, _ = archive
    builder = build(pet.Builder, tmp_path / "data", manual_dir=path)
    assert stored_examples(builder).keys() == stored_examples(built_from_zip).keys()


def test_cut_download_is_an_error_not_a_warning(archive, tmp_path):
    path, _ = archive
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "kagglecatsanddogs_5340.zip").write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(errors.DamagedArchiveError, match="(?s)kagglecatsanddogs_5340.zip.*download it again"):
        build(pet.Builder, tmp_path / "data", manual_dir=manual)
    _assert_nothing_written(tmp_path / "data")


def test_same_name_twice_is_reported_not_lost(tmp_path, photo):
    manual = tmp_path / "manual" / "PetImages"
    (manual / "Cat").mkdir(parents=True)
    (manual / "Dog").mkdir()
    (manual / "Cat" / "caf\u00e9.jpg").write_bytes(faults.jpeg_bytes(photo))  # NFC
    (manual / "Cat" / "cafe\u0301.jpg").write_bytes(faults.jpeg_bytes(photo, quality=50))  # NFD twin
    (manual / "Dog" / "1.jpg").write_bytes(faults.jpeg_bytes(photo))
    builder = build(pet.Builder, tmp_path / "data", manual_dir=tmp_path / "manual")
    report = builder.info.metadata[report_lib.METADATA_KEY]["train"]
    assert report["image_files"] == 3 and report["stored"] == 2 and report["skipped"] == 1
    assert report["files"][0]["reason"].startswith("duplicate name")


@pytest.mark.parametrize("dogs", ["PetImages/Dogs", None])  # a misnamed folder; a zip cut before the dogs
def test_an_archive_without_one_class_is_an_error_not_a_one_class_dataset(tmp_path, photo, dogs):
    members = {f"PetImages/Cat/{i}.jpg": faults.jpeg_bytes(photo, quality=60 + i) for i in range(3)}
    if dogs:
        members |= {f"{dogs}/{i}.jpg": faults.jpeg_bytes(photo, quality=80 + i) for i in range(2)}
    (tmp_path / "manual").mkdir()
    with zipfile.ZipFile(tmp_path / "manual" / "cats.zip", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    expected = r"cats.zip holds no image file under PetImages/Dog \(3 under PetImages/Cat, 0 under PetImages/Dog\)\."
    if dogs:
        expected += r" 2 files lie outside them: PetImages/Dogs/0.jpg, PetImages/Dogs/1.jpg\n"
    with pytest.raises(errors.ManualDirError, match="(?s)" + expected + r".*Name the folders.*--manual_dir"):
        build(pet.Builder, tmp_path / "data", manual_dir=tmp_path / "manual")
    _assert_nothing_written(tmp_path / "data")


def test_unresolvable_host_fails_at_once_with_the_manual_dir_steps(tmp_path, monkeypatch):
    """Offline, TFDS would retry for minutes before failing; the host check answers at once."""
    monkeypatch.setattr(pet.Builder, "DOWNLOAD_URL", "https://no-such-host.invalid/kagglecatsanddogs_5340.zip")
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    builder = pet.Builder(config="full", data_dir=str(tmp_path / "data"))
    started = time.perf_counter()
    with pytest.raises(errors.DownloadFailedError, match=r"(?s)cannot resolve no-such-host.invalid.*--manual_dir"):
        builder.download_and_prepare(download_dir=str(tmp_path / "downloads"))
    assert time.perf_counter() - started < 30
    _assert_nothing_written(tmp_path / "data")


def test_download_with_a_wrong_checksum_is_tfds_error_plus_the_hint(tmp_path, monkeypatch, request):
    payload = b"PK\x05\x06" + bytes(18)  # an empty zip: not what the registered checksum says

    class Serve(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    request.addfinalizer(server.shutdown)
    url = f"http://127.0.0.1:{server.server_port}/kagglecatsanddogs_5340.zip"
    registered = tmp_path / "pet_images.tsv"
    registered.write_text(f"{url}\t{len(payload)}\t{'0' * 64}\tkagglecatsanddogs_5340.zip\n")
    monkeypatch.setattr(pet.Builder, "DOWNLOAD_URL", url)
    monkeypatch.setattr(checksums, "path_for", lambda name: epath.Path(registered))
    clear = tfds.core.DatasetBuilder.__dict__["url_infos"].fget.__func__.cache_clear  # TFDS memoizes them
    clear()
    request.addfinalizer(clear)
    builder = pet.Builder(config="full", data_dir=str(tmp_path / "data"))
    with pytest.raises(errors.DownloadFailedError, match=r"(?s)[Cc]hecksum.*--manual_dir"):
        builder.download_and_prepare(download_dir=str(tmp_path / "downloads"))
    _assert_nothing_written(tmp_path / "data")


def test_overwrite_keeps_the_earlier_build_until_the_new_one_succeeds(archive, tmp_path):
    """TFDS deletes the existing data before --overwrite checks anything; a failing rebuild must not cost it."""
    path, _ = archive
    (tmp_path / "empty").mkdir()
    built = build(pet.Builder, tmp_path / "data", manual_dir=path.parent)
    version = epath.Path(built.data_path)
    before = {p.name: p.read_bytes() for p in version.iterdir()}
    overwrite = tfds.download.GenerateMode.FORCE_REDOWNLOAD
    for manual in (tmp_path / "empty", path.parent):  # a rebuild that fails, then one that succeeds
        builder = pet.Builder(config="full", data_dir=str(tmp_path / "data"))
        config = tfds.download.DownloadConfig(manual_dir=str(manual), download_mode=overwrite)
        if manual == path.parent:
            builder.download_and_prepare(download_config=config)
        else:
            with pytest.raises(errors.ManualDirError, match="is empty"):
                builder.download_and_prepare(download_config=config)
            assert {p.name: p.read_bytes() for p in version.iterdir()} == before
        assert sorted(p.name for p in version.parent.iterdir()) == ["1.0.0"]  # nothing left aside
    assert stored_examples(builder).keys() == stored_examples(built).keys()
