"""landmark_images through the real builder: every layout, name and CSV encoding, mismatches."""

from __future__ import annotations

import collections
import zipfile

import pytest
import tensorflow_datasets as tfds

from clean_images import errors
from clean_images import report as report_lib
from clean_images.testing.replica import DaconMetadata, write_dacon_replica
from landmark_images import landmark_images_dataset_builder as landmark
from tests.helpers import TFDS, build, run_ok, stored_examples


@pytest.fixture(scope="module")
def metadata() -> DaconMetadata:
    """All 1,049 (synthetic) class names; images for 12 classes (~1k) and 40 test ids."""
    return DaconMetadata.synthetic(seed=42).subset(12, 40)


def _assert_matches_metadata(builder, metadata: DaconMetadata, expected: dict) -> None:
    assert builder.info.features["label"].names == metadata.categories
    train, test = stored_examples(builder, "train"), stored_examples(builder, "test")
    assert builder.info.splits["train"].num_examples == len(expected["train"]) == len(train)
    assert builder.info.splits["test"].num_examples == len(expected["test"]) == len(test)
    labels = dict(metadata.train)
    for filename, (image_id, landmark_id, region) in expected["train"].items():
        example = train[filename]
        assert example["id"].decode() == image_id
        assert example["label"] == landmark_id == labels[image_id]
        assert example["region"].decode() == region == filename.split("/")[1]
        assert filename.split("/")[2] == metadata.categories[landmark_id]
    assert sorted(e["id"].decode() for e in test.values()) == sorted(metadata.test)
    assert all(e["label"] == -1 and e["region"] == b"" for e in test.values())


LAYOUTS = [
    ("extracted", "utf-8", "utf-8"),
    ("extracted", "nfd", "utf-8-sig"),
    ("single_zip", "utf-8", "utf-8-sig"),
    ("single_zip", "nfd", "utf-8"),
    ("single_zip", "cp949", "cp949"),
    ("split_zips", "utf-8", "cp949"),
    ("split_zips", "nfd", "utf-8-sig"),
    ("split_zips", "cp949", "cp949"),
]


@pytest.mark.parametrize("layout, names, csv_encoding", LAYOUTS)
def test_every_layout_and_encoding_builds_the_same_dataset(layout, names, csv_encoding, metadata, tmp_path):
    expected = write_dacon_replica(tmp_path / "manual", metadata, layout, names, csv_encoding, seed=5)
    builder = build(landmark.Builder, tmp_path / "data", tmp_path / "manual")
    _assert_matches_metadata(builder, metadata, expected)
    report = builder.info.metadata[report_lib.METADATA_KEY]
    assert report["train"]["stored"] == len(expected["train"]) and report["test"]["stored"] == len(metadata.test)
    assert builder.info.metadata["build_options"] == {"skip_mismatches": False}


def test_test_images_lying_flat_keep_their_own_paths(metadata, tmp_path):
    write_dacon_replica(tmp_path / "manual", metadata, "extracted", seed=5)
    test_dir = tmp_path / "manual" / "test"
    for image in list(test_dir.glob("*/*.JPG")):  # test/<c>/<id>.JPG -> test/<id>.JPG
        image.rename(test_dir / image.name)
    test = stored_examples(build(landmark.Builder, tmp_path / "data", tmp_path / "manual"), "test")
    assert sorted(test) == sorted(f"test/{image_id}.JPG" for image_id in metadata.test)
    assert all((tmp_path / "manual" / name).is_file() for name in test)


@pytest.mark.slow
@pytest.mark.scale
def test_full_scale_replica_single_cp949_zip(tmp_path):
    """88k train ids over 1,049 classes and 37,964 test ids, Korean-Windows zip and CSVs (~2 minutes:
    deselected by default to keep CI under its time budget; `python -m pytest -m scale`)."""
    metadata = DaconMetadata.synthetic(seed=7)
    expected = write_dacon_replica(tmp_path / "manual", metadata, "single_zip", "cp949", "cp949", seed=7)
    builder = build(landmark.Builder, tmp_path / "data", tmp_path / "manual")
    assert builder.info.splits["train"].num_examples == len(metadata.train) > 80_000
    assert builder.info.splits["test"].num_examples == len(metadata.test) == 37_964
    _assert_matches_metadata(builder, metadata, expected)


