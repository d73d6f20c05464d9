"""Build-side benchmark: pet_images against TFDS's cats_vs_dogs, the blog recipe and floors.

    python -m benchmarks.build --images 25000 --repeat 3 [--beam] [--workdir /tmp/clean-images-bench]
    python -m benchmarks.build --archive PATH/TO/kagglecatsanddogs_5340.zip --repeat 3
    python -m benchmarks.build --repeat 10 --only "pet_images (this project)" \
        --only "pet_images without the duplicates report"   # the report's cost, with more rounds
    python -m benchmarks.build --distinct --repeat 10 --only ...   # the same on distinct photos

Every contender builds from the same replica archive (made once, then reused; or any
PetImages zip given with --archive, such as the real one), in its own
process; rounds are interleaved so machine noise hits all alike. Prints a Markdown table:
median img/s (min-max), peak RSS, output bytes / input bytes, and the ratios the README
quotes. CI runs it on ~100-image archives (`--archive`), only to prove it still works.

The default replica is cut from a handful of real photos, so it is full of near duplicates
(a stress case for the duplicates report: thousands of groups). `--distinct` builds from a
replica whose photos are all distinct (`clean_images.testing.planted`, ~5 min to draw 25k on
2 cores, once), with `PLANTED_PER_KIND` copies of each kind planted: the report's cost where
groups are rare, as in real datasets, and what it found against what was planted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import statistics
import zipfile

from benchmarks import measure
from benchmarks.contenders import image_members
from benchmarks.duplicates import grouped_pairs
from clean_images.testing.planted import COPIES, Planted
from clean_images.testing.replica import plant_copies, write_pet_archive

# Proportions of the real archive: ~7% Exif-only JPEGs (no JFIF), a few of each bad kind.
FAULTS_PER_25K = {"exif_only": 850, "cmyk_jpeg": 5, "png_as_jpg": 3, "gif_as_jpg": 2, "bmp_as_jpg": 2,
                  "extraneous_bytes": 10, "jfif_revision_zero": 2, "empty": 1, "truncated_exif_jpeg": 2}
PLANTED_PER_KIND = 25  # copies of each kind in a --distinct replica (150 in all: 0.6 % of 25k)


def replica(workdir: pathlib.Path, images: int, distinct: bool = False) -> pathlib.Path:
    """A PetImages zip of `images` image files (both classes), PetImages-sized photos; `distinct`: all
    distinct, with copies planted (listed in `planted.json` beside it), `images` counting them."""
    path = workdir / f"pet-{'distinct' if distinct else 'replica'}-{images}" / "kagglecatsanddogs_5340.zip"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        per_class = images // 2 - (len(COPIES) * PLANTED_PER_KIND // 2 if distinct else 0)
        faults = {k: max(1, round(v * images / 25_000)) if images >= 2_000 else 1 for k, v in FAULTS_PER_25K.items()}
        clean = per_class - sum(faults.values())
        partial = path.with_suffix(".partial")  # a replica interrupted while drawn is never taken for whole
        expected = write_pet_archive(str(partial), images_per_class=clean, faults=faults, seed=2025, max_width=500,
                                     min_width=440, realistic=True, distinct=distinct)
        if distinct:
            _, planted = plant_copies(str(partial), expected, PLANTED_PER_KIND, seed=2025)
            (path.parent / "planted.json").write_text(json.dumps([dataclasses.asdict(p) for p in planted]))
        partial.rename(path)
    return path


def contenders(zip_path: pathlib.Path, scratch: pathlib.Path, beam: bool) -> dict[str, list[str]]:
    table = {
        "pet_images (this project)": ["ours", str(zip_path), str(scratch / "ours")],
        "pet_images without the duplicates report": ["ours", str(zip_path), str(scratch / "nodup"), "0", "full", "off"],
        "pet_images/256px (stored at shorter side 256)": ["ours", str(zip_path), str(scratch / "ours256"), "0", "256px"],
        "TFDS cats_vs_dogs 4.0.1": ["tfds_cats_vs_dogs", str(zip_path), str(scratch / "tfds")],
        "blog recipe (1 .tfrecord per image)": ["blog", str(zip_path), str(scratch / "blog")],
        "floor: read every member": ["read_floor", str(zip_path)],
        "floor: read + full decode, all cores": ["decode_floor", str(zip_path)],
    }
    if beam:
        table["pet_images on Beam, 1 worker"] = ["ours", str(zip_path), str(scratch / "beam1"), "1"]
        table["pet_images on Beam, 2 workers"] = ["ours", str(zip_path), str(scratch / "beam2"), "2"]
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=25_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--archive", type=pathlib.Path, help="a PetImages zip to use instead of a generated replica")
    parser.add_argument("--distinct", action="store_true",
                        help="a replica of distinct photos with planted copies (see above), instead of the default one")
    parser.add_argument("--beam", action="store_true", help="also build on Beam with 1 and 2 workers")
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("/tmp/clean-images-bench"))
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this contender (repeatable; its name as the table prints it)")
    args = parser.parse_args()

    zip_path = args.archive.resolve() if args.archive else replica(args.workdir, args.images, args.distinct)
    scratch = args.workdir / "scratch"
    try:
        table = measure.select(contenders(zip_path, scratch, args.beam), args.only)
    except ValueError as error:
        parser.error(str(error))
    # Any archive may hold files a contender cannot build (TFDS's cats_vs_dogs stops at a
    # truncated JPEG with a JFIF header): it is reported as failed, the others still measured.
    runs = measure.run_rounds(table, args.repeat, scratch, tolerate_failures=True)
    print_table(image_files(zip_path), zip_path, runs)
    print_planted_found(zip_path, runs)


def image_files(zip_path: pathlib.Path) -> int:
    """What every rate is per: the archive's PetImages/{Cat,Dog}/*.jpg members."""
    with zipfile.ZipFile(zip_path) as archive:
        return len(image_members(archive))


