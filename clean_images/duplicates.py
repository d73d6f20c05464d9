"""Exact and near-duplicate images across all splits: the `duplicates` dataset pass.

Every kept image leaves two things in the sanitation workers: a digest of its bytes (exact
copies) and its 32 x 32 grey thumbnail (float32), area-averaged from the pixels validation has already
decoded (grey, at 1/8 scale). As generation goes, the main thread turns the thumbnails into
256-bit perceptual hashes a batch at a time, vectorized (`condense`; near copies:
re-encoded, downscaled, slightly cropped, brightened): two an image, each the DCT of the
thumbnail area-averaged to 16 x 16: as it is, and zoomed in by `ZOOM` a side, so that a crop
of a few percent meets its original zoomed in, whichever of the two comes first (zoomed at
32 x 32, not 16, so the zoomed hash stays close to a crop's own: see `_area_zoom`). After
generation, files with the same digest form an exact group; one file per distinct content
then joins, in key order, the near group of the first earlier file not itself grouped whose
plain hash is within `NEAR_DISTANCE` bits of its own, or where one file's zoomed hash is within
`ZOOMED_DISTANCE` of the other's plain one, and whose tone (the thumbnail's mean and contrast)
is close (`TONE_MEAN`, `TONE_CONTRAST`; groups form around their first file, so they never
chain). The search is faiss' exact binary index (brute force in C, both cores): one index of
plain hashes, searched with each file's plain hash as far as its zoomed one could reach
(`_reach`: the zoomed hash needs no comparison of its own where it lies near the plain one),
and one of zoomed hashes, searched with each file's plain hash: two comparisons a pair."""

from __future__ import annotations

import collections
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import xxhash

from clean_images.hooks import DatasetPass, Image, Observation

HASH_BITS = 256
# Chosen from a measured precision/recall curve (benchmarks/duplicates.py, 3,600 images, the
# zoomed hashes searched too, counted ZOOM_PENALTY bits farther): every re-encoded and brightened
# copy within 12 bits, resized within 52, crops of 2-4% off each side within 52, distinct images
# 80 or more apart (the real photos of scikit-image and scikit-learn: 102; a stereo pair: 82).
NEAR_DISTANCE = 64
# Crops move the plain hash far (4% off every side: 38-82 bits). The original zoomed in by 3% a side
# on the 32 x 32 thumbnail comes within 16-34 bits of a crop of 4% a side; over 300 generated photos,
# every crop of 2-5% a side (each side drawn on its own) within reach (benchmarks/RESULTS.md). Either
# file's zoomed hash is compared with the other's plain one, so the crop is found whichever comes
# first (a zoomed-out crop, the earlier way, met its original less often: crops of 6% a side 62%
# against 81%).
ZOOM = 0.03
# Each zoomed hash compared is one more chance for two distinct images to come within reach (an
# independent trial grouped two whose plain hashes were 66 bits apart, a zoomed one 62, when the
# zooms were taken at 16 x 16), so a zoomed hash must come this much closer.
ZOOM_PENALTY = 4
ZOOMED_DISTANCE = NEAR_DISTANCE - ZOOM_PENALTY  # how near a zoomed hash must come
# A near copy keeps its original's tone (brightness and contrast within the +-10 % the hash is made
# robust to): the planted copies' thumbnails differ by at most 14 grey levels in mean and 1.13x in
# standard deviation. The hash alone compares grey layouts, so two pictures of one composition in other
# tones (flat backgrounds with one centred shape, a dark and a bright gradient) can come within reach:
# an independent trial's 1,520 images held 2 and 12 such pairs in two seeds; with this veto, 1 and 2.
# Downscaling a fine texture lowers its thumbnail's contrast (stripes resized to 51 %: 1.385x over one
# grey level, found by a second trial), hence the wide ratio. Over three checks' seven archives every
# planted near copy is within 1.385x, their decoys (an original's layout in another tone) from 1.42x,
# and two distinct close-ups of one layout 1.46x: 1.5 grouped those and 4 decoys, 1.4 only 2 decoys
# (nearer in tone) and missed no more copies; 1.25 missed 2 more.
TONE_MEAN = 32  # grey levels (of 255) two near copies' thumbnails may differ in mean
TONE_CONTRAST = 1.4  # and by this ratio in standard deviation (plus one grey level, for flat images)
_BAND = 8  # reach rounded up to this many bits: a few faiss searches a batch (4: 1.4-2.4x the search's time)
_MAX_REACH = 108  # where photos' plain codes start to come near each other by chance (~1.5 % of pairs)
_QUERY_BATCH = 256  # bounds the results held at once, even when thousands of files are one photo
_SIDE = 16  # the image is area-averaged to _SIDE x _SIDE grey, whose 256 DCT coefficients make the hash
_THUMB = 32  # ... from a thumbnail this large, where the zooms are taken
_DIGEST_BYTES = 16
_TONE_BYTES = 4  # the thumbnail's mean and standard deviation, float16
_PROBES = 2  # hashes an image: as it is, zoomed in
_CONDENSED_BYTES = _DIGEST_BYTES + _PROBES * HASH_BITS // 8 + _TONE_BYTES  # what `condense` keeps of an observation
_DCT = np.cos(np.pi * (2 * np.arange(_SIDE) + 1) * np.arange(_SIDE)[:, None] / (2 * _SIDE))  # DCT-II rows


