"""Shared by both dataset builders: sanitized images, an exact build report, variants by hooks.

The public surface (one idea per module behind it):

- `CleanImageBuilder`, `CleanImageConfig` (`builder`): the base class a dataset subclasses.
- `DatasetPlan`, `SplitPlan`, `Entry` (`plan`): what a dataset returns from `_plan_splits`.
- `ImageTransform`, `BatchTransform`, `DatasetPass`, `Image` (`hooks`): how configs vary.
- `errors`: every error a build stops with. `sanitize`: the verdict on one file.
- `reading.training_pipeline`: the input pipeline for training (imports TensorFlow).

Test inputs (fault makers, replica archives) live in `clean_images.testing`, in the source
tree only (the wheel leaves it out); no module here imports it.
"""

from clean_images import errors
from clean_images.builder import CleanImageBuilder, CleanImageConfig, image_features
from clean_images.hooks import BatchTransform, DatasetPass, Image, ImageTransform, Observation
from clean_images.plan import DatasetPlan, Entry, Recorded, SplitPlan

__all__ = [
    "BatchTransform",
    "CleanImageBuilder",
    "CleanImageConfig",
    "DatasetPass",
    "DatasetPlan",
    "Entry",
    "Image",
    "ImageTransform",
    "Observation",
    "Recorded",
    "SplitPlan",
    "errors",
    "image_features",
]
