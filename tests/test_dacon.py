"""landmark_images.dacon as pure functions: the CSVs read and checked, files matched to rows.
No image is read and nothing is built: the inputs are in-memory sources."""

from __future__ import annotations

import pytest
from etils import epath

from clean_images import errors, report
from clean_images.manual_dir import Contents
from landmark_images import dacon
from tests.helpers import MemorySource

CATEGORY = "landmark_id,landmark_name\n0,경복궁\n1,남산 서울타워\n".encode()
TRAIN = b"id,landmark_id\nA_001,0\nA_002,0\nB_001,1\n"
SUBMISSION = b"id,landmark_id,conf\nt1,,\nt2,,\n"


def _files(extra: dict[str, bytes] | None = None, drop: tuple[str, ...] = ()) -> list[dacon.Found]:
    files = {
        "category.csv": CATEGORY, "train.csv": TRAIN, "sample_submission.csv": SUBMISSION,
        "train/서울시/경복궁/A_001.JPG": b"", "train/서울시/경복궁/A_002.JPG": b"",
        "train/서울시/남산_서울타워/B_001.JPG": b"", "test/t/t1.JPG": b"", "test/t2.JPG": b"", **(extra or {}),
    }
    source = MemorySource({k: v for k, v in files.items() if k not in drop})
    return [dacon.Found(source, m) for m in source.members()]


def test_tables_are_read_and_names_normalized():
    tables = dacon.read_tables(_files(), num_classes=2)
    assert tables.categories == ["경복궁", "남산 서울타워"]
    assert tables.train_labels == {"A_001": 0, "A_002": 0, "B_001": 1}
    assert tables.test_ids == ["t1", "t2"]


def test_every_image_is_matched_to_its_row_with_region_and_its_own_test_path():
    files = _files({"train/서울시/경복궁/Thumbs.db": b""})
    plans, mismatches = dacon.plan(files, dacon.read_tables(files, 2))
    assert not mismatches
    train = {e.filename: e.features for e in plans["train"].entries}
    assert train["train/서울시/남산_서울타워/B_001.JPG"] == {"label": 1, "region": "서울시", "id": "B_001"}
    assert sorted(e.filename for e in plans["test"].entries) == ["test/t/t1.JPG", "test/t2.JPG"]
    assert {e.features["label"] for e in plans["test"].entries} == {-1}
    assert [(r.path, r.outcome) for r in plans["train"].recorded] == [("train/서울시/경복궁/Thumbs.db", report.IGNORED)]


def test_disagreements_are_collected_by_kind_and_recorded_when_skipped():
    files = _files({"train/서울시/남산_서울타워/A_003.JPG": b"", "test/x/x9.JPG": b""}, drop=("train/서울시/경복궁/A_002.JPG",))
    tables = dacon.read_tables(files, 2)
    tables.train_labels["A_003"] = 0  # a row whose image sits in another class's folder
    plans, mismatches = dacon.plan(files, tables)
    assert {k: [p for _, p, _ in v] for k, v in mismatches.by_kind.items()} == {
        "folder disagrees with landmark_id": ["train/서울시/남산_서울타워/A_003.JPG"],
        "image without sample_submission.csv row": ["test/x/x9.JPG"],
        "train.csv id without image": ["A_002"],
    }
    assert "3 disagreements" in mismatches.describe("--manual_dir D") and "skip_mismatches=True" in mismatches.describe("")
    mismatches.record_in(plans)
    outcomes = {r.path: r.outcome for split in plans.values() for r in split.recorded}
    assert outcomes == {"train/서울시/남산_서울타워/A_003.JPG": "skipped", "test/x/x9.JPG": "skipped", "A_002": "missing"}


def test_the_same_image_id_twice_is_a_mismatch_not_a_second_example():
    files = _files({"other/train/서울시/경복궁/A_001.JPG": b""})
    plans, mismatches = dacon.plan(files, dacon.read_tables(files, 2))
    assert [p for _, p, _ in mismatches.by_kind["duplicate image id"]] == ["train/서울시/경복궁/A_001.JPG"]
    assert len(plans["train"].entries) == 3


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("train.csv", b"id,landmark_id\nA_001,7\n", r"train.csv line 2: landmark_id 7 is not in category.csv \(0-1\)"),
        ("train.csv", b"id,landmark_id\nA_001,0\nA_001,1\n", r"train.csv line 3: id 'A_001' appears twice \(first on line 2\)"),
        ("train.csv", b"id,label\nA_001,0\n", r"no column \['landmark_id'\]"),
        ("train.csv", b"id,landmark_id\nA_001,zero\n", r"train.csv line 2: 'zero' is not an integer"),
        ("category.csv", b"landmark_id,landmark_name\n0,a\n2,b\n",
         r"not 0..1 without gaps\. Use category.csv from the Dacon download as it is"),
    ],
)
def test_bad_csvs_name_the_file_and_line(name, data, message):
    with pytest.raises(errors.MetadataError, match=message):
        dacon.read_tables(_files({name: data}), num_classes=2)


def test_a_missing_csv_lists_the_csvs_found():
    with pytest.raises(errors.MetadataError, match=r"sample_submission.csv was not found.*\['category.csv', 'train.csv'\]"):
        dacon.read_tables(_files(drop=("sample_submission.csv",)), num_classes=2)


def test_extracted_images_of_a_split_win_over_those_in_a_zip():
    loose = MemorySource({"test/t/t1.JPG": b"", "train.csv": TRAIN})
    archive = MemorySource({"train/서울시/경복궁/A_001.JPG": b"", "test/t/t1.JPG": b""})
    archive.path = epath.Path("/data/open.zip")  # what a ZipSource has
    contents = Contents(epath.Path("/data"), loose, [archive])  # type: ignore[list-item]
    found = sorted((f.source is archive, f.member) for f in dacon.files_in(contents))
    assert found == [(False, "test/t/t1.JPG"), (False, "train.csv"), (True, "train/서울시/경복궁/A_001.JPG")]


@pytest.mark.parametrize("member, filename", [
    ("test/0/0abc.JPG", "test/0/0abc.JPG"),  # Dacon's layout: the example key must not change
    ("open/test/0/0abc.JPG", "test/0/0abc.JPG"),
    ("test/0abc.JPG", "test/0abc.JPG"),
    ("0/0abc.JPG", "test/0/0abc.JPG"),  # a test.zip without the test/ folder
    ("0abc.JPG", "test/0/0abc.JPG"),
])
def test_test_image_filenames(member, filename):
    assert dacon.test_filename(member.split("/")) == filename
