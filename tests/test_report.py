"""clean_images.report: counts, the stored JSON form, the printed table, the accounting check."""

from __future__ import annotations

import os
import pathlib
import shlex
import subprocess
import sys

import pytest
import tensorflow_datasets as tfds

from clean_images import errors
from clean_images import report as report_lib
from clean_images.duplicates import Duplicates
from clean_images.resize import ShorterSide
from landmark_images import landmark_images_dataset_builder as landmark
from pet_images import pet_images_dataset_builder as pet
from tests.helpers import build, run_ok, stored_examples


def _report() -> report_lib.BuildReport:
    report = report_lib.BuildReport()
    report["test"].record_sanitized("test/a.jpg", "stored")
    report["train"].record_sanitized("b.jpg", "skipped", "empty file")
    report["train"].record_sanitized("a.jpg", "repaired", "PNG saved as .jpg", "detail")
    report["train"].record_sanitized("c.jpg", "stored")
    report["train"].record("Thumbs.db", report_lib.IGNORED, "not an image file name (.db)")
    return report


def test_json_form_counts_every_outcome_and_lists_all_but_the_stored():
    stored = _report().to_json()
    assert list(stored) == ["train", "test"]  # train first, then by name
    train = stored["train"]
    assert (train["image_files"], train["stored"], train["repaired"], train["skipped"], train["ignored"]) == (3, 1, 1, 1, 1)
    assert [f["path"] for f in train["files"]] == ["Thumbs.db", "a.jpg", "b.jpg"]  # sorted, stored ones left out
    assert train["reasons"]["repaired"] == {"PNG saved as .jpg": 1}


def test_table_shows_counts_reasons_and_how_many_more_files():
    table = report_lib.format_table(_report().to_json(), max_files=1)
    assert "train           3         1         1         1         1" in table
    assert "train repaired      1  PNG saved as .jpg" in table
    assert "... and 2 more in info.metadata['build_report']" in table


def test_accounting_passes_when_the_three_counts_agree():
    report_lib.check_accounting(_report(), handed_out={"train": 3, "test": 1}, written={"train": 2, "test": 1})


@pytest.mark.parametrize(
    "handed_out, written",
    [({"train": 4, "test": 1}, {"train": 2, "test": 1}),  # an entry never got a verdict
     ({"train": 3, "test": 1}, {"train": 1, "test": 1}),  # a kept image was not written
     ({"train": 3}, {"train": 2})],  # a whole split was never handed out
)
def test_accounting_fails_loudly_when_any_count_disagrees(handed_out, written):
    with pytest.raises(errors.AccountingError, match="does not add up.*Nothing was published"):
        report_lib.check_accounting(_report(), handed_out, written)


def test_files_with_outcome_lists_every_file_of_that_outcome_with_its_split():
    stored = _report().to_json()
    assert [(split, f["path"]) for split, f in report_lib.files_with_outcome(stored, "skipped")] == [("train", "b.jpg")]
    assert [f["reason"] for _, f in report_lib.files_with_outcome(stored, "ignored")] == ["not an image file name (.db)"]
    with pytest.raises(ValueError, match="lists the files of outcomes repaired, skipped, ignored, missing, not 'stored'"):
        report_lib.files_with_outcome(stored, "stored")


def test_rows_are_one_line_per_file_even_when_a_name_holds_tabs_or_newlines():
    odd = {"path": "a\tb\nc\x1b.jpg", "outcome": "skipped", "reason": "empty file", "detail": ""}
    assert report_lib.format_rows([("train", odd)]) == "train\ta\\tb\\nc\\x1b.jpg\tempty file\t"


# The command, run as users run it, on the samples built into tmp_path.

REPORT = [sys.executable, "-m", "clean_images.report"]
DATASETS = {"pet_images": pet.Builder, "landmark_images": landmark.Builder}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, tfds.core.DatasetBuilder]:
    """Both samples, built into one data_dir: dataset name -> builder."""
    data_dir = tmp_path_factory.mktemp("data")
    return {name: build(cls, data_dir, config="sample") for name, cls in DATASETS.items()}


def _command_args(builder: tfds.core.DatasetBuilder, form: str) -> list[str]:
    """The dataset as the command takes it: `name/config --data_dir DIR`, or its version directory."""
    if form == "name":
        return [f"{builder.name}/sample", "--data_dir", str(builder.data_dir_root)]
    return [str(builder.data_dir)]


def _rows(stdout: str) -> list[tuple[str, str, str]]:
    """(split, path, reason) of each tab-separated line the command printed."""
    return [tuple(line.split("\t")[:3]) for line in stdout.splitlines()]  # type: ignore[misc]


@pytest.mark.parametrize("form", ["name", "directory"])
@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_command_prints_the_stored_table_and_the_duplicates_line(built, dataset, form):
    builder = built[dataset]
    repository = pathlib.Path(__file__).parent.parent  # where pet_images/sample is also a folder: the name must win
    result = run_ok([*REPORT, *_command_args(builder, form)], cwd=repository)
    assert report_lib.format_table(builder.info.metadata["build_report"]) in result.stdout
    assert Duplicates().summary_line(builder.info.metadata["duplicates"]) in result.stdout
    assert result.stderr == ""  # no runpy warning about clean_images.report being imported twice


