"""Exact and near-duplicate images across all splits: the `duplicates` dataset pass.

Every kept image gets two fingerprints in the sanitation workers: a digest of its bytes
(exact copies) and a 256-bit perceptual hash of the 1/8-scale thumbnail validation has
already decoded (near copies: re-encoded, downscaled, slightly cropped, brightened). After
generation, files with the same digest form an exact group; one file per distinct content
then joins, in key order, the near group of the first file within `NEAR_DISTANCE` bits
of it (groups form around their first file, so they never chain). The search is a
faiss binary index: exact (brute force) up to `EXACT_SEARCH_LIMIT` hashes, an inverted file above.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from clean_images.hooks import DatasetPass, Image, Observation

HASH_BITS = 256
# Chosen from a measured precision/recall curve (benchmarks/duplicates.py): planted copies
# of distinct images lie within 70 bits, distinct images 80 or more apart.
NEAR_DISTANCE = 64
# Brute force is exact and cheap here (8.4 s for 130k hashes on 2 cores, 4 MB); past this, its
# quadratic cost grows into minutes and an inverted file (O(n^1.5)) takes over: at 130k it was
# 1.5x faster but grouped 97% of the planted near copies (benchmarks/duplicates.py).
EXACT_SEARCH_LIMIT = 250_000
_PROBED_LISTS = 32  # of the inverted file: measured recall in benchmarks/duplicates.py
_QUERY_BATCH = 256  # bounds the results held at once, even when thousands of files are one photo
_SIDE = 64  # the thumbnail is resized to _SIDE x _SIDE grey, then its lowest 16 x 16 DCT frequencies kept


def _dct_rows(n: int, k: int) -> np.ndarray:
    x = np.arange(n)
    return np.cos(np.pi * (2 * x + 1) * np.arange(k)[:, None] / (2 * n)).astype(np.float32)


_DCT = _dct_rows(_SIDE, 16)


def thumbnail(image: Image) -> np.ndarray:
    """The image at 1/8 scale: validation's own decode when it has one, else libjpeg's 1/8 DCT scaling."""
    import simplejpeg  # pylint: disable=g-import-not-at-top

    pixels = image.pixels
    if pixels is None:
        pixels = simplejpeg.decode_jpeg(image.jpeg, colorspace="RGB", min_height=1, min_width=1)
    block = round(8 * pixels.shape[1] / image.width)
    return _block_means(pixels, block) if block > 1 else pixels


def _block_means(pixels: np.ndarray, block: int) -> np.ndarray:
    """Means of `block` x `block` tiles (edges replicated), as libjpeg's 1/8 scaling keeps each 8x8 block's mean:
    a larger decode (the 256px configs validate at 1/2 or full scale) gives nearly the same thumbnail."""
    import cv2  # pylint: disable=g-import-not-at-top

    height, width = pixels.shape[:2]
    padded = cv2.copyMakeBorder(pixels, 0, -height % block, 0, -width % block, cv2.BORDER_REPLICATE)
    size = (padded.shape[1] // block, padded.shape[0] // block)
    return cv2.resize(padded, size, interpolation=cv2.INTER_AREA)  # an integer factor: exact tile means


def perceptual_hash(pixels: np.ndarray) -> bytes:
    """A DCT hash (pHash): which of the 256 lowest frequencies of the grey image exceed their median."""
    import cv2  # pylint: disable=g-import-not-at-top

    grey = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY)
    square = cv2.resize(grey, (_SIDE, _SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = _DCT @ square @ _DCT.T
    return np.packbits(low > np.median(low)).tobytes()


class Duplicates(DatasetPass):
    """`info.metadata["duplicates"]`: exact and near-duplicate groups over all splits, and their counts."""

    metadata_key = "duplicates"

    def observe(self, image: Image) -> list[str]:
        digest = hashlib.blake2b(image.jpeg, digest_size=16).hexdigest()
        return [digest, perceptual_hash(thumbnail(image)).hex()]

    def summarize(self, observations: list[Observation]) -> dict[str, Any]:
        groups = find_groups([o.value[0] for o in observations], [bytes.fromhex(o.value[1]) for o in observations])
        return {
            "groups": [
                {"kind": kind, "files": [{"split": observations[i].split, "filename": observations[i].filename} for i in members]}
                for kind, members in groups
            ],
            "counts": _counts(groups, observations),
            "crossing": {  # indices into "groups", for inspection
                "label": [n for n, (_, members) in enumerate(groups) if _crosses_labels(members, observations)],
                "split": [n for n, (_, members) in enumerate(groups) if _crosses_splits(members, observations)],
            },
            "method": {
                "hash": f"{HASH_BITS}-bit DCT hash of the 1/8-scale image",
                "near_distance": NEAR_DISTANCE,
                "search": "exact" if len({o.value[0] for o in observations}) <= EXACT_SEARCH_LIMIT else "inverted file",
            },
        }

    def summary_line(self, summary: dict[str, Any]) -> str:
        kinds = collections.Counter(g["kind"] for g in summary["groups"])
        counts = summary["counts"]
        return (
            f"duplicates: {kinds['exact']:,} exact and {kinds['near']:,} near groups ({counts['files']:,} files); "
            f"{counts['cross_label']:,} groups cross labels, {counts['cross_split']:,} cross splits"
        )


def find_groups(digests: Sequence[str], hashes: Sequence[bytes]) -> list[tuple[str, list[int]]]:
    """(kind, member indices) of every group of two files or more, ordered by first member.

    Indices are positions in the inputs, which are in key order: members come out in that
    order too, so the first member of a group is the file to keep.
    """
    by_content: dict[str, list[int]] = collections.defaultdict(list)
    for i, digest in enumerate(digests):
        by_content[digest].append(i)
    groups = [("exact", members) for members in by_content.values() if len(members) > 1]
    firsts = [members[0] for members in by_content.values()]  # already in key order
    if firsts:
        codes = np.frombuffer(b"".join(hashes[i] for i in firsts), np.uint8).reshape(len(firsts), -1)
        groups += [("near", [firsts[j] for j in near]) for near in _near_groups(codes)]
    return sorted(groups, key=lambda g: g[1][0])


def _near_groups(codes: np.ndarray) -> list[list[int]]:
    """Rows within NEAR_DISTANCE bits of an earlier row that heads a group, grouped under it."""
    index = _index(codes)
    grouped = np.zeros(len(codes), bool)
    groups = []
    for start in range(0, len(codes), _QUERY_BATCH):
        queries = np.arange(start, min(start + _QUERY_BATCH, len(codes)))
        queries = queries[~grouped[queries]]
        limits, _, found = index.range_search(codes[queries], NEAR_DISTANCE + 1)  # faiss: distance < radius
        for q, first in enumerate(queries):
            if grouped[first]:  # joined an earlier group of this batch
                continue
            grouped[first] = True
            near = found[limits[q] : limits[q + 1]]
            near = np.sort(near[(near > first) & ~grouped[near]])
            if len(near):
                grouped[near] = True
                groups.append([int(first), *map(int, near)])
    return groups


def _index(codes: np.ndarray):
    """A faiss binary index holding `codes`: brute force while that is cheap, an inverted file above."""
    import faiss  # pylint: disable=g-import-not-at-top

    bits = codes.shape[1] * 8
    index: Any
    if len(codes) <= EXACT_SEARCH_LIMIT:
        index = faiss.IndexBinaryFlat(bits)
    else:
        lists = int(2 * np.sqrt(len(codes)))  # each query scans nprobe lists of ~sqrt(n)/2 codes: O(n^1.5)
        index = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(bits), bits, lists)
        index.nprobe = _PROBED_LISTS
        index.train(codes)
    index.add(codes)
    return index


def later_copies(summary: dict[str, Any]) -> set[str]:
    """The filenames of every file but the first of its group: what to leave out to keep one of each."""
    return {f["filename"] for group in summary["groups"] for f in group["files"][1:]}


def _counts(groups: list[tuple[str, list[int]]], observations: list[Observation]) -> dict[str, int]:
    return {
        "groups": len(groups),
        "files": len({i for _, members in groups for i in members}),
        "cross_label": sum(_crosses_labels(members, observations) for _, members in groups),
        "cross_split": sum(_crosses_splits(members, observations) for _, members in groups),
    }


def _crosses_labels(members: list[int], observations: list[Observation]) -> bool:
    """Its labelled files (not test images: label None, -1 or "") carry two labels or more."""
    return len({observations[i].label for i in members if observations[i].label not in (None, -1, "")}) > 1


def _crosses_splits(members: list[int], observations: list[Observation]) -> bool:
    return len({observations[i].split for i in members}) > 1
