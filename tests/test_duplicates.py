"""The duplicates report: planted copies among distinct photos, found through real builds."""

from __future__ import annotations

import collections
import itertools
import json
import pathlib
import unicodedata

import numpy as np
import pytest
import simplejpeg
import tensorflow_datasets as tfds

from clean_images import duplicates
from clean_images.hooks import Image, Observation, ObservationLog
from clean_images.testing.planted import Planted, planted_set
from clean_images.testing.replica import DaconMetadata, write_dacon_replica
from landmark_images import landmark_images_dataset_builder as landmark
from pet_images import pet_images_dataset_builder as pets
from tests.helpers import build


def _filename(key: tuple[str, int]) -> str:
    return f"PetImages/{key[0]}/{key[1]}.jpg"


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[pathlib.Path, list[Planted]]:
    """An extracted PetImages folder: 2 x 50 distinct photos, 4 planted copies of each kind."""
    images, planted = planted_set(("Cat", "Dog"), 50, 4, seed=3)
    root = tmp_path_factory.mktemp("planted")
    for key, data in images.items():
        path = root / _filename(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root, planted


@pytest.fixture(scope="module")
def built(planted, tmp_path_factory):
    return build(pets.Builder, tmp_path_factory.mktemp("data"), planted[0])


def _pairs(summary: dict, kind: str | None = None) -> set[frozenset[str]]:
    return {
        frozenset(pair)
        for g in summary["groups"]
        if kind is None or g["kind"] == kind
        for pair in itertools.combinations([f["filename"] for f in g["files"]], 2)
    }


def test_every_planted_copy_is_grouped_and_no_distinct_photos_are(planted, built):
    summary = built.info.metadata["duplicates"]
    truth = {frozenset((_filename(p.original), _filename(p.copy))): p for p in planted[1]}
    exact = {pair for pair, p in truth.items() if p.exact}
    near = {pair for pair, p in truth.items() if not p.exact}
    assert exact <= _pairs(summary, "exact")
    assert len(near & _pairs(summary, "near")) >= 0.95 * len(near)
    assert _pairs(summary) <= set(truth), "a group holds distinct photos"
    assert summary["counts"] == {
        "groups": len(summary["groups"]),
        "files": len({f["filename"] for g in summary["groups"] for f in g["files"]}),
        "cross_label": sum(p.kind == "exact-other-class" for p in planted[1]),
        "cross_split": 0,
    }


def test_the_report_has_the_documented_shape_and_order(built):
    summary = built.info.metadata["duplicates"]
    for group in summary["groups"]:
        assert set(group) == {"kind", "files"} and group["kind"] in ("exact", "near")
        assert all(set(f) == {"split", "filename"} for f in group["files"])
        assert group["files"] == sorted(group["files"], key=lambda f: f["filename"])
    firsts = [g["files"][0]["filename"] for g in summary["groups"]]
    assert firsts == sorted(firsts)
    assert set(summary) == {"groups", "counts", "crossing", "method"}
    # Other keys hold no file list; the metadata round-trips through metadata.json.
    assert "filename" not in json.dumps({k: v for k, v in summary.items() if k != "groups"})
    assert tfds.builder_from_directory(built.data_dir).info.metadata["duplicates"] == summary


def test_leaving_out_later_copies_keeps_one_file_of_each_group(built):
    from clean_images import reading

    summary = built.info.metadata["duplicates"]
    dataset = built.as_dataset(split="train", decoders={"image": tfds.decode.SkipDecoding()})
    kept = [e["image/filename"].decode() for e in tfds.as_numpy(reading.without_duplicates(dataset, built.info))]
    assert len(kept) == built.info.splits["train"].num_examples - summary["counts"]["files"] + summary["counts"]["groups"]
    assert not set(kept) & duplicates.later_copies(summary)
    assert {g["files"][0]["filename"] for g in summary["groups"]} <= set(kept)
    crossing = [summary["groups"][i] for i in summary["crossing"]["label"]]
    assert len(crossing) == summary["counts"]["cross_label"] and all(g["kind"] == "exact" for g in crossing)


def test_leaving_out_copies_of_a_supervised_dataset_says_what_it_needs(built):
    from clean_images import reading

    with pytest.raises(TypeError, match="needs dict examples with image/filename: load without as_supervised=True"):
        reading.without_duplicates(built.as_dataset(split="train", as_supervised=True), built.info)


def test_a_rebuild_and_the_256px_config_report_the_same_groups(planted, built, tmp_path):
    again = build(pets.Builder, tmp_path / "again", planted[0])
    resized = build(pets.Builder, tmp_path / "resized", planted[0], config="256px")
    assert again.info.metadata["duplicates"] == built.info.metadata["duplicates"]
    assert resized.info.metadata["duplicates"]["groups"] == built.info.metadata["duplicates"]["groups"]


def test_the_summary_line_is_printed(planted, tmp_path, capsys):
    build(pets.Builder, tmp_path, planted[0])
    assert "duplicates: 8 exact and 16 near groups" in capsys.readouterr().out


def test_landmark_build_groups_copies_across_splits(tmp_path):
    metadata = DaconMetadata.synthetic(seed=7).subset(4, 30)
    write_dacon_replica(tmp_path / "manual", metadata, "extracted", seed=2)  # photos drawn from a small pool
    builder = build(landmark.Builder, tmp_path / "data", tmp_path / "manual")
    by_bytes = collections.defaultdict(set)
    for path in (tmp_path / "manual").rglob("*.JPG"):
        name = unicodedata.normalize("NFC", path.relative_to(tmp_path / "manual").as_posix())
        by_bytes[path.read_bytes()].add(name)
    same_bytes = {frozenset(names) for names in by_bytes.values() if len(names) > 1}
    summary = builder.info.metadata["duplicates"]
    exact = {frozenset(f["filename"] for f in g["files"]) for g in summary["groups"] if g["kind"] == "exact"}
    assert exact == same_bytes
    crossing = [g for g in summary["groups"] if len({f["split"] for f in g["files"]}) > 1]
    assert summary["counts"]["cross_split"] == len(crossing) > 0
    for group in crossing:  # train files first
        splits = [f["split"] for f in group["files"]]
        assert splits == sorted(splits, key=lambda s: s != "train")


def _observations(planted_images: dict) -> list[Observation]:
    out = []
    for key, data in sorted(planted_images.items(), key=lambda kv: _filename(kv[0])):
        h, w = simplejpeg.decode_jpeg_header(data)[:2]
        image = Image(data, h, w)
        out.append(Observation("train", _filename(key), key[0], duplicates.Duplicates().observe(image)))
    return out


def _grouped_by_the_rule(hashes: np.ndarray) -> list[list[int]]:
    """The documented rule, spelled out over all pairs: each row not yet grouped heads the rows
    after it whose plain code is within NEAR_DISTANCE of its own, or where either row's zoomed
    code is within ZOOMED_DISTANCE of the other's plain one."""
    bits = np.unpackbits(hashes, axis=2)  # (files, probes, 256)

    def apart(mine: int, theirs: int) -> np.ndarray:
        return (bits[:, None, mine] != bits[None, :, theirs]).sum(-1)

    distances = apart(0, 0)
    for zoomed in range(1, bits.shape[1]):
        distances = np.minimum(distances, np.minimum(apart(zoomed, 0), apart(0, zoomed)) + duplicates.ZOOM_PENALTY)
    grouped, groups = set(), []
    for a in range(len(hashes)):
        if a in grouped:
            continue
        members = [b for b in range(a + 1, len(hashes)) if b not in grouped and distances[a, b] <= duplicates.NEAR_DISTANCE]
        grouped.update([a, *members])
        if members:
            groups.append([a, *members])
    return groups


def test_the_index_search_groups_as_a_plain_pairwise_comparison_does():
    images, _ = planted_set(("Cat", "Dog"), 40, 3, seed=9)
    observations = _observations(images)
    digests, hashes, _ = duplicates.digests_and_hashes([o.value for o in observations])
    firsts = [i for i, d in enumerate(digests) if digests.index(d) == i]
    expected = [[firsts[i] for i in group] for group in _grouped_by_the_rule(hashes[firsts])]
    found = [members for kind, members in duplicates.find_groups(digests, hashes) if kind == "near"]
    assert found == expected and found


def test_both_searches_group_by_the_rule_whatever_a_zoomed_code_drifts():
    """Rows whose zoomed code lies near their plain one take one search of it in the plain index
    (the triangle inequality bounds what the zoomed code can reach); rows whose zoomed code
    drifts far take a search of each code; every row searches the zoomed index too. Planted:
    rows whose plain code is near an earlier row's plain or zoomed code, or whose zoomed code
    is near an earlier row's plain code."""
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, (400, 2, 256), dtype=np.uint8)
    for row in range(400):  # zoomed codes 0-120 bits from the plain one: both searches
        bits[row, 1] = bits[row, 0] ^ (rng.permutation(256) < rng.integers(0, 121))
    for row in rng.choice(np.arange(1, 400), 150, replace=False):
        earlier, mine, theirs = rng.integers(0, row), *[(0, 0), (0, 1), (1, 0)][rng.integers(0, 3)]
        bits[row, mine] = bits[earlier, theirs] ^ (rng.permutation(256) < rng.integers(40, 72))
    hashes = np.packbits(bits, axis=2)
    reach = duplicates._reach(hashes)
    assert (reach <= duplicates._MAX_REACH).any() and (reach > duplicates._MAX_REACH).any()
    expected = _grouped_by_the_rule(hashes)
    found = [members for kind, members in duplicates.find_groups([str(i) for i in range(400)], hashes) if kind == "near"]
    assert found == expected and len(found) > 20


