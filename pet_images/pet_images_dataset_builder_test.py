"""tfds.testing checks of the pet_images builder: dummy_data (full) and the shipped sample."""

import tensorflow_datasets as tfds

from pet_images import pet_images_dataset_builder


class PetImagesFullTest(tfds.testing.DatasetBuilderTestCase):
    """`full` read from dummy_data/ as manual_dir (extracted-folder layout, 2 faulty files)."""

    DATASET_CLASS = pet_images_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["full"]
    SPLITS = {"train": 8}  # per class: 3 clean + 1 PNG (repaired) + 1 empty (skipped)
    SKIP_CHECKSUMS = True


class PetImagesSampleTest(tfds.testing.DatasetBuilderTestCase):
    """`sample` reads the archive shipped in the package, whatever dummy_data holds."""

    DATASET_CLASS = pet_images_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["sample"]
    SPLITS = {"train": 78}  # 92 image files, 14 of them skipped
    SKIP_CHECKSUMS = True


if __name__ == "__main__":
    tfds.testing.test_main()
