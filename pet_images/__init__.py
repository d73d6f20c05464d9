"""`import pet_images` registers the `pet_images` dataset with TFDS."""

from pet_images.pet_images_dataset_builder import Builder

__all__ = ["Builder"]
