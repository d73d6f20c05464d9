"""The benchmark scripts still run (at a smoke size; the figures come from the README command)."""

from __future__ import annotations

import sys
import zipfile

from clean_images.replica import write_pet_archive
from tests.helpers import run_ok


def _run(tmp_path, module: str, *args: str) -> str:
    return run_ok([sys.executable, "-m", module, "--workdir", str(tmp_path), *args], timeout=900).stdout


def test_build_benchmark_runs_every_contender_on_any_archive(tmp_path):
    # Any PetImages zip, under any name (the generated replica is exercised by the read benchmark).
    archive = tmp_path / "someone else's pets.zip"
    write_pet_archive(str(archive), images_per_class=50, faults={"exif_only": 3, "png_as_jpg": 1, "empty": 1}, seed=9)
    with zipfile.ZipFile(archive) as z:
        image_files = sum(1 for name in z.namelist() if name.startswith("PetImages/") and name.endswith(".jpg"))
    out = _run(tmp_path, "benchmarks.build", "--archive", str(archive), "--repeat", "1")
    assert f"{image_files} image files," in out, out
    for name in ("pet_images (this project)", "TFDS cats_vs_dogs 4.0.1", "blog recipe", "floor: read every member",
                 "floor: read + full decode"):
        assert f"| {name}" in out, out
    assert "pet_images / TFDS cats_vs_dogs:" in out


def test_read_benchmark_runs_every_contender(tmp_path):
    out = _run(tmp_path, "benchmarks.read", "--images", "120", "--repeat", "1")
    for name in ("clean_images.reading.training_pipeline", "training_pipeline(dtype=tf.uint8)",
                 "keras image_dataset_from_directory", "keras image_dataset_from_directory, autotuner off",
                 "PIL loop (1 core)", "ceiling: read + full-scale decode only", "ceiling: read + 1/8-scale decode only"):
        assert f"| {name} |" in out, out


def test_landmark_benchmark_reports_both_splits(tmp_path):
    out = _run(tmp_path, "benchmarks.landmark", "--classes", "3", "--test-images", "20", "--image-width", "64")
    assert "| train |" in out and "| test | 20 |" in out, out
