"""Verdicts on damaged scans: random one-byte changes inside the scan data of complete JPEGs,
and junk inserted before the end marker. Shows that no complete file is called truncated and
that no reason claiming untouched pixels is given to a damaged scan.

    python -m benchmarks.damaged_scans --files 1200 --junk 200 --seed 0
"""

from __future__ import annotations

import argparse
import collections

import numpy as np
import simplejpeg

from clean_images import sanitize
from clean_images.testing.faults import jpeg_bytes
from clean_images.testing.replica import photos

# Reasons that say the stored pixels are exactly the source's undamaged ones.
CLAIMS_INTACT_PIXELS = ("missing end-of-image marker added", "JFIF version fixed")


def corrupt_scan_byte(data: bytes, rng: np.random.Generator) -> bytes:
    """One byte of the entropy-coded data (after the first SOS header, before the end marker) changed."""
    sos = data.find(b"\xff\xda")
    start = sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")
    position = int(rng.integers(start, len(data) - 2))
    value = (data[position] + int(rng.integers(1, 256))) % 256
    return data[:position] + bytes([value]) + data[position + 1 :]


def junk_before_end_marker(data: bytes, rng: np.random.Generator, kind: int) -> bytes:
    n = int(rng.integers(1, 2000))
    junk = [bytes(rng.integers(0, 255, n, dtype=np.uint8)).replace(b"\xff", b"\xfe"), bytes(n), (b"junk" * n)[:n]][kind % 3]
    return data[:-2] + junk + data[-2:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1200)
    parser.add_argument("--junk", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    stream = photos("dog", seed=args.seed + 11)

    damaged: collections.Counter = collections.Counter()
    for _ in range(args.files):
        clean = jpeg_bytes(next(stream), quality=int(rng.integers(70, 96)), progressive=bool(rng.random() < 0.2))
        verdict = sanitize.sanitize(corrupt_scan_byte(clean, rng))
        damaged[(verdict.outcome, verdict.reason)] += 1
    print(f"{args.files} complete JPEGs with one byte changed inside the scan:")
    for (outcome, reason), count in damaged.most_common():
        print(f"  {count:6d}  {outcome:<9} {reason or '(libjpeg sees nothing: stored as is)'}")
    truncated = sum(n for (_, reason), n in damaged.items() if reason.startswith("truncated"))
    claims = sum(n for (_, reason), n in damaged.items() if reason in CLAIMS_INTACT_PIXELS)
    print(f"  called truncated: {truncated}; given a reason that claims intact pixels: {claims}")

    junk: collections.Counter = collections.Counter()
    for i in range(args.junk):
        clean = jpeg_bytes(next(stream), quality=int(rng.integers(70, 96)))
        verdict = sanitize.sanitize(junk_before_end_marker(clean, rng, i))
        same = verdict.jpeg is not None and np.array_equal(simplejpeg.decode_jpeg(verdict.jpeg), simplejpeg.decode_jpeg(clean))
        junk[(verdict.outcome, verdict.reason, "pixels of the clean file" if same else "pixels differ")] += 1
    print(f"{args.junk} clean JPEGs with 1-2000 junk bytes before the end marker:")
    for key, count in junk.most_common():
        print(f"  {count:6d}  {' / '.join(key)}")


if __name__ == "__main__":
    main()
