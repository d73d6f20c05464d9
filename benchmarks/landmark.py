"""landmark_images on a full-scale Dacon replica: img/s and peak RSS, both splits.

    python -m benchmarks.landmark [--metadata ../shared/dacon_metadata] [--layout single_zip] [--repeat 1]
                                  [--image-width 500] [--classes N --test-images M]

Uses the real Dacon metadata when the folder exists (88,102 train ids, 37,964 test ids,
1,049 classes), else synthetic metadata of the same shape. Images are drawn from 256
generated photos, PetImages-sized by default (long side 440-500 px, ~3.4 GB of JPEGs in
all: far beyond TFDS's 1 GiB in-memory shuffle buffer), so peak RSS here against the 25k
PetImages build shows whether memory keeps growing with the number of images.
`--classes 3 --test-images 20 --image-width 64` is CI's smoke size.
"""

from __future__ import annotations

import argparse
import pathlib

from benchmarks import measure
from clean_images.testing.replica import DaconMetadata, write_dacon_replica

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metadata", type=pathlib.Path, default=ROOT.parent / "shared" / "dacon_metadata")
    parser.add_argument("--layout", default="single_zip", choices=["single_zip", "split_zips", "extracted"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("/tmp/clean-images-bench"))
    parser.add_argument("--classes", type=int, help="only the first N classes")
    parser.add_argument("--test-images", type=int, default=37_964)
    parser.add_argument("--image-width", type=int, default=500, help="the photos' long side")
    parser.add_argument("--configs", default="full", help="comma-separated, e.g. full,256px: each built and read")
    args = parser.parse_args()

    real = args.metadata.is_dir()
    metadata = DaconMetadata.from_dir(args.metadata) if real else DaconMetadata.synthetic()
    size = f"-{args.image_width}px"
    if args.classes:
        metadata = metadata.subset(args.classes, args.test_images)
        size += f"-{args.classes}-{args.test_images}"
    manual = args.workdir / f"dacon-{args.layout}-{'real' if real else 'synthetic'}{size}"
    if not manual.exists():
        write_dacon_replica(manual, metadata, args.layout, "cp949", "cp949", seed=1, image_width=args.image_width)
    scratch = args.workdir / "scratch-landmark"
    configs = args.configs.split(",")
    contenders = {config: ["ours_landmark", str(manual), str(scratch / config), config, "yes"] for config in configs}
    all_runs = measure.run_rounds(contenders, args.repeat, scratch)
    for config, runs in all_runs.items():
        median, low, high = measure.summary(runs)
        result = runs[-1].result
        print(f"\nlandmark_images/{config}, {'real' if real else 'synthetic'} metadata, {args.layout} (CP949), "
              f"train {result['train']:,} + test {result['test']:,} files, photos' long side {args.image_width} px\n")
        print("| img/s median (min-max) | wall s (build, then an eval epoch per split) | peak RSS MiB | output MiB |")
        print("| --- | --- | --- | --- |")
        print(f"| {result['images'] / median:,.0f} ({result['images'] / high:,.0f}-{result['images'] / low:,.0f}) "
              f"| {median:.1f} | {max(r.peak_rss_mb for r in runs):,.0f} | {result['output_bytes'] / 2**20:,.0f} |")
        print("\nPer split: generation (read, validate, serialize; shards are written after each) and reading\n"
              "(`training_pipeline(mode='eval')`, 224 px, one epoch):\n")
        print("| split | image files | build img/s | peak RSS MiB at its end | read img/s |")
        print("| --- | --- | --- | --- | --- |")
        for split, timing in result["splits"].items():
            read = result["reads"].get(split)
            read_rate = f"{read['images'] / read['pipeline_seconds']:,.0f}" if read else ""
            print(f"| {split} | {timing['image_files']:,} | {timing['image_files'] / timing['seconds']:,.0f} | "
                  f"{timing['peak_rss_mib']:,.0f} | {read_rate} |")


if __name__ == "__main__":
    main()