def _area_zoom(side: float) -> np.ndarray:
    """(16, 32) matrix that area-averages a 32-pixel row to 16, keeping its centre, `side` off each end
    (0 to 0.5): rows of `Z @ t @ Z.T` are the zoomed 16 x 16 image.

    Exact area weights over the 32 pixels, twice as fine as the result: zoomed at 16 x 16 (bilinear),
    crops of 3.3-4 % a side of 300-px-high photos stayed 64-68 bits from their original's zoomed hash;
    zoomed here, 24-30 (an independent check's misses, benchmarks/RESULTS.md)."""
    low, high = side * _THUMB, _THUMB - side * _THUMB  # the window, in thumbnail pixels
    edges = low + (high - low) * np.arange(_SIDE + 1) / _SIDE
    matrix = np.zeros((_SIDE, _THUMB))
    for row, (start, stop) in enumerate(zip(edges[:-1], edges[1:])):
        cells = np.arange(_THUMB)
        overlap = np.clip(np.minimum(stop, cells + 1) - np.maximum(start, cells), 0, None)
        matrix[row] = overlap / (stop - start)
    return matrix


# The DCT of the thumbnail as it is and zoomed in, each one matrix; float32: 3.5x
# faster than float64 on the main thread, and 2 of 3.1 million bits differed.
_PROBE_DCT = [(_DCT @ _area_zoom(side)).astype(np.float32) for side in (0.0, ZOOM)]


def thumbnail(image: Image) -> np.ndarray:
    """The image area-averaged to 32 x 32 grey (luma), float32, from the pixels validation decoded
    (else a 1/8 decode). Not rounded to whole grey levels: in a dark or low-contrast image that
    rounding was most of what told two files apart (an independent trial's 80 planted near copies:
    78 found, 74 with rounded thumbnails)."""
    import cv2  # pylint: disable=g-import-not-at-top
    import simplejpeg  # pylint: disable=g-import-not-at-top

    pixels = image.pixels
    if pixels is None:
        pixels = simplejpeg.decode_jpeg(image.jpeg, colorspace="GRAY", min_height=1, min_width=1)
    if pixels.ndim == 3 and pixels.shape[2] == 3:  # RGB, decoded larger for a transform (the 256px configs)
        block = round(8 * pixels.shape[1] / image.width)
        if block > 1:  # back to libjpeg's 1/8 grid first
            pixels = _block_means(pixels, block)
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)  # libjpeg's luma weights
    grey = np.asarray(pixels, np.float32)  # already float after `_block_means`: no second copy
    return cv2.resize(grey, (_THUMB, _THUMB), interpolation=cv2.INTER_AREA)


