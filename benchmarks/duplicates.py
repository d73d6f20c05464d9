"""The duplicates report measured: precision/recall by threshold, and its cost at Dacon's scale.

    python -m benchmarks.duplicates --distinct 3000 --copies 100 --scale 126000

1. Distinct procedural photos (`clean_images.testing.planted`) with planted copies of each
   kind go through validation and the pass's `observe`, exactly as in a build. For each
   threshold: the share of planted pairs within it, per kind, and the pairs of distinct
   images within it (false pairs). Then `summarize` itself: planted pairs grouped together,
   false pairs in its groups.
2. Scale: `--scale` observations (hashes of distinct 1/8-scale thumbnails, plus the planted
   set's), summarized as a build would: seconds, peak RSS added (observations included),
   which search ran, and the planted pairs it still groups.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import time

import numpy as np

from clean_images import duplicates
from clean_images.hooks import Image, Observation, ObservationLog
from clean_images.sanitize import sanitize
from clean_images.testing.planted import COPIES, Planted, distinct_photo, planted_set

THRESHOLDS = (40, 48, 56, 60, 64, 68, 72, 76, 80)


def observed(images: dict[tuple[str, int], bytes]) -> list[Observation]:
    """What a build observes of each image, in key order (split "train", filename "class/index")."""
    result = []
    for (name, i), data in sorted(images.items(), key=lambda kv: f"{kv[0][0]}/{kv[0][1]:06d}"):
        verdict = sanitize(data)
        assert verdict.jpeg is not None, f"{name}/{i}: {verdict.reason}"
        image = Image(verdict.jpeg, verdict.height, verdict.width, verdict.pixels)
        result.append(Observation("train", f"{name}/{i:06d}", name, duplicates.Duplicates().observe(image)))
    return result


def distances(codes: np.ndarray) -> np.ndarray:
    """All pairwise distances (n x n) of (n, probes, bytes) packed codes as the search sees them:
    the plain codes' distance, or either file's zoomed code's to the other's plain code plus the
    penalty, whichever is nearer."""
    signs = np.unpackbits(codes, axis=2).astype(np.float32) * 2 - 1
    bits = signs.shape[2]
    by_probe = [np.rint((bits - signs[:, p] @ signs[:, 0].T) / 2) for p in range(signs.shape[1])]
    nearest = np.min([by_probe[0], *(d + duplicates.ZOOM_PENALTY for d in by_probe[1:])], axis=0)
    return np.minimum(nearest, nearest.T).astype(np.int32)


def grouped_pairs(summary: dict) -> set[frozenset[str]]:
    return {frozenset(pair) for g in summary["groups"] for pair in itertools.combinations([f["filename"] for f in g["files"]], 2)}


def planted_pairs(planted: list[Planted]) -> dict[frozenset[str], str]:
    return {frozenset((f"{p.original[0]}/{p.original[1]:06d}", f"{p.copy[0]}/{p.copy[1]:06d}")): p.kind for p in planted}


def precision_recall(observations: list[Observation], planted: list[Planted]) -> None:
    names = [o.filename for o in observations]
    codes = duplicates.digests_and_hashes([o.value for o in observations])[1]
    d = distances(codes)
    position = {n: i for i, n in enumerate(names)}
    truth = planted_pairs(planted)
    kind_distances: dict[str, list[int]] = {kind: [] for kind in COPIES}
    for pair, kind in truth.items():
        a, b = (position[n] for n in pair)
        kind_distances[kind].append(int(d[a, b]))
    upper = np.triu(np.ones_like(d, bool), 1)
    for pair in truth:
        a, b = sorted(position[n] for n in pair)
        upper[a, b] = False
    distinct = d[upper]
    print(f"{len(observations):,} images, {len(truth)} planted pairs, {distinct.size:,} distinct pairs; "
          f"distinct pairs: min {distinct.min()} bits, 0.01st percentile {np.percentile(distinct, 0.01):.0f}")
    print("\n| within bits | " + " | ".join(COPIES) + " | all near kinds | false pairs |")
    print("| --- |" + " --- |" * (len(COPIES) + 2))
    for t in THRESHOLDS:
        recall = [np.mean(np.array(v) <= t) for v in kind_distances.values()]
        near = np.concatenate([v for k, v in kind_distances.items() if not k.startswith("exact")])
        chosen = " (chosen)" if t == duplicates.NEAR_DISTANCE else ""
        cells = [f"{r:.1%}" for r in recall] + [f"{np.mean(near <= t):.1%}", str(int((distinct <= t).sum()))]
        print(f"| {t}{chosen} | " + " | ".join(cells) + " |")
    print("\nPlanted distances per kind (max): " + ", ".join(f"{k} {max(v)}" for k, v in kind_distances.items()))


def end_to_end(observations: list[Observation], planted: list[Planted]) -> None:
    summary = duplicates.Duplicates().summarize(observations)
    found, truth = grouped_pairs(summary), planted_pairs(planted)
    per_kind = {kind: np.mean([pair in found for pair, k in truth.items() if k == kind]) for kind in COPIES}
    print(f"\nsummarize(): {summary['counts']}; planted pairs grouped: "
          + ", ".join(f"{k} {v:.1%}" for k, v in per_kind.items())
          + f"; grouped pairs not planted: {len(found - set(truth))}; "
          f"metadata {len(json.dumps(summary)):,} bytes")


def scale(n: int, observations: list[Observation], planted: list[Planted]) -> None:
    """`n` thumbnails' observations plus the planted set's, summarized: time, RSS added, planted recall."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # observations included: made one by one below
    # Generated 64 x 48 pixels stand for a 512 x 384 photo's 1/8-scale decode (RGB: converted to grey)
    thumbnails = (Image(b"", 384, 512, np.asarray(distinct_photo(10_000_000 + i, 64, 48))) for i in range(n))
    log = ObservationLog(duplicates.Duplicates())  # condensed as they arrive, as in a build
    for i, image in enumerate(thumbnails):
        log.append(Observation("train", f"zz/{i:07d}", -1, i.to_bytes(16, "big") + duplicates.thumbnail(image).tobytes()))
    print(f"\n{n:,} distinct thumbnails observed in {time.perf_counter() - started:.0f} s")
    everything = sorted(observations + log.all(), key=lambda o: o.filename)
    truth = planted_pairs(planted)
    started = time.perf_counter()
    summary = duplicates.Duplicates().summarize(everything)
    seconds = time.perf_counter() - started
    added = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    found = grouped_pairs(summary)
    near = [pair in found for pair, kind in truth.items() if not kind.startswith("exact")]
    print(f"{len(everything):,} observations summarized in {seconds:.1f} s; peak RSS added {added:.0f} MiB "
          f"(observations included); planted near pairs grouped {np.mean(near):.1%}; "
          f"{summary['counts']['groups']:,} groups")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--distinct", type=int, default=3000)
    parser.add_argument("--copies", type=int, default=100, help="planted copies per kind")
    parser.add_argument("--scale", type=int, default=0, help="also summarize this many observations")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    images, planted = planted_set(("cat", "dog"), args.distinct // 2, args.copies, seed=args.seed)
    observations = observed(images)
    print(f"made and observed in {time.perf_counter() - started:.0f} s")
    precision_recall(observations, planted)
    end_to_end(observations, planted)
    if args.scale:
        scale(args.scale, observations, planted)


if __name__ == "__main__":
    main()
