"""Writes TFDS's shards: examples in one byte order, and TFRecord without loading TensorFlow.

TFDS serializes examples with protobuf's default serialization, whose order of the feature
map changes from process to process, so two builds of the same input gave different shard
bytes. `sorted_features` puts the features in byte-wise key order, so they are the same
bytes every time.

TFDS's own TFRecord writer goes through `tf.io.TFRecordWriter`, and importing TensorFlow
costs a build run from Python ~2 s and ~0.6 GB of memory (each Beam worker too) for
nothing but record framing (the `tfds` CLI imports TensorFlow anyway). The TFRecord format is
small: per record, its length (uint64 little-endian), the
masked CRC-32C of that length, the bytes, their masked CRC-32C. `google-crc32c` computes
the CRCs in hardware (where it has only its pure-Python fallback, and for remote paths,
TensorFlow's writer is used). The files are byte-identical to TensorFlow's (tested).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable

import google_crc32c
from etils import epath
from tensorflow_datasets.core import file_adapters
from tensorflow_datasets.core import writer as writer_lib

_MASK_DELTA = 0xA282EAD8
HARDWARE_CRC = google_crc32c.implementation == "c"  # else TensorFlow's writer is faster
_BUFFER_BYTES = 4 << 20


def masked_crc32c(data: bytes) -> int:
    """TFRecord's CRC: CRC-32C rotated right by 15 bits plus a constant (see tf/core/lib/hash/crc32c.h)."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def _framed(record: bytes) -> tuple[bytes, bytes, bytes]:
    """One record as laid out in a .tfrecord file: header, the record itself (not copied), footer."""
    length = struct.pack("<Q", len(record))
    return length + struct.pack("<I", masked_crc32c(length)), record, struct.pack("<I", masked_crc32c(record))


def _varint(data: bytes, position: int) -> tuple[int, int]:
    """(value, position after it) of the protobuf varint at `position`."""
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _feature_entries(serialized: bytes) -> tuple[int, list[tuple[bytes, bytes]]] | None:
    """Where a tf.train.Example's feature map starts and its (key, entry bytes), or None for
    anything that is not a plain Example (Example.features = 1, Features.feature = 1, key = 1)."""
    if serialized[:1] != b"\x0a":
        return None
    length, start = _varint(serialized, 1)
    if start + length != len(serialized):
        return None
    entries, position = [], start
    while position < len(serialized):
        if serialized[position] != 0x0A:
            return None
        entry_length, entry_start = _varint(serialized, position + 1)
        end = entry_start + entry_length
        if end > len(serialized) or serialized[entry_start] != 0x0A:
            return None
        key_length, key_start = _varint(serialized, entry_start + 1)
        entries.append((serialized[key_start : key_start + key_length], serialized[position:end]))
        position = end
    return start, entries


def sorted_features(serialized: bytes) -> bytes:
    """The same tf.train.Example with its features in byte-wise key order (as protobuf's C++
    deterministic serialization writes them); other bytes unchanged."""
    try:
        parsed = _feature_entries(serialized)
    except (IndexError, ValueError):
        return serialized
    if parsed is None:
        return serialized
    start, entries = parsed
    return serialized[:start] + b"".join(entry for _, entry in sorted(entries, key=lambda e: e[0]))


def write_records(path: epath.PathLike, records: Iterable[bytes]) -> None:
    """Writes `records` as a TFRecord file, in ~4 MiB writes (records themselves are not copied)."""
    with epath.Path(path).open("wb") as file:
        pending: list[bytes] = []
        size = 0
        for record in records:
            pending.extend(_framed(record))
            size += len(record) + 16
            if size >= _BUFFER_BYTES:
                file.writelines(pending)
                pending, size = [], 0
        file.writelines(pending)


class ExampleWriter(writer_lib.ExampleWriter):
    """TFDS's ExampleWriter with features in key order; TFRecord without the TensorFlow import.

    `presorted`: the examples come from `clean_images.serializer`, already in key order.
    """

    def __init__(self, file_format: file_adapters.FileFormat, presorted: bool = False):
        super().__init__(file_format)
        self.presorted = presorted

    def write(self, path: epath.PathLike, examples: Iterable[tuple[object, bytes]]) -> object:
        if not self.presorted:
            examples = ((key, sorted_features(serialized)) for key, serialized in examples)
        fast = self.file_format == file_adapters.FileFormat.TFRECORD and HARDWARE_CRC
        if not fast or "://" in os.fspath(path):  # other formats, remote file systems, a pure-Python CRC
            return super().write(path, examples)
        write_records(path, (serialized for _, serialized in examples))
        return None
