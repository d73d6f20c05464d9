"""tfds.testing checks of the landmark_images builder: dummy_data (full) and the shipped sample."""

import tensorflow_datasets as tfds

from landmark_images import landmark_images_dataset_builder


class LandmarkImagesFullTest(tfds.testing.DatasetBuilderTestCase):
    """`full` from dummy_data/: the extracted layout, 1,049 synthetic classes, 3 with images."""

    DATASET_CLASS = landmark_images_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["full"]
    SPLITS = {"train": 6, "test": 3}


class LandmarkImagesSampleTest(tfds.testing.DatasetBuilderTestCase):
    """`sample`: the shipped CP949 zip; 24 train images (1 truncated, skipped) and 6 test."""

    DATASET_CLASS = landmark_images_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["sample"]
    SPLITS = {"train": 23, "test": 6}


if __name__ == "__main__":
    tfds.testing.test_main()
