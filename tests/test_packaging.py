"""The real `tfds` CLI: from the repository root, and from an installed wheel anywhere else."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import sys
import zipfile

import pytest

from tests.helpers import TFDS, run_ok

pytestmark = pytest.mark.slow  # the CLI, wheels, subprocesses

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _report(data_dir: pathlib.Path) -> dict:
    metadata = json.loads((data_dir / "pet_images" / "sample" / "1.0.0" / "metadata.json").read_text())
    return metadata["build_report"]["train"]


# Importing the builders imports neither TensorFlow nor an extra; the checksums file is found.
_BARE_IMPORT = """
import sys, pathlib
import pet_images, landmark_images
from clean_images.builder import checksums_file
path = checksums_file("pet_images")
assert path.exists(), path
heavy = ("tensorflow", "skimage", "sklearn", "matplotlib", "apache_beam", "clean_images.testing")
print(path, str(sorted(m for m in heavy if m in sys.modules)).replace(" ", ""))
"""


def test_editable_install_finds_the_checksums_at_the_repository_root():
    """`pip install -e .`: clean_images.checksums is the repository's own checksums/ folder."""
    result = run_ok([sys.executable, "-c", _BARE_IMPORT], cwd=ROOT.parent)
    checksums_path, imported = result.stdout.split()
    assert checksums_path == str(ROOT / "checksums" / "pet_images.tsv")
    assert imported == "[]"


def test_tfds_build_from_the_repository_root(tmp_path):
    result = run_ok([TFDS, "build", "pet_images", "--config", "sample", "--data_dir", str(tmp_path)], cwd=ROOT)
    assert "Build report" in result.stdout and "repaired" in result.stdout
    assert "train: 92 image files read, validated and serialized in" in result.stdout
    report = _report(tmp_path)
    assert report["stored"] + report["repaired"] + report["skipped"] == report["image_files"] > 0


def test_wheel_installs_and_builds_the_sample_anywhere(tmp_path):
    # From a copy without build artefacts: setuptools would pack stale files from a build/ folder.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__"))
    run_ok([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(source)], cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "pet_images/pet_images_dataset_builder.py",
        "pet_images/README.md",
        "pet_images/CITATIONS.bib",
        "pet_images/TAGS.txt",
        "pet_images/sample/kagglecatsanddogs_sample.zip",
        "clean_images/checksums/pet_images.tsv",
        "clean_images/sanitize.py",
        "landmark_images/landmark_images_dataset_builder.py",
        "landmark_images/README.md",
        "landmark_images/CITATIONS.bib",
        "landmark_images/TAGS.txt",
        "landmark_images/sample/dacon_landmark_sample.zip",
    ):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("checksums/", "tests/"))], "generic top-level packages"
    assert not [n for n in names if n.startswith(("clean_images/testing/", "benchmarks/", "scripts/"))], "test-only code"

    site = tmp_path / "site"
    run_ok([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)], cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = run_ok([sys.executable, "-c", "import pet_images; print(pet_images.__file__)"], cwd=elsewhere, env=env)
    assert where.stdout.strip().startswith(str(site))
    bare = run_ok([sys.executable, "-c", _BARE_IMPORT], cwd=elsewhere, env=env)
    checksums_path, imported = bare.stdout.split()
    assert checksums_path.startswith(str(site)) and checksums_path.endswith("clean_images/checksums/pet_images.tsv")
    assert imported == "[]", f"importing the builders imported {imported}"
    data = tmp_path / "data"
    result = run_ok(
        [TFDS, "build", "pet_images", "--imports", "pet_images", "--config", "sample", "--data_dir", str(data)],
        cwd=elsewhere,
        env=env,
    )
    assert "Build report" in result.stdout
    assert _report(data)["image_files"] > 0
    run_ok(
        [TFDS, "build", "landmark_images", "--imports", "landmark_images", "--config", "sample", "--data_dir", str(data)],
        cwd=elsewhere,
        env=env,
    )
    landmark = json.loads((data / "landmark_images" / "sample" / "1.0.0" / "metadata.json").read_text())
    assert landmark["build_report"]["test"]["stored"] > 0


def test_the_default_config_is_the_real_data(tmp_path):
    import tensorflow_datasets as tfds

    import landmark_images  # noqa: F401  # registers the builders
    import pet_images  # noqa: F401

    for name in ("pet_images", "landmark_images"):
        builder = tfds.builder(name, data_dir=str(tmp_path))
        assert builder.builder_config.name == "full", name
        assert builder.data_path.parts[-2:] == ("full", "1.0.0")
