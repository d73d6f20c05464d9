"""Features benchmark: pet_images/efficientnetb0 against the bare model, and reading it for a head.

    python -m benchmarks.features --images 3000 --repeat 2
    python -m benchmarks.features --images 25000 --repeat 1 --build-only   # peak RSS at 25k

On a PetImages replica (made once, then reused; see `benchmarks.build`), every round runs,
each in its own process: EfficientNetB0 alone on random batches (the rate no features build
can beat), the features build, the full (image) build, then one epoch of each as training
reads it: the features through `tfds.load`, the images decoded and resized to 224. The
weights are random (made here, once): the speed of a network does not depend on its weights.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics

from benchmarks import measure
from benchmarks.build import image_files, replica


def random_weights(workdir: pathlib.Path) -> pathlib.Path:
    """EfficientNetB0(include_top=False) weights file, random, made once."""
    path = workdir / "efficientnetb0-random.weights.h5"
    if not path.exists():
        from keras.applications import efficientnet  # pylint: disable=g-import-not-at-top

        workdir.mkdir(parents=True, exist_ok=True)
        efficientnet.EfficientNetB0(include_top=False, weights=None, input_shape=(224, 224, 3)).save_weights(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--build-only", action="store_true", help="only the features build (for its peak RSS)")
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("/tmp/clean-images-bench"))
    args = parser.parse_args()

    zip_path = replica(args.workdir, args.images)
    weights = str(random_weights(args.workdir))
    data = args.workdir / "features-data"
    images = image_files(zip_path)
    build = ["ours", str(zip_path), str(data), "0", "efficientnetb0", "on", weights]
    contenders = {"pet_images/efficientnetb0 build": build}
    if not args.build_only:
        contenders = {
            "EfficientNetB0 alone, random batches of 32": ["bare_efficientnetb0", weights, str(images)],
            **contenders,
            "pet_images/full build": ["ours", str(zip_path), str(data), "0", "full"],
            "read pet_images/efficientnetb0 (tfds.load, batches of 32)": ["read_features", str(data)],
            "read pet_images/full, decode + resize 224": ["read_ours", str(data), "224", "float32", "full", "resize"],
        }
    runs: dict[str, list[measure.Run]] = {name: [] for name in contenders}
    for _ in range(args.repeat):  # each round rebuilds from scratch, then reads what it built
        for name, command in contenders.items():
            runs[name].extend(measure.run_rounds({name: command}, 1)[name])
        print_table(images, runs)
        measure.shutil.rmtree(data, ignore_errors=True)


def print_table(images: int, runs: dict[str, list[measure.Run]]) -> None:
    print(f"\n{images:,} image files, {len(next(iter(runs.values())))} round(s)\n")
    print("| contender | img/s median (min-max) | peak RSS MiB | note |")
    print("| --- | --- | --- | --- |")
    rate = {}
    for name, name_runs in runs.items():
        rates = sorted(_rate(images, run) for run in name_runs)
        rate[name] = statistics.median(rates)
        note = ""
        if "output_bytes" in name_runs[-1].result:
            note = f"{name_runs[-1].result['output_bytes'] / 2**20:,.0f} MiB on disk"
        print(f"| {name} | {rate[name]:,.1f} ({rates[0]:,.1f}-{rates[-1]:,.1f}) | "
              f"{max(r.peak_rss_mb for r in name_runs):,.0f} | {note} |")
    bare, built = "EfficientNetB0 alone, random batches of 32", "pet_images/efficientnetb0 build"
    if bare in rate:
        print(f"\nfeatures build / bare model: {rate[built] / rate[bare]:.0%} (whole build: process start, "
              "imports, model load, sanitizing, writing)")
        reads = [name for name in rate if name.startswith("read")]
        print(f"reading features / reading images at 224: {rate[reads[0]] / rate[reads[1]]:.1f}x")


def _rate(images: int, run: measure.Run) -> float:
    """Per image file, over the whole process, except for the timed loops that report their own seconds."""
    return run.result.get("images", images) / run.result["pipeline_seconds"] if "pipeline_seconds" in run.result \
        else images / run.seconds


if __name__ == "__main__":
    main()
