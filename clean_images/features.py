"""CNN features as a config: the EfficientNetB0 recipe people write by hand, as a batch transform.

The recipe (blog posts on these very photos): `tf.io.decode_jpeg(channels=3)` →
`tf.image.resize(image, (224, 224))` (bilinear) → `efficientnet.preprocess_input` (the model
rescales inside, so it changes nothing) → `EfficientNetB0(include_top=False)`, whose
(7, 7, 1280) output trains a classifier head in seconds instead of running the CNN every
epoch. Computed here from the sanitized full-resolution JPEG (what the `sample`/`full` configs
store), so anyone can reproduce them from those configs, and stored as float16 bytes
(2 bytes a value: 125 KB an image, where TFDS would write a float16 Tensor as float32).

TensorFlow and Keras are imported only when a features config builds (reading needs neither).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow_datasets as tfds
from absl import logging

from clean_images.errors import WeightsError
from clean_images.hooks import BatchTransform, Image

KERAS_WEIGHTS = "efficientnetb0_notop.h5"  # Keras' own ImageNet weights for include_top=False
KERAS_WEIGHTS_URL = "https://storage.googleapis.com/keras-applications/" + KERAS_WEIGHTS
KERAS_WEIGHTS_MD5 = "50bc09e76180e00e4465e1a485ddc09d"  # as keras.applications.efficientnet checks it
INPUT_SIZE = 224
SUBNORMAL_PEAK = 2.0**-12  # a batch whose features all lie below this loses precision as float16
SHAPE = (7, 7, 1280)
PREPROCESSING = (
    "tf.io.decode_jpeg(channels=3) of the stored full-resolution JPEG, tf.image.resize to 224x224 "
    "(bilinear), keras.applications.efficientnet.preprocess_input"
)


@dataclasses.dataclass(frozen=True)
class Weights:
    """A weights file and its SHA-256 (what the metadata records, and a rebuild is checked against)."""

    path: str
    sha256: str


def keras_cache() -> str:
    """Keras' cache folder, by Keras' own rule: $KERAS_HOME, else ~/.keras; files go in its `models/`."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class EfficientNetB0Features(BatchTransform):
    """Replaces each image by EfficientNetB0's (7, 7, 1280) feature map, float16.

    `ready(weights)` finds and loads the weights before any work (else `WeightsError`);
    `setup()` reuses that model, or loads it once per Beam worker. Batches are always run at
    `batch_size` (a short last batch is padded) so that an image's features do not depend
    on how many images shared its batch: a rebuild, in process or on Beam, gives the same bytes.
    """

    batch_size = 32
    concurrent_batches = 2  # EfficientNetB0 on 2 cores: 25 img/s in one stream, 31 in two (measured)

    def __init__(self, weights: Weights | None = None):
        self.weights = weights
        self._infer: Any = None  # the tf.function over a batch of JPEG strings, once set up
        self._checked_range = False

    def features(self) -> dict[str, tfds.features.FeatureConnector]:
        return {
            "features": tfds.features.Tensor(
                shape=SHAPE,
                dtype=np.float16,
                encoding=tfds.features.Encoding.BYTES,
                doc="EfficientNetB0(include_top=False) output for the image at 224x224 (float16, 2 bytes a value).",
            )
        }

    def describe(self) -> str:
        return (
            "Each kept image is replaced by `features`, EfficientNetB0's (7, 7, 1280) feature map "
            f"(float16, 125 KB an image): {PREPROCESSING}, then the model without its top."
        )

    def ready(self, weights: str | None, dataset: str) -> EfficientNetB0Features:
        """A copy with its weights found and loaded: the file given, else Keras' cached ImageNet ones."""
        path = _given(weights, dataset) if weights is not None else _keras_imagenet(dataset)
        ready = EfficientNetB0Features(Weights(path, sha256_of(path)))
        ready._infer = _inference(_model(path, dataset))
        return ready

    def built_with(self, weights: str, metadata: dict[str, Any]) -> bool:
        path = _expanded(weights)
        return os.path.isfile(path) and sha256_of(path) == metadata.get("weights_sha256")

    def setup(self) -> None:
        if self._infer is not None:
            return
        if self.weights is None:
            raise RuntimeError("EfficientNetB0Features.ready(weights) must run before setup()")
        self._infer = _inference(_model(self.weights.path, "this dataset"))

    def __call__(self, images: Sequence[Image]) -> list[dict[str, Any]]:
        jpegs = [image.jpeg for image in images]
        padded = jpegs + [jpegs[-1]] * (self.batch_size - len(jpegs)) if jpegs else []
        computed = self._infer(np.array(padded, dtype=object)).numpy()
        if not self._checked_range:
            self._checked_range = True
            _warn_if_subnormal(computed, self.weights)
        return [{"features": computed[i]} for i in range(len(jpegs))]

    def metadata(self) -> dict[str, Any]:
        return {
            "model": "keras.applications.EfficientNetB0(include_top=False)",
            "preprocessing": PREPROCESSING,
            "dtype": "float16",
            "batch_size": self.batch_size,
            "weights": os.path.basename(self.weights.path) if self.weights else None,
            "weights_sha256": self.weights.sha256 if self.weights else None,
        }

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for Beam without the model: each worker loads it in `setup`."""
        return {**self.__dict__, "_infer": None}


def _warn_if_subnormal(computed: np.ndarray, weights: Weights | None) -> None:
    """float16 keeps 11 significant bits only from 6.1e-5 (2^-14) up: features that peak below
    ~2.4e-4 (e.g. an untrained network's) are stored with errors above 1/2000 of their peak."""
    peak = float(np.abs(computed.astype(np.float32)).max())
    if peak < SUBNORMAL_PEAK:
        logging.warning(
            "EfficientNetB0 features from %s peak at %.1e, in float16's reduced-precision range (below "
            "6.1e-5 it keeps fewer significant bits): stored values lose precision. Trained weights "
            "(e.g. Keras' ImageNet ones) give features far above it; are these weights trained?",
            weights.path if weights else "these weights", peak)


def _expanded(weights: str) -> str:
    """The `weights` kwarg as a path: `~` expanded (the CLI passes it unexpanded inside quotes)."""
    return os.path.expanduser(os.fspath(weights))


def _given(weights: str, dataset: str) -> str:
    path = _expanded(weights)
    if not os.path.isfile(path):
        raise WeightsError(
            f"The weights file {path} given to {dataset} (weights=...) does not exist. Give the path of a "
            "Keras weights file of EfficientNetB0(include_top=False), e.g. a copy of "
            f"{KERAS_WEIGHTS} ({KERAS_WEIGHTS_URL}) or a file saved with model.save_weights()."
        )
    return path


def _keras_imagenet(dataset: str) -> str:
    """Keras' ImageNet weights: from its cache, else downloaded by Keras into it."""
    from keras.utils import get_file  # pylint: disable=g-import-not-at-top  # imports TensorFlow: only when building

    cache = keras_cache()
    try:
        return get_file(KERAS_WEIGHTS, KERAS_WEIGHTS_URL, cache_subdir="models", file_hash=KERAS_WEIGHTS_MD5,
                        cache_dir=cache)
    except Exception as e:  # pylint: disable=broad-except  # Keras raises a bare Exception for a failed download
        raise WeightsError(
            f"{dataset} computes its features with EfficientNetB0's ImageNet weights, {KERAS_WEIGHTS}, "
            f"which are not in Keras' cache and could not be downloaded ({e}).\n"
            f"  Either download {KERAS_WEIGHTS_URL} on a machine with internet access and put it at "
            f"{os.path.join(cache, 'models', KERAS_WEIGHTS)} (Keras' cache: $KERAS_HOME/models or ~/.keras/models),\n"
            "  or give any Keras weights file of EfficientNetB0(include_top=False) with the builder kwarg "
            f"`weights`: tfds.builder('{dataset}', weights='/path/to/weights.h5'), or "
            f"tfds build '{dataset}/weights=/path/to/weights.h5' --imports {dataset.split('/')[0]}.\nNothing was built."
        ) from None


def _model(path: str, dataset: str) -> Any:
    from keras.applications import efficientnet  # pylint: disable=g-import-not-at-top

    try:
        return efficientnet.EfficientNetB0(include_top=False, weights=path, input_shape=(INPUT_SIZE, INPUT_SIZE, 3))
    except Exception as e:  # pylint: disable=broad-except  # Keras raises ValueError, OSError or h5py errors
        raise WeightsError(
            f"Keras could not load {path} into EfficientNetB0(include_top=False) for {dataset}: {e}\n"
            "Give the weights of that architecture (Keras' .weights.h5 or legacy .h5), e.g. "
            f"{KERAS_WEIGHTS} from {KERAS_WEIGHTS_URL}. Nothing was built."
        ) from None


def _inference(model: Any) -> Any:
    """A compiled function: a batch of JPEG strings in, float16 feature maps out (the recipe, in one graph)."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from keras.applications import efficientnet  # pylint: disable=g-import-not-at-top

    def prepared(jpeg: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_jpeg(jpeg, channels=3)
        return efficientnet.preprocess_input(tf.image.resize(image, (INPUT_SIZE, INPUT_SIZE)))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def infer(jpegs: tf.Tensor) -> tf.Tensor:
        images = tf.map_fn(prepared, jpegs, fn_output_signature=tf.TensorSpec([INPUT_SIZE, INPUT_SIZE, 3], tf.float32))
        return tf.cast(model(images, training=False), tf.float16)

    infer.get_concrete_function()  # traced here, once, not by two threads' first calls
    return infer