def _block_means(pixels: np.ndarray, block: int) -> np.ndarray:
    """Means of `block` x `block` tiles (edges replicated), as libjpeg's 1/8 scaling keeps each 8x8 block's mean:
    so a config that validates at a larger scale hashes nearly the same thumbnail."""
    import cv2  # pylint: disable=g-import-not-at-top

    height, width = pixels.shape[:2]
    pixels = pixels.astype(np.float32)  # libjpeg keeps each block's mean unrounded until its output
    padded = cv2.copyMakeBorder(pixels, 0, -height % block, 0, -width % block, cv2.BORDER_REPLICATE)
    size = (padded.shape[1] // block, padded.shape[0] // block)
    return cv2.resize(padded, size, interpolation=cv2.INTER_AREA)  # an integer factor: exact tile means


def perceptual_hashes(thumbnails: np.ndarray) -> np.ndarray:
    """DCT hashes (pHash) of (n, 32, 32) grey thumbnails, (n, 2, 32) packed bits: which of the 256
    DCT coefficients of each, area-averaged to 16 x 16, exceed their median, for the thumbnail as
    it is and zoomed in (`ZOOM`).

    Computed for many images at once: one image at a time, NumPy's per-call overhead held
    the GIL ~90 us an image in the sanitation threads, which made the whole build 15 % slower.
    """
    pixels = np.asarray(thumbnails, np.float32)  # no copy of float32 thumbnails
    coefficients = np.empty((len(thumbnails), _PROBES, _SIDE, _SIDE), np.float32)
    for probe, matrix in enumerate(_PROBE_DCT):
        np.matmul(matrix @ pixels, matrix.T, out=coefficients[:, probe])
    values = coefficients.reshape(len(thumbnails), _PROBES, HASH_BITS)
    ordered = np.sort(values, axis=2)
    median = (ordered[..., HASH_BITS // 2 - 1] + ordered[..., HASH_BITS // 2]) / 2
    return np.packbits(values > median[..., None], axis=2)


def digests_and_hashes(values: Sequence[bytes]) -> tuple[list[bytes], np.ndarray, np.ndarray]:
    """Splits what `Duplicates.observe` returned into byte digests, (n, 2, 32) perceptual hashes
    and (n, 2) tones (each thumbnail's mean and standard deviation).

    All at once: a build hands them over in `ObservationLog`'s batches, which bound the memory.
    """
    joined = b"".join(memoryview(v)[_DIGEST_BYTES:] for v in values)  # one copy, not two
    pixels = np.frombuffer(joined, np.float32).reshape(-1, _THUMB, _THUMB)
    flat = pixels.reshape(len(pixels), -1)
    mean = flat.mean(axis=1)
    spread = np.sqrt(np.maximum(np.einsum("ij,ij->i", flat, flat) / flat.shape[1] - mean * mean, 0.0))  # std, one pass
    return [v[:_DIGEST_BYTES] for v in values], perceptual_hashes(pixels), np.stack([mean, spread], axis=1)


def _unpacked(condensed: Sequence[bytes]) -> tuple[list[bytes], np.ndarray, np.ndarray]:
    """Condensed observations (digest, packed hashes, tone) to digests, an (n, 2, 32) hash array and (n, 2) tones."""
    hashes = b"".join(v[_DIGEST_BYTES:-_TONE_BYTES] for v in condensed)
    tones = b"".join(v[-_TONE_BYTES:] for v in condensed)
    return ([v[:_DIGEST_BYTES] for v in condensed],
            np.frombuffer(hashes, np.uint8).reshape(-1, _PROBES, HASH_BITS // 8),
            np.frombuffer(tones, np.float16).reshape(-1, 2).astype(np.float32))


class Duplicates(DatasetPass):
    """`info.metadata["duplicates"]`: exact and near-duplicate groups over all splits, and their counts."""

    metadata_key = "duplicates"

    def observe(self, image: Image) -> bytes:
        """A 16-byte digest of its bytes, then its 32 x 32 grey thumbnail in float32 (4,112 bytes in all).

        Only what must see the pixels runs here, in the sanitation threads: a few C calls. The
        hashes are computed on the main thread, 2,048 at a time (`condense`).
        """
        return xxhash.xxh3_128_digest(image.jpeg) + thumbnail(image).tobytes()

    def condense(self, values: list[bytes]) -> list[bytes]:
        """Digest and thumbnail (4,112 bytes) to digest, perceptual hashes and tone (84), a batch at a time."""
        raw = [i for i, v in enumerate(values) if len(v) != _CONDENSED_BYTES]
        if not raw:
            return values
        digests, hashes, tones = digests_and_hashes([values[i] for i in raw])
        condensed = list(values)
        for i, digest, code, tone in zip(raw, digests, hashes, tones.astype(np.float16)):
            condensed[i] = digest + code.tobytes() + tone.tobytes()
        return condensed

    def summarize(self, observations: list[Observation]) -> dict[str, Any]:
        groups = find_groups(*_unpacked(self.condense([o.value for o in observations])))
        crossing = {
            "label": [n for n, (_, members) in enumerate(groups) if _crosses_labels(members, observations)],
            "split": [n for n, (_, members) in enumerate(groups) if _crosses_splits(members, observations)],
        }
        return {
            "groups": [
                {"kind": kind, "files": [{"split": observations[i].split, "filename": observations[i].filename} for i in members]}
                for kind, members in groups
            ],
            "counts": {
                "groups": len(groups),
                "files": len({i for _, members in groups for i in members}),
                "cross_label": len(crossing["label"]),
                "cross_split": len(crossing["split"]),
            },
            "crossing": crossing,  # indices into "groups", for inspection
            "method": {
                "hash": f"{HASH_BITS}-bit DCT hash of the image area-averaged to 16x16 grey (zoomed from 32x32)",
                "zoom": ZOOM,  # a side: each image is also hashed zoomed in by this much, against the other's plain hash
                "zoom_distance": ZOOMED_DISTANCE,
                "near_distance": NEAR_DISTANCE,
                "tone": {"mean": TONE_MEAN, "contrast": TONE_CONTRAST},  # how far near copies' tones may differ
                "search": "exact",
            },
        }

    def summary_line(self, summary: dict[str, Any]) -> str:
        kinds = collections.Counter(g["kind"] for g in summary["groups"])
        counts = summary["counts"]
        return (
            f"duplicates: {kinds['exact']:,} exact and {kinds['near']:,} near groups ({counts['files']:,} files); "
            f"{counts['cross_label']:,} groups cross labels, {counts['cross_split']:,} cross splits"
        )


def find_groups(
    digests: Sequence[bytes | str], hashes: np.ndarray, tones: np.ndarray | None = None
) -> list[tuple[str, list[int]]]:
    """(kind, member indices) of every group of two files or more, ordered by first member.

    `hashes`: (n, 1 or 2, 32) packed perceptual hashes, row i of file i: its hash as it is
    first, then (if any) its zoomed one, which the plain hash of a crop of it matches, whichever
    of the two comes first. `tones`: (n, 2) each file's thumbnail mean and standard deviation; near
    files must also match in tone (`TONE_MEAN`, `TONE_CONTRAST`).

    Indices are positions in the inputs, which are in key order: members come out in that
    order too, so the first member of a group is the file to keep.
    """
    if hashes.ndim != 3 or hashes.shape[1] not in (1, 2):
        raise ValueError(f"hashes must be (files, 1 or 2, bytes): a plain hash and at most one zoomed one, not {hashes.shape}")
    first_with: dict[bytes | str, int] = {}
    copies: dict[int, list[int]] = collections.defaultdict(list)  # a list only where there are copies (memory)
    for i, digest in enumerate(digests):
        first = first_with.setdefault(digest, i)
        if first != i:
            copies[first].append(i)
    groups = [("exact", [first, *later]) for first, later in copies.items()]
    firsts = list(first_with.values())  # already in key order
    del first_with
    if firsts:
        codes = hashes if len(firsts) == len(hashes) else hashes[firsts]  # distinct files: no copy (memory)
        codes = np.ascontiguousarray(codes)
        tone = None if tones is None else (tones if len(firsts) == len(tones) else tones[firsts])
        groups += [("near", [firsts[j] for j in near]) for near in _near_groups(codes, tone)]
    return sorted(groups, key=lambda g: g[1][0])


def _near_groups(codes: np.ndarray, tones: np.ndarray | None = None) -> list[list[int]]:
    """Rows within NEAR_DISTANCE bits of an earlier row that heads a group, grouped under it.

    `codes`: (n, probes, bytes): each row's plain code, then its zoomed one. Two indexes hold
    the rows' plain and zoomed codes; a query finds the rows whose plain code its plain code
    comes near, or its zoomed code within `ZOOM_PENALTY` bits less, and the rows whose zoomed
    code its plain code comes that near (`_search`).

    A row is only ever found by a query before it, and not once grouped: the indexes drop
    both kinds as they go (rebuilt when a fifth of them is dead), which halves the work on
    distinct photos and saves most of it where thousands of files are one photo.
    """
    grouped = np.zeros(len(codes), bool)
    groups = []
    held = np.arange(len(codes))  # the rows the indexes hold, by index label
    reach = _reach(codes)
    indexes = _indexes(codes, held)
    for start in range(0, len(codes), _QUERY_BATCH):
        queries = np.arange(start, min(start + _QUERY_BATCH, len(codes)))
        queries = queries[~grouped[queries]]
        if not len(queries):
            continue
        alive = len(codes) - start - int(np.count_nonzero(grouped[start:]))
        if alive < 0.8 * len(held):
            held = start + np.flatnonzero(~grouped[start:])
            indexes = _indexes(codes, held)
        limits, found = _search(indexes, held, codes, queries, reach, tones)
        for q in _with_later_rows(queries, limits, found):  # the others can head no group
            first = queries[q]
            if grouped[first]:  # joined an earlier group of this batch
                continue
            near = found[limits[q] : limits[q + 1]]
            near = np.unique(near[(near > first) & ~grouped[near]])
            if len(near):
                grouped[near] = True
                groups.append([int(first), *map(int, near)])
        grouped[queries] = True  # each headed its group, was claimed, or has nothing to claim
    return groups


def _same_tone(mine: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Which pairs of (mean, standard deviation) rows are close enough in tone (`TONE_MEAN`, `TONE_CONTRAST`)."""
    low, high = np.minimum(mine[:, 1], theirs[:, 1]), np.maximum(mine[:, 1], theirs[:, 1])
    return (np.abs(mine[:, 0] - theirs[:, 0]) <= TONE_MEAN) & (high <= TONE_CONTRAST * low + 1.0)


def _reach(codes: np.ndarray) -> np.ndarray:
    """How far each row's plain code must be searched to find every row its zoomed code reaches.

    A zoomed code within ZOOMED_DISTANCE of a row's plain code puts the plain codes within
    ZOOMED_DISTANCE plus the zoomed code's own distance from its plain one (the triangle
    inequality). So one search of the plain code finds them all (one comparison a row instead
    of two), and only the few rows it finds beyond NEAR_DISTANCE need their zoomed distances.
    Rounded up to `_BAND` bits: one search a band.
    """
    drift = _bits_apart(codes[:, 1:], codes[:, :1]).max(axis=1, initial=0)
    reach = np.maximum(NEAR_DISTANCE, ZOOMED_DISTANCE + drift)
    return -(-reach // _BAND) * _BAND


def _search(
    indexes: tuple[Any, Any],
    held: np.ndarray,
    codes: np.ndarray,
    queries: np.ndarray,
    reach: np.ndarray,
    tones: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each query's rows within reach (and of its tone, given `tones`), as (limits, rows) in query order:
    one faiss search of the plain index a band of reach, and one of the zoomed index (a row may come twice)."""
    plain_index, zoomed_index = indexes
    owners, rows = [], []
    for radius in np.unique(reach[queries]):
        at = np.flatnonzero(reach[queries] == radius)
        if radius <= _MAX_REACH:
            owner, found = _plain_code_search(plain_index, held, codes[queries[at]], codes, int(radius))
        else:
            owner, found = _each_code_search(plain_index, held, codes[queries[at]])
        owners.append(at[owner])
        rows.append(found)
    if zoomed_index is not None:  # their zoomed codes near my plain one: I am the crop, they the original
        limits, _, found = zoomed_index.range_search(np.ascontiguousarray(codes[queries, 0]), ZOOMED_DISTANCE + 1)
        owners.append(np.repeat(np.arange(len(queries)), np.diff(limits).astype(np.int64)))
        rows.append(held[found])
    owner, found = np.concatenate(owners), np.concatenate(rows)
    if tones is not None:
        keep = _same_tone(tones[queries[owner]], tones[found])
        owner, found = owner[keep], found[keep]
    limits = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=len(queries)))])
    return limits, found[np.argsort(owner, kind="stable")]


