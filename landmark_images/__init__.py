"""`import landmark_images` registers the `landmark_images` dataset with TFDS."""

from landmark_images.landmark_images_dataset_builder import Builder, LandmarkConfig

__all__ = ["Builder", "LandmarkConfig"]
