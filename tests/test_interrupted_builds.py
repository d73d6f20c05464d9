"""Killed and concurrent builds: tfds.load never sees a partial dataset; a rerun completes it."""

from __future__ import annotations

import pathlib
import signal
import subprocess
import time

import pytest
import tensorflow_datasets as tfds

import pet_images  # noqa: F401  # registers the builder for tfds.builder below
from clean_images.testing.replica import write_pet_archive
from tests.helpers import TFDS, run_ok

pytestmark = pytest.mark.slow  # Beam, the CLI, wheels, subprocesses



@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> tuple[pathlib.Path, int]:
    """(manual_dir, how many images a build keeps)."""
    folder = tmp_path_factory.mktemp("manual")
    expected = write_pet_archive(str(folder / "pets.zip"), images_per_class=2500, faults={"png_as_jpg": 2, "empty": 1}, seed=3)
    return folder, sum(outcome != "skipped" for outcome in expected.values())


def _build_command(manual_dir, data_dir) -> list[str]:
    return [TFDS, "build", "pet_images", "--imports", "pet_images", "--config", "full",
            "--manual_dir", str(manual_dir), "--data_dir", str(data_dir)]


def _published(data_dir: pathlib.Path) -> list[pathlib.Path]:
    return list((data_dir / "pet_images" / "full").glob("1.0.0/dataset_info.json"))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_build_killed_midway_publishes_nothing_and_a_rerun_completes(sig, archive, tmp_path):
    manual_dir, kept = archive
    process = subprocess.Popen(_build_command(manual_dir, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob("pet_images/full/incomplete.*")):
        time.sleep(0.05)  # wait until it is writing
    assert list(tmp_path.glob("pet_images/full/incomplete.*")), "the build never started writing"
    time.sleep(0.2)  # into reading and writing examples (the whole build takes ~1 s here)
    process.send_signal(signal.SIGSTOP)  # freeze it there, so the signal below lands mid-build
    assert process.poll() is None and not _published(tmp_path), "the build was over: make the archive larger"
    process.send_signal(sig)
    process.send_signal(signal.SIGCONT)
    process.wait(timeout=120)
    assert process.returncode != 0
    assert not _published(tmp_path)
    with pytest.raises(AssertionError, match="could not find data"):  # nothing partial is visible
        tfds.builder("pet_images/full", data_dir=str(tmp_path)).as_dataset(split="train")

    run_ok(_build_command(manual_dir, tmp_path))
    builder = tfds.builder_from_directory(str(tmp_path / "pet_images" / "full" / "1.0.0"))
    assert builder.info.splits["train"].num_examples == kept == 5004
    assert sum(1 for _ in builder.as_dataset(split="train")) == kept


def test_two_builds_at_once_end_in_one_correct_dataset(archive, tmp_path):
    manual_dir, kept = archive
    processes = [subprocess.Popen(_build_command(manual_dir, tmp_path), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT) for _ in range(2)]
    codes = [p.wait(timeout=600) for p in processes]
    assert 0 in codes  # one wins; the other may fail cleanly when it finds the dataset there
    assert len(_published(tmp_path)) == 1
    builder = tfds.builder_from_directory(str(tmp_path / "pet_images" / "full" / "1.0.0"))
    assert sum(1 for _ in builder.as_dataset(split="train")) == builder.info.splits["train"].num_examples == kept
    assert not list(tmp_path.glob("pet_images/full/incomplete.*"))