def _plain_code_search(
    index, held: np.ndarray, mine: np.ndarray, codes: np.ndarray, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """(query position, row) of the rows within reach of `mine` (queries' codes): their plain codes
    searched to `radius`, the zoomed code compared only with the rows found beyond NEAR_DISTANCE."""
    limits, distances, found = index.range_search(np.ascontiguousarray(mine[:, 0]), radius + 1)
    owner = np.repeat(np.arange(len(mine)), np.diff(limits).astype(np.int64))  # faiss gives size_t limits
    found = held[found]
    keep = distances <= NEAR_DISTANCE
    far = np.flatnonzero(~keep)
    keep[far] = _zoomed_distance(mine[owner[far]], codes[found[far], 0]) <= ZOOMED_DISTANCE
    return owner[keep], found[keep]


def _each_code_search(index, held: np.ndarray, mine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same for queries whose reach would find a few % of all rows: both their codes
    searched to NEAR_DISTANCE, the zoomed code's rows kept if within ZOOMED_DISTANCE."""
    probes = mine.shape[1]
    limits, distances, found = index.range_search(mine.reshape(len(mine) * probes, -1), NEAR_DISTANCE + 1)
    code = np.repeat(np.arange(len(mine) * probes), np.diff(limits).astype(np.int64))
    keep = (code % probes == 0) | (distances <= ZOOMED_DISTANCE)
    return code[keep] // probes, held[found[keep]]


def _zoomed_distance(mine: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Bits from each row's zoomed code (`mine`: n, probes, bytes; none: HASH_BITS) to its row of `theirs` (n, bytes)."""
    return _bits_apart(mine[:, 1:], theirs[:, None]).min(axis=1, initial=HASH_BITS)


def _bits_apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances of packed codes (last axis: bytes, contiguous), broadcast: 64 bits at a time."""
    return np.bitwise_count(a.view(np.uint64) ^ b.view(np.uint64)).sum(axis=-1, dtype=np.int64)


def _with_later_rows(queries: np.ndarray, limits: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Positions in `queries` of those whose results include a later row: the only ones that can
    head a group. Found in one NumPy pass, so the Python loop runs over a few rows, not all
    (on distinct photos, nearly none)."""
    counts = np.diff(limits).astype(np.int64)  # faiss gives size_t limits
    later = found > np.repeat(queries, counts)
    cumulative = np.concatenate([[0], np.cumsum(later)])
    return np.flatnonzero(cumulative[limits[1:]] > cumulative[limits[:-1]])


def _indexes(codes: np.ndarray, held: np.ndarray) -> tuple[Any, Any]:
    """faiss indexes of the held rows' plain codes and of their zoomed ones (None without zoomed codes)."""
    plain = _index(np.ascontiguousarray(codes[held, 0]))
    return plain, (_index(np.ascontiguousarray(codes[held, 1])) if codes.shape[1] > 1 else None)


def _index(codes: np.ndarray):
    """An exact faiss binary index holding `codes`.

    Brute force, but in C on both cores (and only over rows still findable: see `_near_groups`):
    ~21 s for 126k distinct generated images, Dacon's size (15-28 s on other days, with three
    hashes). The sub-quadratic indexes measured worse: faiss' inverted file 5.6 s, but ~800 MiB
    more and 92.5% of the planted near copies; its multi-index hashing slower than this or
    missing pairs, at every setting tried (benchmarks/RESULTS.md).
    """
    import logging  # pylint: disable=g-import-not-at-top

    # Read once, when faiss loads its OpenMP runtime. Its threads otherwise spin between the
    # search's batches on the cores the last shards' writing needs: 0.6 CPU-s of a 25k build
    # (perf). A user's own setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # faiss' loader logs at INFO which CPU build it loads, and a ModuleNotFoundError for the
    # one it tried first: noise in every build's output (tfds' CLI shows INFO).
    loader = logging.getLogger("faiss.loader")
    if loader.level == logging.NOTSET:
        loader.setLevel(logging.WARNING)
    import faiss  # pylint: disable=g-import-not-at-top

    index = faiss.IndexBinaryFlat(codes.shape[1] * 8)
    index.add(codes)
    return index


def later_copies(summary: dict[str, Any]) -> set[str]:
    """The filenames of every file but the first of its group: what to leave out to keep one of each."""
    return {f["filename"] for group in summary["groups"] for f in group["files"][1:]}


def _crosses_labels(members: list[int], observations: list[Observation]) -> bool:
    """Its labelled files (not test images: label None, -1 or "") carry two labels or more."""
    return len({observations[i].label for i in members if observations[i].label not in (None, -1, "")}) > 1


def _crosses_splits(members: list[int], observations: list[Observation]) -> bool:
    return len({observations[i].split for i in members}) > 1
