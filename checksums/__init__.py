"""The registered download checksums of every dataset here: `checksums/<dataset>.tsv`.

One file per dataset, in TFDS's own `checksums.tsv` format (url, size, sha256, filename),
so TFDS validates downloads with it and `tfds build --register_checksums` rewrites it.
"""

from etils import epath


def path_for(dataset_name: str) -> epath.Path:
    """The checksums file of `dataset_name`, wherever this package is installed."""
    return epath.Path(__file__).parent / f"{dataset_name}.tsv"