def test_a_zoomed_match_at_the_edge_of_reach_is_found_and_one_bit_more_is_not():
    """The plain search reaches exactly ZOOMED_DISTANCE + drift bits (faiss keeps distances below
    its radius); a file whose zoomed hash equals its plain one searches NEAR_DISTANCE."""
    first = np.zeros(256, np.uint8)
    zoomed = first.copy()
    zoomed[:44] = 1  # drift 44, a multiple of the band: reach 60 + 44 = 104 exactly
    edge = zoomed.copy()
    edge[44 : 44 + duplicates.ZOOMED_DISTANCE] = 1  # 60 from the zoomed hash, 104 from the plain one
    beyond = edge.copy()
    beyond[200] = 1  # 61 and 105
    same = np.ones(256, np.uint8)  # drift 0: reach NEAR_DISTANCE
    near_same = same.copy()
    near_same[: duplicates.NEAR_DISTANCE] = 0

    def hashes(*rows: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        return np.packbits(np.array([[plain, zoom] for plain, zoom in rows]), axis=2)

    assert duplicates._reach(hashes((first, zoomed)))[0] == 104
    found = duplicates.find_groups(["a", "b"], hashes((first, zoomed), (edge, edge)))
    assert found == [("near", [0, 1])]
    assert duplicates.find_groups(["a", "b"], hashes((first, zoomed), (beyond, beyond))) == []
    assert duplicates.find_groups(["a", "b"], hashes((same, same), (near_same, near_same))) == [("near", [0, 1])]


def test_a_later_files_zoomed_hash_at_the_limit_is_found_and_one_bit_more_is_not():
    """The zoomed index: an earlier file (a crop) whose plain hash is ZOOMED_DISTANCE bits from a
    later file's zoomed hash (its original) groups with it; at one bit more it does not. The other
    comparisons are far: plain hashes 128 bits apart, the earlier file's zoomed hash too."""
    crop = np.zeros(256, np.uint8)
    crop_zoomed = np.zeros(256, np.uint8)
    crop_zoomed[128:] = 1
    original = np.zeros(256, np.uint8)
    original[:128] = 1  # 128 from the crop, 256 from its zoomed hash
    at_limit = np.zeros(256, np.uint8)
    at_limit[: duplicates.ZOOMED_DISTANCE] = 1  # the original zoomed in: 60 from the crop
    beyond = at_limit.copy()
    beyond[duplicates.ZOOMED_DISTANCE] = 1

    def hashes(zoomed_original: np.ndarray) -> np.ndarray:
        return np.packbits(np.array([[crop, crop_zoomed], [original, zoomed_original]]), axis=2)

    assert duplicates.find_groups(["crop", "original"], hashes(at_limit)) == [("near", [0, 1])]
    assert duplicates.find_groups(["crop", "original"], hashes(beyond)) == []
    with pytest.raises(ValueError, match="at most one zoomed"):
        duplicates.find_groups(["a"], np.zeros((1, 3, 32), np.uint8))


@pytest.mark.parametrize("seed", [2, 7])
def test_zoomed_hashes_find_a_crop_the_plain_hash_misses_in_either_order(seed):
    """4 % off every side of these generated photos moves the plain hash beyond the threshold;
    the original zoomed in finds the crop, whichever comes first, with a wide margin: zoomed at
    32 x 32, not 16 x 16 as before (50-56 bits then). (Rates over many crops:
    benchmarks/duplicates.py, README.)"""
    from clean_images.testing.faults import jpeg_bytes
    from clean_images.testing.planted import distinct_photo

    original = distinct_photo(seed, 500, 375)
    crop = original.crop((20, 15, 480, 360))  # 4 % a side
    values = []
    for image in (original, crop):
        data = jpeg_bytes(image, quality=90)
        values.append(duplicates.Duplicates().observe(Image(data, *simplejpeg.decode_jpeg_header(data)[:2])))
    digests, hashes, tones = duplicates.digests_and_hashes(values)
    plain = np.unpackbits(hashes[0, 0] ^ hashes[1, 0]).sum()
    assert plain > duplicates.NEAR_DISTANCE
    zoomed_in = np.unpackbits(hashes[0, 1] ^ hashes[1, 0]).sum()  # the original zoomed in, the crop as it is
    assert zoomed_in <= 40 < duplicates.ZOOMED_DISTANCE
    assert duplicates.find_groups(digests, hashes, tones) == [("near", [0, 1])]
    assert duplicates.find_groups(digests[::-1], hashes[::-1].copy(), tones[::-1].copy()) == [("near", [0, 1])]


def test_groups_form_around_their_first_file_and_never_chain():
    rng = np.random.default_rng(0)
    first = rng.integers(0, 256, 32, dtype=np.uint8)
    bits = np.unpackbits(first)

    def flipped(count: int, start: int) -> bytes:
        b = bits.copy()
        b[start : start + count] ^= 1
        return np.packbits(b).tobytes()

    # b is near a, c is near b but not a: c must not join a's group through b.
    rows = [first.tobytes(), flipped(40, 0), flipped(80, 0), rng.integers(0, 256, 32, dtype=np.uint8).tobytes()]
    hashes = np.frombuffer(b"".join(rows), np.uint8).reshape(4, 1, 32)  # one hash a file: no zoomed ones
    groups = duplicates.find_groups(["a", "b", "c", "d"], hashes)
    assert groups == [("near", [0, 1])]
    assert duplicates.find_groups(["x", "y", "x", "y"], hashes) == [("exact", [0, 2]), ("near", [0, 1]), ("exact", [1, 3])]


def _plain_hash(thumbnail: np.ndarray) -> bytes:
    """The hash of one thumbnail as it is (the first of `perceptual_hashes`' two)."""
    return duplicates.perceptual_hashes(thumbnail[None])[0, 0].tobytes()


def test_hash_of_a_larger_decode_stays_close_to_the_eighth_scale_one(some_photos):
    """The 256px configs validate at a larger DCT scale; area-averaging it down gives nearly the same hash."""
    from clean_images.testing.faults import jpeg_bytes

    distances = []
    for photo in some_photos:
        data = jpeg_bytes(photo, quality=90)
        h, w = simplejpeg.decode_jpeg_header(data)[:2]
        eighth = _plain_hash(duplicates.thumbnail(Image(data, h, w)))
        full = simplejpeg.decode_jpeg(data, colorspace="RGB")
        from_full = _plain_hash(duplicates.thumbnail(Image(data, h, w, full)))
        distances.append(int(np.unpackbits(np.frombuffer(eighth, np.uint8) ^ np.frombuffer(from_full, np.uint8)).sum()))
    assert np.median(distances) <= 8 and max(distances) <= duplicates.NEAR_DISTANCE // 2, distances


def test_observations_condensed_as_they_arrive_summarize_as_the_raw_ones(monkeypatch):
    """A build keeps 84 bytes an image (digest, two hashes, tone), condensed in batches, not the 4,112-byte grey thumbnails."""
    images, _ = planted_set(("Cat", "Dog"), 30, 2, seed=4)
    raw = _observations(images)
    monkeypatch.setattr(ObservationLog, "CONDENSE_EVERY", 7)  # several batches and a remainder
    log = ObservationLog(duplicates.Duplicates())
    for observation in raw:
        log.append(observation)
    condensed = log.all()
    assert [o.filename for o in condensed] == [o.filename for o in raw]
    assert {len(o.value) for o in raw} == {4112} and {len(o.value) for o in condensed} == {84}
    assert duplicates.Duplicates().condense([o.value for o in condensed]) == [o.value for o in condensed]
    summary = duplicates.Duplicates().summarize(condensed)
    assert summary == duplicates.Duplicates().summarize(raw) and summary["counts"]["groups"] > 0


def test_the_same_layout_in_another_tone_is_not_a_near_copy_but_ten_percent_brighter_is():
    """The hash compares grey layouts only: a picture darkened to half, or its contrast halved,
    keeps its layout (and its hash, nearly) but is another picture by the report's definition
    (near copies are robust to brightness and contrast within +-10 %)."""
    from PIL import ImageEnhance

    from clean_images.testing.faults import jpeg_bytes
    from clean_images.testing.planted import distinct_photo

    photo = distinct_photo(11, 480, 360)
    versions = {
        "original": photo,
        "brighter by 10 %": ImageEnhance.Brightness(photo).enhance(1.1),
        "half as bright": ImageEnhance.Brightness(photo).enhance(0.5),
        "half the contrast": ImageEnhance.Contrast(photo).enhance(0.5),
    }
    values = []
    for image in versions.values():
        data = jpeg_bytes(image, quality=90)
        values.append(duplicates.Duplicates().observe(Image(data, *simplejpeg.decode_jpeg_header(data)[:2])))
    digests, hashes, tones = duplicates.digests_and_hashes(values)
    plain = [int(np.unpackbits(hashes[0, 0] ^ hashes[i, 0]).sum()) for i in range(1, 4)]
    assert max(plain) <= duplicates.NEAR_DISTANCE, plain  # the hash alone would group all four
    assert duplicates.find_groups(digests, hashes) == [("near", [0, 1, 2, 3])]
    assert duplicates.find_groups(digests, hashes, tones) == [("near", [0, 1])]
