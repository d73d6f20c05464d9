"""Read-side benchmark: the package's training pipeline against Keras' folder loader and PIL.

    python -m benchmarks.read --images 25000 --repeat 3 [--size 224] [--workdir /tmp/clean-images-bench]

All read the same images: pet_images built (in process) from the build benchmark's replica,
and those stored images written out as a folder for `image_dataset_from_directory`.
Each contender decodes, resizes to size x size, batches 64 and drains one epoch.
"""

from __future__ import annotations

import argparse
import collections
import pathlib

import tensorflow_datasets as tfds

from benchmarks import measure
from benchmarks.build import replica


def prepare(workdir: pathlib.Path, images: int) -> tuple[pathlib.Path, pathlib.Path]:
    """The built dataset and the same images as a Keras-style class folder."""
    import pet_images

    zip_path = replica(workdir, images)
    data_dir, folder = workdir / f"pet-read-{images}" / "data", workdir / f"pet-read-{images}" / "folder"
    builder = pet_images.Builder(config="full", data_dir=str(data_dir))
    if not folder.exists():
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(zip_path.parent)))
        dataset = builder.as_dataset(split="train", decoders={"image": tfds.decode.SkipDecoding()})
        for example in tfds.as_numpy(dataset):
            path = folder / example["image/filename"].decode().removeprefix("PetImages/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(example["image"])
    return data_dir, folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=25_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("/tmp/clean-images-bench"))
    args = parser.parse_args()

    data_dir, folder = prepare(args.workdir, args.images)
    size = str(args.size)
    contenders = {
        "clean_images.reading.training_pipeline": ["read_ours", str(data_dir), size],
        "keras image_dataset_from_directory": ["read_keras", str(folder), size],
        "PIL loop (1 core)": ["read_pil", str(folder), size],
    }
    runs: dict[str, list[measure.Run]] = collections.defaultdict(list)
    for round_number in range(args.repeat):
        for name, command in contenders.items():
            runs[name].append(measure.run(name, command))
            print(f"round {round_number + 1}: {name}: {runs[name][-1].seconds:.1f} s", flush=True)

    print(f"\nread side, {args.size}x{args.size}, batch 64, median of {args.repeat}\n")
    print("| contender | img/s median (min-max) | peak RSS MiB |")
    print("| --- | --- | --- |")
    rates = {}
    for name, name_runs in runs.items():
        count = name_runs[-1].result["images"]
        median, low, high = measure.summary(name_runs)
        rates[name] = count / median
        print(f"| {name} | {count / median:,.0f} ({count / high:,.0f}-{count / low:,.0f}) | "
              f"{max(r.peak_rss_mb for r in name_runs):,.0f} |")
    ratio = rates["clean_images.reading.training_pipeline"] / rates["keras image_dataset_from_directory"]
    print(f"\ntraining_pipeline / image_dataset_from_directory: {ratio:.2f}x")


if __name__ == "__main__":
    main()
