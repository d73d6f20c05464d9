"""Read-side benchmark: the package's training pipeline against Keras' folder loader and PIL.

    python -m benchmarks.read --images 25000 --repeat 3 [--size 224] [--workdir /tmp/clean-images-bench]
    python -m benchmarks.read --repeat 12 --no-psnr --only "training_pipeline(mode='eval', dtype=tf.uint8), 256px" \
        --only "keras image_dataset_from_directory, autotuner off"   # more rounds of a few

All read the same images: pet_images built (in process) from the build benchmark's replica,
and those stored images written out as a folder for `image_dataset_from_directory`.
Each contender decodes, resizes to size x size, batches 64 and drains one epoch (the 1-core
PIL loop only its first 3,000 images); Keras' loader
also runs without tf.data's autotuner (which sometimes holds an epoch's end for seconds), and
two ceilings only read and decode (full and 1/8 DCT scale), to show what any pipeline could
reach. Two rates:
the pipeline's own (from building the dataset to the end of its epoch, as a training job sees
it) and the whole process's (adding Python start-up and the ~2-3 s TensorFlow import).
The float32 pipelines also run with TensorFlow's pooling CPU allocator switched on, and
Keras' loader too: any pipeline with batches over 32 MB gains from it.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics

import tensorflow as tf
import tensorflow_datasets as tfds

from benchmarks import measure
from benchmarks.build import replica
from clean_images import parsing

BFC = "TF_CPU_ALLOCATOR_USE_BFC=1"  # TensorFlow's pooling CPU allocator (see contenders._use_allocator)


def locations(workdir: pathlib.Path, images: int, config: str = "full") -> tuple[pathlib.Path, pathlib.Path]:
    """Where `prepare` puts the built dataset (`config`) and the same stored images as a Keras-style class folder."""
    root = workdir / f"pet-read-{images}"
    return root / "data", root / f"folder-{config}-{parsing.VERSIONS[config]}"


def prepare(workdir: pathlib.Path, images: int, config: str = "full") -> tuple[pathlib.Path, pathlib.Path]:
    """The built dataset (`config`) and the same stored images as a Keras-style class folder."""
    import pet_images

    data_dir, folder = locations(workdir, images, config)
    if not folder.exists():
        zip_path = replica(workdir, images)
        builder = pet_images.Builder(config=config, data_dir=str(data_dir))
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(zip_path.parent)))
        dataset = builder.as_dataset(split="train", decoders={"image": tfds.decode.SkipDecoding()})
        for example in tfds.as_numpy(dataset):
            path = folder / example["image/filename"].decode().removeprefix("PetImages/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(example["image"])
    return data_dir, folder


def eval_input_psnr(data_dir: pathlib.Path, size: int, limit: int = 2000) -> tuple[float, float]:
    """Median and 5th-percentile PSNR of the eval pipeline's input on `256px` against the same
    pipeline on `full`, image by image (the same first examples of both, matched by filename)."""
    import numpy as np

    from clean_images import reading

    def inputs(config: str) -> dict[bytes, np.ndarray]:
        count = tfds.builder(f"pet_images/{config}", data_dir=str(data_dir)).info.splits["train"].num_examples
        batches = reading.training_pipeline(f"pet_images/{config}", f"train[:{min(limit, count)}]", mode="eval",
                                            image_size=size, data_dir=str(data_dir), dtype=tf.uint8,
                                            extras=("image/filename",))
        return {name: image for images, _, extras in batches
                for name, image in zip(extras["image/filename"].numpy(), images.numpy())}

    small, full = inputs("256px"), inputs("full")
    assert small.keys() == full.keys()
    values = [10 * np.log10(255.0**2 / max(np.mean((small[k].astype(float) - full[k].astype(float)) ** 2), 1e-10))
              for k in small]
    return float(np.median(values)), float(np.percentile(values, 5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=25_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("/tmp/clean-images-bench"))
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this contender (repeatable; its name as the table prints it): more rounds of a "
                        "few, e.g. the 256px pipelines and the Keras baselines; ratios need their baseline in the run")
    parser.add_argument("--no-psnr", action="store_true", help="skip the eval input's PSNR (2,000 images, ~1 min)")
    args = parser.parse_args()

    data_dir, folder = locations(args.workdir, args.images)
    _, folder_256 = locations(args.workdir, args.images, "256px")
    size = str(args.size)
    ours_bfc = {f"training_pipeline(mode='{mode}'), 256px, {BFC}": ["read_ours", str(data_dir), size, "float32", "256px",
                                                                  mode, "bfc"] for mode in ("eval", "train")}
    keras_bfc = f"keras image_dataset_from_directory, autotuner off, {BFC}"
    contenders = {
        "training_pipeline(mode='eval'), 256px": ["read_ours", str(data_dir), size, "float32", "256px", "eval"],
        "training_pipeline(mode='train'), 256px": ["read_ours", str(data_dir), size, "float32", "256px", "train"],
        "training_pipeline(mode='eval', dtype=tf.uint8), 256px": ["read_ours", str(data_dir), size, "uint8", "256px", "eval"],
        "training_pipeline(mode='train', dtype=tf.uint8), 256px": ["read_ours", str(data_dir), size, "uint8", "256px", "train"],
        "training_pipeline(mode='eval'), full": ["read_ours", str(data_dir), size, "float32", "full", "eval"],
        **ours_bfc,
        "keras image_dataset_from_directory, 256px images, autotuner off": ["read_keras", str(folder_256), size, "off"],
        "clean_images.reading.training_pipeline": ["read_ours", str(data_dir), size],
        "training_pipeline(dtype=tf.uint8)": ["read_ours", str(data_dir), size, "uint8"],
        "keras image_dataset_from_directory": ["read_keras", str(folder), size],
        "keras image_dataset_from_directory, autotuner off": ["read_keras", str(folder), size, "off"],
        keras_bfc: ["read_keras", str(folder), size, "off", "bfc"],
        "PIL loop (1 core)": ["read_pil", str(folder), size],
        "ceiling: read + full-scale decode only": ["decode_ceiling", str(folder), "1"],
        "ceiling: read + 1/8-scale decode only": ["decode_ceiling", str(folder), "8"],
    }
    try:
        contenders = measure.select(contenders, args.only)
    except ValueError as error:
        parser.error(str(error))
    prepare(args.workdir, args.images)
    prepare(args.workdir, args.images, "256px")
    runs = measure.run_rounds(contenders, args.repeat)

    print(f"\nread side, {args.size}x{args.size}, batch 64, median of {args.repeat}\n")
    print("| contender | pipeline img/s median (min-max) | whole process img/s | peak RSS MiB |")
    print("| --- | --- | --- | --- |")
    rates = {}
    for name, name_runs in runs.items():
        count = name_runs[-1].result["images"]
        pipeline = sorted(r.result["pipeline_seconds"] for r in name_runs)
        rates[name] = count / statistics.median(pipeline)
        print(f"| {name} | {rates[name]:,.0f} ({count / pipeline[-1]:,.0f}-{count / pipeline[0]:,.0f}) | "
              f"{count / measure.summary(name_runs)[0]:,.0f} | {max(r.peak_rss_mb for r in name_runs):,.0f} |")
    print_ratios(rates, runs, list(ours_bfc), keras_bfc)
    if not args.no_psnr:
        median, p5 = eval_input_psnr(data_dir, args.size)
        print(f"eval input, 256px config vs full config: PSNR median {median:.1f} dB, 5th percentile {p5:.1f} dB")


def print_ratios(rates: dict[str, float], runs: dict[str, list[measure.Run]], ours_bfc: list[str], keras_bfc: str) -> None:
    """Each pipeline against the Keras baselines in the run: the ratio of medians, and the median of the per-round
    ratios (a round's two runs are close in time, so they share the machine's state: the steadier figure). Ratios
    whose baseline did not run are left out."""
    keras_full = [name for name in ("keras image_dataset_from_directory", "keras image_dataset_from_directory, autotuner off")
                  if name in rates]
    print()
    ceilings = [name for name in ("ceiling: read + full-scale decode only", "ceiling: read + 1/8-scale decode only")
                if name in rates]
    for keras in keras_full:
        for name in ("clean_images.reading.training_pipeline", "training_pipeline(dtype=tf.uint8)", *ceilings):
            if name in rates:
                print(f"{name} / {keras}: {rates[name] / rates[keras]:.2f}x")
    if keras_full:
        baseline = max(keras_full, key=rates.__getitem__)
        print(f"\n256px configs against the faster Keras run on the full-size images ({baseline}, "
              f"{rates[baseline]:,.0f} img/s); per round: median (min-max) of that round's ratio:")
        for name in ("training_pipeline(mode='eval'), 256px", "training_pipeline(mode='train'), 256px",
                     "training_pipeline(mode='eval', dtype=tf.uint8), 256px",
                     "training_pipeline(mode='train', dtype=tf.uint8), 256px",
                     "training_pipeline(mode='eval'), full", "keras image_dataset_from_directory, 256px images, autotuner off",
                     *ours_bfc, keras_bfc):
            if name in rates:
                per_round = sorted(b.result["pipeline_seconds"] / a.result["pipeline_seconds"]
                                   for a, b in zip(runs[name], runs[baseline], strict=False))
                print(f"  {name}: {rates[name] / rates[baseline]:.2f}x (per round: {statistics.median(per_round):.2f}x, "
                      f"{per_round[0]:.2f}x-{per_round[-1]:.2f}x)")
    if keras_bfc in rates:
        print(f"float32 with {BFC} against Keras with it too ({rates[keras_bfc]:,.0f} img/s):")
        for name in ours_bfc:
            if name in rates:
                print(f"  {name}: {rates[name] / rates[keras_bfc]:.2f}x")


if __name__ == "__main__":
    main()
