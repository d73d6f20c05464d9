"""The benchmark scripts still run (at a smoke size; the figures come from the README command)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile

import pytest

from benchmarks.contenders import cats_vs_dogs_corrupt_count
from clean_images.testing.replica import write_pet_archive
from tests.helpers import run_ok

pytestmark = pytest.mark.slow  # Beam, the CLI, wheels, subprocesses


def _run(tmp_path, module: str, *args: str) -> str:
    return run_ok([sys.executable, "-m", module, "--workdir", str(tmp_path), *args], timeout=900).stdout


def test_build_benchmark_runs_every_contender_on_any_archive(tmp_path):
    # Any PetImages zip, under any name (the generated replica is exercised by the read benchmark).
    archive = tmp_path / "someone else's pets.ZIP"  # TFDS's cats_vs_dogs needs a .zip name: linked
    write_pet_archive(str(archive), images_per_class=50, faults={"exif_only": 3, "png_as_jpg": 1, "empty": 1}, seed=9)
    with zipfile.ZipFile(archive, "a") as z:  # files TFDS's cats_vs_dogs keeps or ignores by its own rules
        jpeg = z.read("PetImages/Cat/0.jpg")
        z.writestr("PetImages/Cat/9990.jpg", jpeg[:2] + _app1(b"Exif\0\0" + bytes(30)) + jpeg[2:])  # JFIF at byte 42
        z.writestr("PetImages/Dog/not-a-number.jpg", jpeg)
    with zipfile.ZipFile(archive) as z:
        image_files = sum(1 for name in z.namelist() if name.startswith("PetImages/") and name.endswith(".jpg"))
    out = _run(tmp_path, "benchmarks.build", "--archive", str(archive), "--repeat", "1")
    assert f"{image_files} image files," in out, out
    for name in ("pet_images (this project)", "pet_images/256px", "TFDS cats_vs_dogs 4.0.1", "blog recipe",
                 "floor: read every member", "floor: read + full decode"):
        assert f"| {name}" in out, out
    assert re.search(r"pet_images / TFDS cats_vs_dogs: [\d.]+x \(per round: median [\d.]+x, [\d.]+x-[\d.]+x\)", out), out


def test_a_contender_that_cannot_build_the_archive_is_reported_and_the_rest_measured(tmp_path):
    archive = tmp_path / "kagglecatsanddogs_5340.zip"
    write_pet_archive(str(archive), images_per_class=20, faults={}, seed=4)
    with zipfile.ZipFile(archive, "a") as z:  # JFIF header, cut scan: past cats_vs_dogs' only check
        jpeg = z.read("PetImages/Cat/0.jpg")
        z.writestr("PetImages/Cat/999.jpg", jpeg[: len(jpeg) // 2])
    names = ("pet_images (this project)", "TFDS cats_vs_dogs 4.0.1", "floor: read + full decode, all cores")
    out = _run(tmp_path, "benchmarks.build", "--archive", str(archive), "--repeat", "2",
               *(arg for name in names for arg in ("--only", name)))  # the others: the test above
    assert "| TFDS cats_vs_dogs 4.0.1 | failed: " in out and "Invalid JPEG data" in out, out
    assert out.count("TFDS cats_vs_dogs 4.0.1: FAILED") == 1, out  # not run again in round 2
    assert "pet_images / TFDS cats_vs_dogs: none, TFDS cats_vs_dogs 4.0.1 failed on this archive" in out
    assert "pet_images / full-decode floor: " in out and "| pet_images (this project) | " in out


def test_only_runs_the_named_contenders_and_the_ratios_between_them(tmp_path):
    archive = tmp_path / "kagglecatsanddogs_5340.zip"
    write_pet_archive(str(archive), images_per_class=10, faults={}, seed=5)
    floors = ("floor: read every member", "floor: read + full decode, all cores")
    out = _run(tmp_path, "benchmarks.build", "--archive", str(archive), "--repeat", "2",
               *(arg for name in floors for arg in ("--only", name)))
    table = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith(("| contender", "| ---"))]
    assert [line.split(" | ")[0][2:] for line in table] == list(floors), out
    assert "(per round" not in out and "failed" not in out, out  # no ratio names a contender that did not run
    wrong = subprocess.run([sys.executable, "-m", "benchmarks.build", "--archive", str(archive), "--only", "TFDS"],
                           capture_output=True, text=True, timeout=300, check=False)
    assert wrong.returncode == 2 and "no contender named ['TFDS']" in wrong.stderr, wrong.stderr


def test_distinct_replica_has_the_planted_copies_and_the_report_finds_them_all(tmp_path):
    # The replica of distinct photos (`--distinct`): 400 image files, the planted copies counted.
    out = _run(tmp_path, "benchmarks.build", "--distinct", "--images", "400", "--repeat", "1",
               "--only", "pet_images (this project)")
    assert "400 image files," in out, out
    found = re.search(r"duplicates report against the planted copies: (.*); pairs not planted: (\d+) \((\d+) groups\)", out)
    assert found, out
    assert found[1] == ", ".join(f"{kind} 25/25" for kind in
                                 ("exact", "exact-other-class", "reencoded", "resized", "cropped", "brightened")), out
    assert (found[2], found[3]) == ("0", "150"), out
    planted = json.loads((tmp_path / "pet-distinct-400" / "planted.json").read_text())
    assert len(planted) == 150 and len({tuple(p["copy"]) for p in planted}) == 150


def _app1(payload: bytes) -> bytes:
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def test_cats_vs_dogs_corrupt_count_follows_its_own_rule(tmp_path):
    archive = tmp_path / "pets.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("PetImages/Cat/1.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")  # kept
        # kept: JFIF within its peek
        z.writestr("PetImages/Cat/2.jpg", b"\xff\xd8" + _app1(b"Exif\0\0") + b"\xff\xe0\x00\x10JFIF")
        z.writestr("PetImages/Dog/3.jpg", b"\xff\xd8" + _app1(b"Exif\0\0" + bytes(600)) + b"\xff\xe0\x00\x10JFIF")  # dropped
        z.writestr("PetImages/Dog/4.jpg", b"")  # dropped
        z.writestr("PetImages/Dog/x.jpg", b"")  # not its name pattern: ignored, not counted
    assert cats_vs_dogs_corrupt_count(str(archive)) == 2


@pytest.mark.scale  # ~2 minutes (13 contenders, each a process importing TensorFlow): out of CI's 15-minute budget
def test_read_benchmark_runs_every_contender(tmp_path):
    out = _run(tmp_path, "benchmarks.read", "--images", "120", "--repeat", "1")
    for name in ("clean_images.reading.training_pipeline", "training_pipeline(dtype=tf.uint8)",
                 "keras image_dataset_from_directory", "keras image_dataset_from_directory, autotuner off",
                 "PIL loop (1 core)", "ceiling: read + full-scale decode only", "ceiling: read + 1/8-scale decode only",
                 "training_pipeline(mode='eval'), 256px", "training_pipeline(mode='train'), 256px",
                 "keras image_dataset_from_directory, 256px images, autotuner off",
                 "training_pipeline(mode='eval'), 256px, TF_CPU_ALLOCATOR_USE_BFC=1",
                 "keras image_dataset_from_directory, autotuner off, TF_CPU_ALLOCATOR_USE_BFC=1"):
        assert f"| {name} |" in out, out
    assert "eval input, 256px config vs full config: PSNR median" in out


def test_read_benchmark_runs_only_the_named_contenders_with_per_round_ratios(tmp_path):
    """More rounds of a few: the 256px eval pipeline against its Keras baseline, round by round."""
    names = ("training_pipeline(mode='eval', dtype=tf.uint8), 256px", "keras image_dataset_from_directory, autotuner off")
    out = _run(tmp_path, "benchmarks.read", "--images", "40", "--repeat", "2", "--no-psnr",
               *(arg for name in names for arg in ("--only", name)))
    table = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith(("| contender", "| ---"))]
    assert [line.split(" | ")[0][2:] for line in table] == list(names), out
    assert f"  {names[0]}: " in out and "(per round: " in out, out
    assert "PSNR" not in out and "TF_CPU_ALLOCATOR_USE_BFC=1" not in out, out
    wrong = subprocess.run([sys.executable, "-m", "benchmarks.read", "--images", "40", "--only", "keras"],
                           capture_output=True, text=True, timeout=300, check=False)
    assert wrong.returncode == 2 and "no contender named ['keras']" in wrong.stderr, wrong.stderr


def test_landmark_benchmark_reports_both_splits(tmp_path):
    out = _run(tmp_path, "benchmarks.landmark", "--classes", "3", "--test-images", "20", "--image-width", "300",
               "--configs", "full,256px")
    assert out.count("| train |") == 2 and out.count("| test | 20 |") == 2, out
    assert "landmark_images/256px" in out, out


def test_read_contenders_refuse_an_unknown_allocator():
    from benchmarks.contenders import read_ours

    with pytest.raises(ValueError, match="allocator must be 'default' or 'bfc'"):
        read_ours("unused", "224", allocator="tcmalloc")


def test_keras_contender_holds_no_tfds(tmp_path):
    # Its peak RSS is the bar ours must stay under: it must not carry TFDS's (or this package's) imports.
    from PIL import Image

    for label in ("Cat", "Dog"):
        (tmp_path / label).mkdir()
        Image.new("RGB", (40, 30), (200, 10, 10)).save(tmp_path / label / "0.jpg")
    code = ("import json, sys; from benchmarks.contenders import read_keras; "
            f"result = read_keras({str(tmp_path)!r}, '16', 'off'); "
            "print(json.dumps([result['images'], sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow_datasets', 'clean_images'))]))")
    images, imported = json.loads(run_ok([sys.executable, "-c", code]).stdout.strip().splitlines()[-1])
    assert images == 2 and imported == []
