"""Beam builds (DirectRunner, 2 worker processes) against in-process builds of the same inputs."""

from __future__ import annotations

import base64
import json
import pathlib

import pytest
import tensorflow_datasets as tfds
from apache_beam.options.pipeline_options import PipelineOptions

from clean_images import beam_generation
from clean_images.testing.replica import DaconMetadata, write_dacon_replica, write_pet_archive
from landmark_images import landmark_images_dataset_builder as landmark
from pet_images import pet_images_dataset_builder as pet
from tests.helpers import TFDS, assert_same_dataset, build, run_ok

pytestmark = pytest.mark.slow  # Beam, the CLI, wheels, subprocesses

BEAM_FLAGS = ["--runner=DirectRunner", "--direct_num_workers=2", "--direct_running_mode=multi_processing"]


def _build_both_ways(builder_cls, tmp_path, config: str, manual_dir=None, **kwargs):
    local = build(builder_cls, tmp_path / "local", manual_dir, config, **kwargs)
    beam = build(builder_cls, tmp_path / "beam", manual_dir, config, PipelineOptions(BEAM_FLAGS), **kwargs)
    return local, beam


def _assert_identical(local, beam, splits):
    assert beam._build.beam_splits == splits and not local._build.beam_splits  # pylint: disable=protected-access
    assert_same_dataset(local, beam, splits)
    assert not list(beam.data_path.glob("build-report*")), "worker report records must not stay in the dataset"


@pytest.mark.parametrize("builder_cls, splits", [(pet.Builder, ["train"]), (landmark.Builder, ["train", "test"])])
def test_samples_are_identical_on_beam(builder_cls, splits, tmp_path):
    local, beam = _build_both_ways(builder_cls, tmp_path, "sample")
    _assert_identical(local, beam, splits)


def test_medium_pet_archive_is_identical_on_beam(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    write_pet_archive(str(manual / "pets.zip"), images_per_class=150,
                      faults={"png_as_jpg": 3, "cmyk_jpeg": 2, "truncated_jpeg": 3, "extraneous_bytes": 2, "empty": 1},
                      seed=77, max_width=200)
    local, beam = _build_both_ways(pet.Builder, tmp_path, "full", manual)
    _assert_identical(local, beam, ["train"])


def test_256px_config_is_identical_on_beam(tmp_path):
    """Resized in Beam's worker processes (DCT-scaled decode, OpenCV resize and encode): the same bytes."""
    manual = tmp_path / "manual"
    manual.mkdir()
    write_pet_archive(str(manual / "pets.zip"), images_per_class=20, faults={"cmyk_jpeg": 1, "png_as_jpg": 1},
                      seed=78, min_width=560, max_width=700)
    local, beam = _build_both_ways(pet.Builder, tmp_path, "256px", manual)
    assert local.info.metadata["image_transform"]["shorter_side"] == 256
    _assert_identical(local, beam, ["train"])


def test_medium_landmark_replica_with_skipped_mismatches_is_identical_on_beam(tmp_path):
    metadata = DaconMetadata.synthetic(seed=21).subset(6, 60)
    write_dacon_replica(tmp_path / "manual", metadata, "split_zips", "cp949", "cp949",
                        unlisted_images=2, faults={"gif_as_jpg": 2, "truncated_jpeg": 1}, seed=21)
    local, beam = _build_both_ways(landmark.Builder, tmp_path, "full", tmp_path / "manual", skip_mismatches=True)
    _assert_identical(local, beam, ["train", "test"])


def test_direct_runner_does_not_try_to_download_prism(tmp_path, caplog):
    caplog.set_level("INFO")
    builder = pet.Builder(config="sample", data_dir=str(tmp_path))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(beam_options=PipelineOptions(BEAM_FLAGS)))
    assert builder._build.beam_splits == ["train"]  # pylint: disable=protected-access
    assert not [r.getMessage() for r in caplog.records if "prism" in r.getMessage().lower()]


def test_report_records_of_a_retried_bundle_count_once(tmp_path):
    """A bundle that ran twice wrote its records twice; a failed one left a .tmp file."""
    prefix = tmp_path / "build-report-train"
    seen = {"observed": {"other_pass": [1, "a"]}, "observed_bytes": {"duplicates": base64.b64encode(b"\0\xff").decode()}}
    record = {"path": "PetImages/Cat/1.jpg", "outcome": "stored", "reason": "", "detail": "", **seen}
    other = dict(record, path="PetImages/Cat/2.jpg", outcome="skipped", reason="empty file", observed={}, observed_bytes={})
    (tmp_path / "build-report-train-a.jsonl").write_text(json.dumps(record) + "\n" + json.dumps(other) + "\n")
    (tmp_path / "build-report-train-b.jsonl").write_text(json.dumps(record) + "\n")
    (tmp_path / "build-report-train-c.tmp").write_text(json.dumps(record))
    records = list(beam_generation.pop_records(str(prefix)))
    assert sorted(r["path"] for r in records) == ["PetImages/Cat/1.jpg", "PetImages/Cat/2.jpg"]
    observed = {r["path"]: r["observed"] for r in records}  # bytes come back as bytes
    assert observed == {"PetImages/Cat/1.jpg": {"other_pass": [1, "a"], "duplicates": b"\0\xff"}, "PetImages/Cat/2.jpg": {}}
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name, splits", [("pet_images", ["train"]), ("landmark_images", ["train", "test"])])
def test_tfds_cli_with_the_documented_beam_options_matches_the_local_build(name, splits, tmp_path):
    """The README's command, run by the real `tfds` CLI: output identical to the in-process build."""
    options = "runner=DirectRunner,direct_num_workers=2,direct_running_mode=multi_processing"
    result = run_ok([TFDS, "build", name, "--config", "sample", "--data_dir", str(tmp_path / "cli"),
                     f"--beam_pipeline_options={options}"], cwd=pathlib.Path(__file__).resolve().parent.parent)
    assert "Build report" in result.stdout and "prism" not in (result.stdout + result.stderr).lower()
    beam_info = [line for line in result.stdout.splitlines() if line.startswith("INFO[") and "apache_beam" in line
                 or "native_type_compatibility" in line or "worker_handlers" in line]
    assert not beam_info, beam_info[:5]  # Beam's INFO logs of a local run: ~70 lines before they were quieted

    local = build(pet.Builder if name == "pet_images" else landmark.Builder, tmp_path / "local", config="sample")
    on_beam = tfds.builder_from_directory(str(tmp_path / "cli" / name / "sample" / "1.0.0"))
    assert_same_dataset(local, on_beam, splits)