def print_table(images: int, zip_path: pathlib.Path, runs: dict[str, list[measure.Run]]) -> None:
    rate = {}
    print(f"\n{images:,} image files, {zip_path.stat().st_size / 2**20:.0f} MiB zip, median of {max(map(len, runs.values()))}\n")
    print("| contender | img/s median (min-max) | peak RSS MiB (worker) | output / kept input bytes |")
    print("| --- | --- | --- | --- |")
    for name, name_runs in runs.items():
        failed = next((n for n, r in enumerate(name_runs, 1) if r.error), None)
        if failed:  # no figures from a contender that failed in any round
            error = name_runs[failed - 1].error[:300].replace("|", "\\|")
            print(f"| {name} | failed{f' in round {failed}' if failed > 1 else ''}: {error} | | |")
            continue
        median, low, high = measure.summary(name_runs)
        rate[name] = images / median
        result = name_runs[-1].result
        size = ""
        if "kept_input_bytes" in result:
            size = f"{result['output_bytes'] / result['kept_input_bytes']:.3f}"
        elif "output_bytes" in result:
            size = f"{result['output_bytes'] / 2**20:.0f} MiB"
        peak = max(r.peak_rss_mb for r in name_runs)
        worker = max(r.peak_worker_rss_mb for r in name_runs)
        print(f"| {name} | {images / median:,.0f} ({images / high:,.0f}-{images / low:,.0f}) | "
              f"{peak:,.0f}{f' ({worker:,.0f})' if worker else ''} | {size} |")
    print()
    print_ratio(rate, runs, "pet_images (this project)", "TFDS cats_vs_dogs 4.0.1", "pet_images / TFDS cats_vs_dogs")
    print_ratio(rate, runs, "pet_images/256px (stored at shorter side 256)", "TFDS cats_vs_dogs 4.0.1",
                "pet_images/256px / TFDS cats_vs_dogs")
    print_ratio(rate, runs, "pet_images without the duplicates report", "pet_images (this project)",
                "duplicates report cost (build time with / without)")
    print_ratio(rate, runs, "pet_images (this project)", "floor: read + full decode, all cores",
                "pet_images / full-decode floor", percent=True)
    if "pet_images on Beam, 2 workers" in runs:
        print_ratio(rate, runs, "pet_images on Beam, 2 workers", "pet_images on Beam, 1 worker", "Beam 2 workers / 1 worker")
        print_ratio(rate, runs, "pet_images on Beam, 2 workers", "pet_images (this project)", "Beam 2 workers / in-process")


def print_planted_found(zip_path: pathlib.Path, runs: dict[str, list[measure.Run]]) -> None:
    """What the report of the last build with it grouped, against the copies planted in the replica
    (`--distinct`): planted pairs found, by kind, and pairs of files that were not planted together."""
    listing = zip_path.parent / "planted.json"
    built = [r for r in runs.get("pet_images (this project)", []) if not r.error]
    if not listing.exists() or not built:
        return
    planted = [Planted(p["kind"], tuple(p["original"]), tuple(p["copy"])) for p in json.loads(listing.read_text())]
    truth = {frozenset((_member(p.original), _member(p.copy))): p.kind for p in planted}
    grouped = grouped_pairs({"groups": built[-1].result["duplicate_groups"]})
    kinds = list(truth.values())
    found = {kind: sum(k == kind and pair in grouped for pair, k in truth.items()) for kind in COPIES}
    print(f"duplicates report against the planted copies: "
          f"{', '.join(f'{kind} {n}/{kinds.count(kind)}' for kind, n in found.items())}; "
          f"pairs not planted: {len(grouped - set(truth))} ({len(built[-1].result['duplicate_groups'])} groups)")


def _member(key: tuple[str, int]) -> str:
    """A planted file's name in the archive, and its examples' `image/filename`."""
    return f"PetImages/{key[0]}/{key[1]}.jpg"


def print_ratio(rate: dict[str, float], runs: dict[str, list[measure.Run]], ours: str, theirs: str, label: str,
                percent: bool = False) -> None:
    """`label: 4.80x (per round: median 4.75x, 4.60x-4.90x)` (or 94 %), or why there is no ratio (none when
    either was not run). The first figure is the ratio of the median rates; the per-round median pairs each
    round's two runs, which share that moment's machine noise."""
    if ours not in runs or theirs not in runs:
        return
    missing = [name for name in (ours, theirs) if name not in rate]
    if missing:
        print(f"{label}: none, {' and '.join(missing)} failed on this archive")
        return
    shown = (lambda r: f"{r:.0%}") if percent else (lambda r: f"{r:.2f}x")
    per_round = sorted(t.seconds / o.seconds for o, t in zip(runs[ours], runs[theirs]))
    print(f"{label}: {shown(rate[ours] / rate[theirs])} (per round: median {shown(statistics.median(per_round))}, "
          f"{shown(per_round[0])}-{shown(per_round[-1])})")


if __name__ == "__main__":
    main()
