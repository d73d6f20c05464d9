"""examples/train_keras.py runs as a user would run it, and its small CNN learns on the shipped samples."""

from __future__ import annotations

import json
import math
import pathlib
import statistics
import sys

import pytest

from tests.helpers import run_ok

pytestmark = pytest.mark.slow  # a TensorFlow process each, ~15-25 s on 2 busy cores

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "examples" / "train_keras.py"
# 30 steps at 64 px: over seeds 0-5 the last 8 steps' mean loss was 0.23-0.51 (pets) and 0.57-0.68
# (landmarks) of the first 8 steps' mean; the small CNN memorises the few dozen images despite the crops.
EPOCHS, STEPS, FIRST_AND_LAST = 10, 3, 8


def train(data_dir: pathlib.Path, dataset: str, batch_size: int, seed: int = 0) -> dict:
    """Runs the script on the dataset's `sample` config; returns its last line, the JSON summary."""
    args = ["--dataset", dataset, "--config", "sample", "--data_dir", str(data_dir), "--epochs", str(EPOCHS),
            "--steps", str(STEPS), "--image_size", "64", "--batch_size", str(batch_size), "--seed", str(seed)]
    out = run_ok([sys.executable, str(SCRIPT), *args], timeout=300, cwd=SCRIPT.parent.parent).stdout
    return json.loads(out.strip().splitlines()[-1])


def assert_learns(losses: list[float]) -> None:
    assert len(losses) == EPOCHS * STEPS, losses
    assert all(math.isfinite(loss) for loss in losses), losses
    first, last = statistics.mean(losses[:FIRST_AND_LAST]), statistics.mean(losses[-FIRST_AND_LAST:])
    assert last < first, f"mean loss of the last {FIRST_AND_LAST} steps {last:.3f} >= first {FIRST_AND_LAST} {first:.3f}"


# pet_images/sample: 62 images of 2 classes in train[:80%]; landmark_images/sample: 18 of 6 classes
# (its unlabelled test split is never read). Batches of 16 and 6: 3 full batches per epoch.
@pytest.mark.parametrize("dataset, batch_size", [("pet_images", 16), ("landmark_images", 6)])
def test_training_on_a_sample_lowers_the_loss(tmp_path, dataset, batch_size):
    summary = train(tmp_path, dataset, batch_size)  # builds the sample into tmp_path first
    assert_learns(summary["losses"])
    assert 0.0 <= summary["val_accuracy"] <= 1.0
