"""The benchmark scripts still run (at a smoke size; the figures come from the README command)."""

from __future__ import annotations

import subprocess
import sys


def _run(module: str, tmp_path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", module, "--images", "120", "--repeat", "1", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_build_benchmark_runs_every_contender(tmp_path):
    out = _run("benchmarks.build", tmp_path)
    for name in ("pet_images (this project)", "TFDS cats_vs_dogs 4.0.1", "blog recipe", "floor: read every member",
                 "floor: read + full decode"):
        assert f"| {name}" in out, out
    assert "pet_images / TFDS cats_vs_dogs:" in out


def test_read_benchmark_runs_every_contender(tmp_path):
    out = _run("benchmarks.read", tmp_path)
    assert "| clean_images.reading.training_pipeline |" in out and "| keras image_dataset_from_directory |" in out


def test_landmark_benchmark_reports_both_splits(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.landmark", "--classes", "3", "--test-images", "20", "--image-width", "64", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| train |" in result.stdout and "| test | 20 |" in result.stdout, result.stdout
