"""Building datasets through the real builders, running the real CLI, and reading back what they stored."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import tensorflow_datasets as tfds

from clean_images import report as report_lib

TFDS = str(pathlib.Path(sys.executable).parent / "tfds")  # the CLI of this environment


def build(builder_cls, data_dir: pathlib.Path, manual_dir=None, config: str = "full", beam_options=None,
          **builder_kwargs):
    builder = builder_cls(config=config, data_dir=str(data_dir), **builder_kwargs)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            manual_dir=str(manual_dir) if manual_dir else None, beam_options=beam_options
        )
    )
    return builder


def run_ok(args: list[str], timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """Runs a command (text output captured) and fails the test with its output if it fails."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def stored_examples(builder, split: str = "train") -> dict[str, dict]:
    """filename -> example, with the image as its stored (undecoded) bytes."""
    decoders = {"image": tfds.decode.SkipDecoding()} if "image" in builder.info.features else None
    dataset = builder.as_dataset(split=split, decoders=decoders)
    out = {}
    for example in tfds.as_numpy(dataset):
        name = example["image/filename"].decode()
        assert name not in out, f"duplicate {name}"
        out[name] = example
    return out


def assert_same_dataset(one, other, splits: list[str]) -> None:
    """Two builds hold the same examples key by key (bytes, labels, filenames), report, duplicates and splits."""
    for split in splits:
        one_examples, other_examples = stored_examples(one, split), stored_examples(other, split)
        assert one_examples.keys() == other_examples.keys()
        for name, example in one_examples.items():
            assert example.keys() == other_examples[name].keys()
            for feature, value in example.items():
                assert value == other_examples[name][feature], (name, feature)
    assert one.info.metadata[report_lib.METADATA_KEY] == other.info.metadata[report_lib.METADATA_KEY]
    assert one.info.metadata.get("duplicates") == other.info.metadata.get("duplicates")
    assert [str(s) for s in one.info.splits.values()] == [str(s) for s in other.info.splits.values()]


class MemorySource:
    """A `clean_images.sources.Source` held in memory, for planning tests (planning reads no image)."""

    def __init__(self, files: dict[str, bytes], refused: list[tuple[str, str]] | None = None):
        self.files = files
        self.refused = refused or []

    def members(self) -> list[str]:
        return sorted(self.files)

    def ref(self, member: str):
        from clean_images.sources import MemberRef  # pylint: disable=g-import-not-at-top

        return MemberRef("memory", member, in_zip=False)

    def read(self, member: str) -> bytes:
        return self.files[member]
