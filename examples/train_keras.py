"""Trains a small Keras CNN on pet_images or landmark_images through `clean_images.reading`.

    python examples/train_keras.py --dataset pet_images --config sample --epochs 10 --data_dir /tmp/tfds

Builds the dataset first if it is not built yet (the `sample` configs build offline in seconds
from an archive shipped in the package; `full` needs the real data, see the dataset's README).
Trains on the first 80 % of the train split (random resized crops and flips) and validates on
the last 20 % (centre crops): landmark_images' `test` split is unlabelled (label -1).
The model starts from random weights, so on a sample it shows the loop works, not accuracy.
Prints one line per epoch, then one JSON line: {"losses": [every step's loss], "val_accuracy": ...}.
"""

from __future__ import annotations

import argparse
import json
import math
import warnings

import keras
import tensorflow as tf
import tensorflow_datasets as tfds

import landmark_images  # noqa: F401  (importing a dataset package registers its builder with TFDS)
import pet_images  # noqa: F401
from clean_images import reading

DATASETS = ("pet_images", "landmark_images")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=DATASETS, default="pet_images")
    parser.add_argument("--config", default="sample", help="e.g. sample, 256px, full (default: sample)")
    parser.add_argument("--data_dir", default=None, help="where TFDS datasets are built (default: ~/tensorflow_datasets)")
    parser.add_argument("--manual_dir", default=None, help="the downloaded data, for a `full` config not built yet")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--steps", type=int, default=None, help="at most this many batches per epoch (default: all)")
    parser.add_argument("--image_size", type=int, default=128)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=None, help="makes the run reproducible (default: a new one each run)")
    args = parser.parse_args(argv)
    for flag, least in (("epochs", 1), ("steps", 1), ("image_size", 1), ("batch_size", 1), ("seed", 0)):
        value = getattr(args, flag)
        if value is not None and value < least:
            parser.error(f"--{flag} must be at least {least}, not {value}")
    return args


def prepared_builder(name: str, data_dir: str | None, manual_dir: str | None) -> tfds.core.DatasetBuilder:
    """The dataset's builder, built first if needed (a no-op when it already is)."""
    builder = tfds.builder(name, data_dir=data_dir)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
    return builder


def small_cnn(image_size: int, num_classes: int) -> keras.Model:
    """Four strided conv blocks and a linear head: trains on a CPU in seconds, no pretrained weights needed."""
    model = keras.Sequential([keras.Input((image_size, image_size, 3)), keras.layers.Rescaling(1 / 255)])
    for filters in (16, 32, 64, 128):
        model.add(keras.layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False))
        model.add(keras.layers.BatchNormalization(momentum=0.9))  # Keras' 0.99 lags behind on a few dozen steps
        model.add(keras.layers.ReLU())
    model.add(keras.layers.GlobalAveragePooling2D())
    model.add(keras.layers.Dense(num_classes))  # logits
    return model


def input_pipelines(name: str, args: argparse.Namespace) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """Train: the first 80 % of `train`, augmented; validation: the last 20 %, centre crops."""
    seed = args.seed
    common = dict(image_size=args.image_size, batch_size=args.batch_size, data_dir=args.data_dir, seed=seed,
                  skip_duplicates=True)  # a copy of a training image in validation would flatter the accuracy
    train_batches = reading.training_pipeline(name, "train[:80%]", mode="train", **common)
    val_batches = reading.training_pipeline(name, "train[80%:]", mode="eval", **common)
    if args.steps:
        train_batches = train_batches.take(args.steps)
    return train_batches, val_batches


def validation_accuracy(model: keras.Model, batches: tf.data.Dataset) -> float:
    """Keras' evaluate, without its "ran out of data" warning: skip_duplicates' filter hides the length."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Your input ran out of data")
        return float(model.evaluate(batches, verbose=0)[1])


def train(args: argparse.Namespace) -> dict:
    """Trains and validates; returns every step's training loss and the last validation accuracy."""
    name = f"{args.dataset}/{args.config}"
    builder = prepared_builder(name, args.data_dir, args.manual_dir)
    if args.seed is not None:  # after the build, which only some runs do: the same weights, batches and crops every run
        keras.utils.set_random_seed(args.seed)
        tf.config.experimental.enable_op_determinism()  # else parallel decoding and CPU kernels reorder work
    train_batches, val_batches = input_pipelines(name, args)
    model = small_cnn(args.image_size, builder.info.features["label"].num_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    losses: list[float] = []
    val_accuracy = math.nan
    for epoch in range(1, args.epochs + 1):  # model.fit(train_batches, ...) works too, but logs running means
        epoch_losses = [float(model.train_on_batch(images, labels)[0]) for images, labels in train_batches]
        val_accuracy = validation_accuracy(model, val_batches)
        print(f"epoch {epoch}: {len(epoch_losses)} steps, mean loss {sum(epoch_losses) / len(epoch_losses):.4f}, "
              f"val_accuracy {val_accuracy:.3f}", flush=True)
        losses += epoch_losses
    return {"losses": losses, "val_accuracy": val_accuracy}


def main(argv: list[str] | None = None) -> None:
    print(json.dumps(train(parse_args(argv))))


if __name__ == "__main__":
    main()
