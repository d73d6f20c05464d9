"""The registered download checksums of every dataset here: `checksums/<dataset>.tsv`.

One file per dataset, in TFDS's own `checksums.tsv` format (url, size, sha256, filename),
so TFDS validates downloads with it and `tfds build --register_checksums` rewrites it.
This folder sits at the repository root and installs as `clean_images.checksums`
(`package_dir` in setup.cfg), so no generic top-level `checksums` package is installed.
"""

from etils import epath


def path_for(dataset_name: str) -> epath.Path:
    """The checksums file of `dataset_name`, wherever this package is installed."""
    return epath.Path(__file__).parent / f"{dataset_name}.tsv"