def test_the_hint_to_list_all_files_runs_as_printed(built, tmp_path):
    """It names the dataset as the command was given it, --data_dir included."""
    result = run_ok([*REPORT, *_command_args(built["pet_images"], "name")], cwd=tmp_path)
    hint = next(line for line in result.stdout.splitlines() if "all of them:" in line)
    command = shlex.split(hint.split("all of them: ", 1)[1].split(" (or ")[0])
    assert command[:3] == ["python", "-m", "clean_images.report"] and "--data_dir" in command
    listed = run_ok([sys.executable, *command[1:]], cwd=tmp_path)
    assert len(_rows(listed.stdout)) == sum(r["skipped"] for r in built["pet_images"].info.metadata["build_report"].values())


@pytest.mark.parametrize("form", ["name", "directory"])
@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_outcome_skipped_lists_exactly_the_skipped_files_of_the_stored_report(built, dataset, form):
    report = built[dataset].info.metadata["build_report"]
    result = run_ok([*REPORT, *_command_args(built[dataset], form), "--outcome", "skipped"])
    expected = [(split, f["path"], f["reason"]) for split, r in report.items() for f in r["files"] if f["outcome"] == "skipped"]
    assert _rows(result.stdout) == expected
    assert len(expected) == sum(r["skipped"] for r in report.values()) > 0  # the counts agree: none left out


def test_an_outcome_no_file_has_prints_nothing(built):
    report = built["pet_images"].info.metadata["build_report"]
    assert not any(f["outcome"] == "missing" for r in report.values() for f in r["files"])
    result = run_ok([*REPORT, *_command_args(built["pet_images"], "name"), "--outcome", "missing"])
    assert result.stdout == ""


@pytest.mark.slow  # the command imports TensorFlow to read the examples of a TFRecord build
def test_outcome_stored_lists_the_examples_whose_bytes_are_their_own(built):
    stored = stored_examples(built["pet_images"])
    result = run_ok([*REPORT, *_command_args(built["pet_images"], "name"), "--outcome", "stored"])
    expected = sorted(name for name, example in stored.items() if example["image/repair"] == b"")
    assert _rows(result.stdout) == [("train", name, "") for name in expected]
    assert len(expected) == built["pet_images"].info.metadata["build_report"]["train"]["stored"]
    assert "deprecated" not in result.stderr  # TFDS's own warning from PartialDecoding, silenced


def test_outcome_stored_reads_an_array_record_build_without_tensorflow(tmp_path):
    builder = build(pet.Builder, tmp_path, config="sample", file_format="array_record")
    source = builder.as_data_source(split="train", decoders={"image": tfds.decode.SkipDecoding()})
    expected = sorted(e["image/filename"].decode() for e in source if e["image/repair"] == b"")
    result = run_ok([*REPORT, str(builder.data_dir), "--outcome", "stored"])
    assert _rows(result.stdout) == [("train", name, "") for name in expected]
    assert len(expected) == builder.info.metadata["build_report"]["train"]["stored"]


@pytest.mark.parametrize("form", ["name", "directory"])
def test_a_dataset_not_built_is_a_clear_error_with_the_build_command(tmp_path, form):
    args = ["pet_images/sample", "--data_dir", str(tmp_path)] if form == "name" else [str(tmp_path / "pet_images/sample/1.0.0")]
    result = subprocess.run([*REPORT, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and result.stdout == ""
    assert f"no dataset_info.json in {tmp_path / 'pet_images/sample/1.0.0'}" in result.stderr
    assert f"tfds build pet_images --config sample --imports pet_images --data_dir {tmp_path}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_dataset_named_without_data_dir_and_not_in_the_default_one_points_to_data_dir(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TFDS_DATA_DIR"} | {"HOME": str(tmp_path)}
    result = subprocess.run([*REPORT, "pet_images/sample"], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 1
    assert f"no dataset_info.json in {tmp_path / 'tensorflow_datasets/pet_images/sample/1.0.0'}" in result.stderr
    assert "if it was built into another --data_dir, pass that data_dir" in result.stderr


def test_a_version_neither_current_nor_built_is_a_clear_error_naming_the_current_one(tmp_path):
    """TFDS raises an AssertionError for it (e.g. a 256px:1.0.0 build, from before 1.1.0, asked where it is not)."""
    result = subprocess.run([*REPORT, "pet_images/256px:1.0.0", "--data_dir", str(tmp_path)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"cannot be loaded at version 1.0.0, only: {ShorterSide.version}" in result.stderr


def test_an_unknown_dataset_is_a_clear_error_naming_the_known_ones():
    result = subprocess.run([*REPORT, "no_such_dataset/sample"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "Unknown dataset 'no_such_dataset': no Python package 'no_such_dataset' to import" in result.stderr
    assert "Known here: pet_images, landmark_images" in result.stderr and "Traceback" not in result.stderr
