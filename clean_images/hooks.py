"""The three ways a config changes what is stored, declared on the config, not coded per builder.

- `ImageTransform`: per kept image, in the sanitation workers (e.g. store at training size).
- `BatchTransform`: replaces the image by features computed in batches, after a one-time
  `setup` per process or Beam worker (e.g. a CNN loaded once).
- `DatasetPass`: looks at every kept image during generation (`observe`, in the workers),
  then turns all splits' observations into one metadata entry (e.g. duplicate groups).
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

import tensorflow_datasets as tfds


@dataclasses.dataclass(frozen=True)
class Image:
    """A kept image: clean JPEG bytes that decode silently, and their size."""

    jpeg: bytes
    height: int
    width: int
    # Its pixels (numpy) from validation's decode, for a JPEG that needed no repair: RGB at the
    # DCT scale the config's transform asked for (`decode_size`), else grey (h, w, 1) at 1/8.
    # None otherwise.
    pixels: Any = None


class ImageTransform(abc.ABC):
    """Turns each sanitized image into the image a config stores. Must be picklable and deterministic."""

    # The version of the bytes it stores, taken by the configs that apply it (None: the dataset's
    # VERSION); a change that changes those bytes needs a new version and a note.
    version: ClassVar[str | None] = None
    release_notes: ClassVar[dict[str, str]] = {}

    @abc.abstractmethod
    def __call__(self, image: Image) -> Image: ...

    def decode_size(self, height: int, width: int) -> tuple[int, int] | None:
        """The smallest (height, width) it needs the pixels at, or None: validation then decodes
        at that DCT scale and hands the pixels over in `Image.pixels` (one decode, not two)."""
        return None

    @abc.abstractmethod
    def describe(self) -> str:
        """One sentence for the dataset description: what the stored images are."""

    def metadata(self) -> dict[str, Any]:
        """What the dataset metadata records about it (size, filter, quality)."""
        return {}


class BatchTransform(abc.ABC):
    """Computes, from batches of kept images, the features that replace `image` in the examples."""

    batch_size: ClassVar[int] = 32
    # Batches computed at once in process (from threads, so `__call__` must be thread-safe):
    # a TensorFlow model leaves part of the cores idle between its ops, and two streams fill them.
    concurrent_batches: ClassVar[int] = 1

    @abc.abstractmethod
    def features(self) -> dict[str, tfds.features.FeatureConnector]:
        """The features it adds (they replace `image`, `image/height` and `image/width`)."""

    def ready(self, weights: str | None, dataset: str) -> BatchTransform:
        """A copy with what it needs found and checked (e.g. a weights file: the builder kwarg
        `weights`, else its default), before any work; raises `errors.WeightsError` naming the fix."""
        return self

    def built_with(self, weights: str, metadata: dict[str, Any]) -> bool:
        """Whether data whose metadata["batch_transform"] is `metadata` was made with `weights`."""
        return True

    def setup(self) -> None:  # noqa: B027  # optional: most transforms need no setup
        """Loads what is costly (model weights); called once per process or Beam worker before use."""

    @abc.abstractmethod
    def describe(self) -> str:
        """One sentence for the dataset description: what the examples hold instead of the image."""

    @abc.abstractmethod
    def __call__(self, images: Sequence[Image]) -> list[dict[str, Any]]:
        """One features dict per image, in order."""

    def metadata(self) -> dict[str, Any]:
        """What the dataset metadata records about it (e.g. which weights made the features)."""
        return {}


@dataclasses.dataclass(frozen=True, slots=True)  # slots: ~100 bytes less each, 126k of them for Dacon
class Observation:
    """What a `DatasetPass` saw of one kept image: bytes or JSON-able, so Beam workers can hand it back."""

    split: str
    filename: str
    label: Any  # the entry's `label` feature: a class name or index; -1 or None when unlabelled
    value: Any


class DatasetPass(abc.ABC):
    """Observes each kept image during generation, then summarizes the whole dataset."""

    metadata_key: ClassVar[str]

    @abc.abstractmethod
    def observe(self, image: Image) -> Any:
        """A small value (bytes, or JSON-able) for one sanitized full-size image.

        It runs in the sanitation threads, where any Python work holds the GIL that TFDS's
        serializer needs: do there only what needs the pixels, and the rest in `condense` or `summarize`.
        """

    def condense(self, values: list[Any]) -> list[Any]:
        """The same observations in less memory: called on the main thread on batches of them as
        generation goes (and on any batch again, so it must pass condensed values through)."""
        return values

    @abc.abstractmethod
    def summarize(self, observations: list[Observation]) -> Any:
        """`info.metadata[metadata_key]`, from every split's observations (in key order)."""

    def summary_line(self, summary: Any) -> str:
        """One line for the printed build report."""
        return ""


class ObservationLog:
    """One pass's observations over all splits, condensed `CONDENSE_EVERY` at a time as they arrive,
    so memory holds condensed values plus one batch (e.g. 84 bytes an image, not 4,112, for duplicates)."""

    CONDENSE_EVERY = 2_048  # 8 MiB of duplicates thumbnails (4,112 bytes each) at most before they shrink to 84

    def __init__(self, dataset_pass: DatasetPass):
        self._pass = dataset_pass
        self._condensed: list[Observation] = []
        self._pending: list[Observation] = []

    def append(self, observation: Observation) -> None:
        self._pending.append(observation)
        if len(self._pending) >= self.CONDENSE_EVERY:
            self._condense_pending()

    def all(self) -> list[Observation]:
        """Every observation so far, condensed."""
        self._condense_pending()
        return list(self._condensed)

    def _condense_pending(self) -> None:
        values = self._pass.condense([o.value for o in self._pending])
        self._condensed += [Observation(o.split, o.filename, o.label, v) for o, v in zip(self._pending, values)]
        self._pending = []