def test_faulty_images_are_repaired_or_skipped_like_pet_images(metadata, tmp_path):
    faults = {"png_as_jpg": 2, "cmyk_jpeg": 1, "truncated_jpeg": 2, "empty": 1, "exif_only": 1}
    expected = write_dacon_replica(tmp_path / "manual", metadata, "split_zips", faults=faults, seed=9)
    builder = build(landmark.Builder, tmp_path / "data", tmp_path / "manual")
    report = builder.info.metadata[report_lib.METADATA_KEY]["train"]
    counts = collections.Counter(o for name, o in expected["outcomes"].items() if name.startswith("train/"))
    assert (report["stored"], report["repaired"], report["skipped"]) == (counts["stored"], counts["repaired"], counts["skipped"])
    train = stored_examples(builder, "train")
    assert len(train) == counts["stored"] + counts["repaired"]


@pytest.fixture(scope="module")
def mismatched(metadata, tmp_path_factory):
    root = tmp_path_factory.mktemp("mismatched")
    expected = write_dacon_replica(
        root, metadata, "single_zip", "nfd", missing_images=3, unlisted_images=2, misfiled_images=2, seed=13
    )
    return root, expected


def test_mismatches_fail_by_default_and_say_how_to_proceed(mismatched, tmp_path):
    root, expected = mismatched
    with pytest.raises(errors.MismatchError) as error:
        build(landmark.Builder, tmp_path / "data", root)
    message = str(error.value)
    assert "7 disagreements" in message and "nothing was written" in message
    assert "3 x train.csv id without image" in message and expected["missing"][0] in message
    assert "2 x image without train.csv row" in message and "unlisted_000.JPG" in message
    assert "2 x folder disagrees with landmark_id" in message
    rerun = f"--manual_dir {root} --data_dir {tmp_path / 'data'}"
    assert f"landmark_images/full/skip_mismatches=True --imports landmark_images {rerun}" in message
    assert not list((tmp_path / "data").rglob("*.tfrecord*"))
    assert not list((tmp_path / "data").rglob("dataset_info.json"))


def test_skip_mismatches_builds_the_rest_and_records_them(mismatched, metadata, tmp_path):
    root, expected = mismatched
    builder = build(landmark.Builder, tmp_path / "data", root, skip_mismatches=True)
    kept = DaconMetadata(metadata.categories, metadata.train, metadata.test)
    train = stored_examples(builder, "train")
    assert set(train) == set(expected["train"])
    report = builder.info.metadata[report_lib.METADATA_KEY]["train"]
    assert report["missing"] == 3 and report["reasons"]["missing"] == {"train.csv id without image": 3}
    assert report["reasons"]["skipped"] == {"folder disagrees with landmark_id": 2, "image without train.csv row": 2}
    assert report["image_files"] == len(expected["train"]) + 4
    assert builder.info.metadata["build_options"] == {"skip_mismatches": True}
    assert kept.categories == builder.info.features["label"].names


@pytest.mark.slow
def test_skip_mismatches_through_the_tfds_cli(mismatched, tmp_path):
    root, expected = mismatched
    result = run_ok(
        [TFDS, "build", "landmark_images/full/skip_mismatches=True", "--imports", "landmark_images",
         "--manual_dir", str(root), "--data_dir", str(tmp_path)],
        cwd=tmp_path,
    )
    assert "folder disagrees with landmark_id" in result.stdout
    builder = tfds.builder_from_directory(str(tmp_path / "landmark_images" / "full" / "1.0.0"))
    assert builder.info.splits["train"].num_examples == len(expected["train"])


def test_missing_csv_lists_what_was_found(metadata, tmp_path):
    write_dacon_replica(tmp_path / "manual", metadata, "split_zips", seed=1)
    (tmp_path / "manual" / "sample_submission.csv").unlink()
    with pytest.raises(errors.MetadataError, match=r"(?s)sample_submission.csv was not found.*category.csv"):
        build(landmark.Builder, tmp_path / "data", tmp_path / "manual")


def test_two_different_copies_of_a_csv_are_refused(metadata, tmp_path):
    write_dacon_replica(tmp_path / "manual", metadata, "single_zip", seed=1)
    (tmp_path / "manual" / "train.csv").write_text("id,landmark_id\nx,1\n")
    with pytest.raises(errors.MetadataError, match="2 different train.csv files"):
        build(landmark.Builder, tmp_path / "data", tmp_path / "manual")


def test_label_out_of_range_names_the_line(metadata, tmp_path):
    write_dacon_replica(tmp_path / "manual", metadata, "extracted", seed=1)
    train_csv = tmp_path / "manual" / "train.csv"
    train_csv.write_text(train_csv.read_text() + "extra_001,1049\n")
    with pytest.raises(errors.MetadataError, match=r"train.csv line \d+: landmark_id 1049 is not in category.csv"):
        build(landmark.Builder, tmp_path / "data", tmp_path / "manual")


def test_empty_manual_dir_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(errors.ManualDirError, match="(?s)is empty.*train.zip"):
        build(landmark.Builder, tmp_path / "data", tmp_path / "empty")


def test_extracted_tree_wins_over_a_zip_beside_it(metadata, tmp_path):
    expected = write_dacon_replica(tmp_path / "manual", metadata, "extracted", seed=2)
    write_dacon_replica(tmp_path / "other", metadata, "single_zip", seed=2)
    (tmp_path / "other" / "open.zip").rename(tmp_path / "manual" / "open.zip")
    builder = build(landmark.Builder, tmp_path / "data", tmp_path / "manual")
    _assert_matches_metadata(builder, metadata, expected)


def test_partly_extracted_download_builds_whole(metadata, tmp_path):
    """test.zip extracted, train.zip kept: each split comes from where it is."""
    expected = write_dacon_replica(tmp_path / "manual", metadata, "split_zips", "nfd", seed=4)
    with zipfile.ZipFile(tmp_path / "manual" / "test.zip") as z:
        z.extractall(tmp_path / "manual")
    builder = build(landmark.Builder, tmp_path / "data", tmp_path / "manual")
    _assert_matches_metadata(builder, metadata, expected)


def test_zip_of_zips_says_to_extract_it(metadata, tmp_path):
    write_dacon_replica(tmp_path / "inner", metadata, "split_zips", seed=4)
    (tmp_path / "manual").mkdir()
    with zipfile.ZipFile(tmp_path / "manual" / "open.zip", "w") as outer:
        for path in sorted((tmp_path / "inner").iterdir()):
            outer.write(path, path.name)
    with pytest.raises(errors.ManualDirError, match=r"holds zips \(test.zip, train.zip\).*extract it"):
        build(landmark.Builder, tmp_path / "data", tmp_path / "manual")


def test_missing_csvs_are_listed_truthfully(tmp_path):
    (tmp_path / "manual" / "train" / "x" / "y").mkdir(parents=True)
    (tmp_path / "manual" / "train" / "x" / "y" / "a.JPG").write_bytes(b"\xff\xd8\xff")
    with pytest.raises(errors.MetadataError, match=r"category.csv was not found.*CSV/JSON files found: none"):
        build(landmark.Builder, tmp_path / "data", tmp_path / "manual")


def test_csv_in_an_unknown_encoding_names_the_file_and_the_fix(metadata, tmp_path):
    write_dacon_replica(tmp_path / "manual", metadata, "extracted", seed=1)
    (tmp_path / "manual" / "train.csv").write_bytes(b"id,landmark_id\n" + bytes([0xFF, 0xFE, 0x81, 0x00]) * 20)
    with pytest.raises(ValueError, match="train.csv is neither UTF-8 nor CP949.*Re-save it as UTF-8"):
        build(landmark.Builder, tmp_path / "data", tmp_path / "manual")


def test_duplicate_train_csv_id_names_the_line(metadata, tmp_path):
    write_dacon_replica(tmp_path / "manual", metadata, "extracted", seed=1)
    train_csv = tmp_path / "manual" / "train.csv"
    first_row = train_csv.read_text().splitlines()[1]
    train_csv.write_text(train_csv.read_text() + first_row + "\n")
    with pytest.raises(errors.MetadataError, match=r"train.csv line \d+: id .* appears twice"):
        build(landmark.Builder, tmp_path / "data", tmp_path / "manual")


def test_hostile_members_in_a_dacon_zip_are_refused_and_reported(metadata, tmp_path):
    expected = write_dacon_replica(tmp_path / "manual", metadata, "single_zip", seed=6)
    with zipfile.ZipFile(tmp_path / "manual" / "open.zip", "a") as archive:
        archive.writestr("../train/서울시/x/escape.JPG", b"\xff\xd8\xff")
        archive.writestr("/abs/test/a/abs.JPG", b"\xff\xd8\xff")
    builder = build(landmark.Builder, tmp_path / "data", tmp_path / "manual")
    _assert_matches_metadata(builder, metadata, expected)
    report = builder.info.metadata[report_lib.METADATA_KEY]
    refused = [f for r in report.values() for f in r["files"] if f["reason"].startswith("unsafe path")]
    assert sorted(f["path"] for f in refused) == ["../train/서울시/x/escape.JPG", "/abs/test/a/abs.JPG"]
