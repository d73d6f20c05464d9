"""The contenders, each run in its own process by `benchmarks.measure`: one JSON line out.

    python -m benchmarks.contenders ours ZIP DATA_DIR [BEAM_WORKERS [CONFIG [PASSES]]]
    python -m benchmarks.contenders ours_landmark MANUAL_DIR DATA_DIR
    python -m benchmarks.contenders tfds_cats_vs_dogs ZIP DATA_DIR
    python -m benchmarks.contenders blog ZIP OUT_DIR
    python -m benchmarks.contenders read_floor ZIP
    python -m benchmarks.contenders decode_floor ZIP
    python -m benchmarks.contenders read_ours DATA_DIR SIZE [DTYPE]
    python -m benchmarks.contenders read_keras FOLDER SIZE [on|off]
    python -m benchmarks.contenders read_pil FOLDER SIZE [LIMIT]
    python -m benchmarks.contenders decode_ceiling FOLDER RATIO
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import sys
import time
import zipfile

_MEMBER = re.compile(r"^PetImages/(Cat|Dog)/[^/]+\.jpg$")


def image_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [info for info in archive.infolist() if _MEMBER.match(info.filename)]


def _tree_bytes(folder: str) -> int:
    return sum(p.stat().st_size for p in pathlib.Path(folder).rglob("*") if p.is_file())


def ours(zip_path: str, data_dir: str, beam_workers: str = "0", config: str = "full", passes: str = "on",
         weights: str = "") -> dict:
    """Builds pet_images/CONFIG; with `passes` "off", without the dataset passes (the duplicates report);
    `weights`: the weights file of a features config."""
    import tensorflow_datasets as tfds

    import pet_images
    from clean_images.sanitize import SKIPPED

    if passes == "off":  # the baseline that prices the duplicates report, side by side
        pet_images.Builder.DATASET_PASSES = ()
    beam_options = None
    if int(beam_workers):
        from apache_beam.options.pipeline_options import PipelineOptions

        beam_options = PipelineOptions(
            ["--runner=DirectRunner", f"--direct_num_workers={beam_workers}", "--direct_running_mode=multi_processing"]
        )
    builder = pet_images.Builder(config=config, data_dir=data_dir, weights=weights or None)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=zip_path, beam_options=beam_options)  # the zip itself
    )
    report = builder.info.metadata["build_report"]["train"]
    skipped = {f["path"] for f in report["files"] if f["outcome"] == SKIPPED}
    with zipfile.ZipFile(zip_path) as archive:
        kept_input = sum(i.file_size for i in image_members(archive) if i.filename not in skipped)
    return {"images": report["image_files"], "examples": report["stored"] + report["repaired"],
            "output_bytes": _tree_bytes(builder.data_dir), "kept_input_bytes": kept_input,
            "duplicate_groups": builder.info.metadata.get("duplicates", {}).get("groups", [])}


def ours_landmark(manual_dir: str, data_dir: str, config: str = "full", read: str = "no") -> dict:
    """Builds landmark_images/CONFIG; with `read` "yes", also times an eval-mode epoch of each split."""
    import tensorflow_datasets as tfds

    import landmark_images

    builder = landmark_images.Builder(config=config, data_dir=data_dir)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
    report = builder.info.metadata["build_report"]
    reads = {}
    if read == "yes":
        from clean_images import reading

        for split in report:
            reads[split] = _timed_drain(lambda split=split: reading.training_pipeline(
                f"landmark_images/{config}", split, mode="eval", data_dir=data_dir))
    return {split: r["image_files"] for split, r in report.items()} | {
        "images": sum(r["image_files"] for r in report.values()), "output_bytes": _tree_bytes(builder.data_dir),
        "splits": {split: dataclasses.asdict(t) for split, t in builder.split_timings.items()}, "reads": reads}


def tfds_cats_vs_dogs(zip_path: str, data_dir: str) -> dict:
    """TFDS's own builder, untouched but for where its download comes from and its corrupt count."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.image_classification import cats_vs_dogs

    with zipfile.ZipFile(zip_path) as archive:
        members = image_members(archive)
    if not zip_path.endswith(".zip"):  # TFDS picks how to open a download by its name
        link = pathlib.Path(f"{data_dir}-input") / "kagglecatsanddogs_5340.zip"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(os.path.abspath(zip_path))
        zip_path = str(link)
    cats_vs_dogs._NUM_CORRUPT_IMAGES = cats_vs_dogs_corrupt_count(zip_path)
    original_download = tfds.download.DownloadManager.download
    tfds.download.DownloadManager.download = (
        lambda self, url: zip_path if url == cats_vs_dogs._URL else original_download(self, url)
    )
    builder = cats_vs_dogs.CatsVsDogs(data_dir=data_dir)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(compute_stats=tfds.download.ComputeStatsMode.SKIP))
    return {"images": len(members), "examples": builder.info.splits["train"].num_examples,
            "output_bytes": _tree_bytes(builder.data_dir)}


def cats_vs_dogs_corrupt_count(zip_path: str) -> int:
    """The files TFDS's cats_vs_dogs drops from this archive, found exactly as its
    _generate_examples finds them (its archive iterator, name pattern and JFIF peek), so its
    final check of the hard-coded count holds for any archive."""
    from tensorflow_datasets.core.download import extractor, resource
    from tensorflow_datasets.image_classification import cats_vs_dogs

    return sum(
        1 for name, fobj in extractor.iter_archive(zip_path, resource.ExtractMethod.ZIP)
        if cats_vs_dogs._NAME_RE.match(os.path.normpath(name)) and b"JFIF" not in fobj.peek(10)
    )


def blog(zip_path: str, out_dir: str) -> dict:
    """The blog-post recipe: one tf.train.Example per image, one .tfrecord per image."""
    import tensorflow as tf

    os.makedirs(out_dir, exist_ok=True)
    written = 0
    with zipfile.ZipFile(zip_path) as archive:
        members = image_members(archive)
        for number, info in enumerate(members):
            data = archive.read(info)
            try:
                image = tf.io.decode_jpeg(data)
            except tf.errors.InvalidArgumentError:
                continue  # the posts find out about these mid-training; here they are just dropped
            example = tf.train.Example(features=tf.train.Features(feature={
                "image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[data])),
                "image/format": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"jpeg"])),
                "image/class/label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int("/Dog/" in info.filename)])),
                "image/height": tf.train.Feature(int64_list=tf.train.Int64List(value=[image.shape[0]])),
                "image/width": tf.train.Feature(int64_list=tf.train.Int64List(value=[image.shape[1]])),
            }))
            with tf.io.TFRecordWriter(os.path.join(out_dir, f"{number:06d}.tfrecord")) as writer:
                writer.write(example.SerializeToString())
            written += 1
    return {"images": len(members), "examples": written, "output_bytes": _tree_bytes(out_dir)}


def read_floor(zip_path: str) -> dict:
    """Reading (inflating) every member: no build can be faster."""
    total = 0
    with zipfile.ZipFile(zip_path) as archive:
        members = image_members(archive)
        for info in members:
            total += len(archive.read(info))
    return {"images": len(members), "bytes": total}


def decode_floor(zip_path: str) -> dict:
    """Reading and fully decoding (libjpeg-turbo, full scale) every image on every core."""
    import simplejpeg

    from clean_images.parallel import ordered_map
    from clean_images.sources import ZipSource

    source = ZipSource(zip_path)
    refs = [source.ref(m) for m in source.members() if _MEMBER.match(m)]

    def decode(ref) -> bool:
        try:
            simplejpeg.decode_jpeg(ref.read(), strict=False)
            return True
        except ValueError:
            return False

    decoded = sum(ok for _, ok in ordered_map(decode, refs))
    return {"images": len(refs), "decoded": decoded}


def bare_efficientnetb0(weights: str, images: str) -> dict:
    """The model alone, as the features configs run it (batches of 32, float32), on random
    images: the rate no features build can beat. Model loading is not timed."""
    import numpy as np
    import tensorflow as tf

    from clean_images import features

    model = features._model(weights, "benchmark")  # pylint: disable=protected-access
    infer = tf.function(lambda batch: model(batch, training=False))
    batch = tf.constant(np.random.default_rng(0).uniform(0, 255, (32, 224, 224, 3)).astype(np.float32))
    infer(batch)  # traced and warmed up
    batches = -(-int(images) // 32)
    start = time.perf_counter()
    for _ in range(batches):
        infer(batch).numpy()
    return {"images": batches * 32, "pipeline_seconds": time.perf_counter() - start}


def read_features(data_dir: str, config: str = "efficientnetb0") -> dict:
    """An epoch of the features config as a head reads it: tfds.load, batches of 32."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    import pet_images  # noqa: F401  # registers the builder

    return _timed_drain(lambda: tfds.load(f"pet_images/{config}", split="train", data_dir=data_dir,
                                          as_supervised=True).batch(32).prefetch(tf.data.AUTOTUNE))


def _use_allocator(allocator: str) -> None:
    """With "bfc", TensorFlow's pooling CPU allocator, switched on as a user would: before TensorFlow's first op.

    The default hands large tensors to glibc, which maps every one over 32 MB afresh (a float32
    batch of 64 at 224 px is 38.5 MB) and faults its pages in at every batch."""
    if allocator not in ("default", "bfc"):
        raise ValueError(f"allocator must be 'default' or 'bfc', not {allocator!r}")
    if allocator == "bfc":
        os.environ["TF_CPU_ALLOCATOR_USE_BFC"] = "1"


def _without_autotuner(tf):
    """`clean_images.reading.without_autotuner`, restated: importing that module imports TFDS
    (~10 MiB), which a Keras user's process would not hold and its peak RSS must not count."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


def _timed_drain(make_dataset) -> dict:
    """Images read and the seconds from building the pipeline to the end of its epoch (imports excluded)."""
    start = time.perf_counter()
    count = sum(int(images.shape[0]) for images, _ in make_dataset())
    return {"images": count, "pipeline_seconds": time.perf_counter() - start}


def read_ours(data_dir: str, size: str, dtype: str = "float32", config: str = "full", mode: str = "resize",
              allocator: str = "default") -> dict:
    _use_allocator(allocator)
    import tensorflow as tf

    import pet_images  # noqa: F401  # registers the builder
    from clean_images import reading

    return _timed_drain(lambda: reading.training_pipeline(
        f"pet_images/{config}", "train", mode=mode, image_size=int(size), data_dir=data_dir,
        dtype=tf.dtypes.as_dtype(dtype)))


def read_keras(folder: str, size: str, autotune: str = "on", allocator: str = "default") -> dict:
    """Keras' folder loader as documented; `autotune` off: the same without tf.data's autotuner."""
    _use_allocator(allocator)
    import tensorflow as tf

    if autotune not in ("on", "off"):
        raise ValueError(f"autotune must be 'on' or 'off', not {autotune!r}")

    def make_dataset() -> tf.data.Dataset:
        dataset = tf.keras.utils.image_dataset_from_directory(
            folder, image_size=(int(size), int(size)), batch_size=64, shuffle=True, seed=0, verbose=False
        ).prefetch(tf.data.AUTOTUNE)
        return dataset if autotune == "on" else dataset.with_options(_without_autotuner(tf))

    return _timed_drain(make_dataset)


def read_pil(folder: str, size: str, limit: str = "3000") -> dict:
    """A plain Python loop: PIL decode + resize, one image at a time (on the first `limit`)."""
    from PIL import Image

    start = time.perf_counter()
    count = 0
    for path in sorted(pathlib.Path(folder).rglob("*.jpg"))[: int(limit)]:
        with Image.open(path) as image:
            image.convert("RGB").resize((int(size), int(size)), Image.Resampling.BILINEAR)
        count += 1
    return {"images": count, "pipeline_seconds": time.perf_counter() - start}


def decode_ceiling(folder: str, ratio: str) -> dict:
    """Only list, read and decode every image (TF's libjpeg, DCT scale 1/RATIO, the fast IDCT,
    all cores): no resizing, no batching of pixels. No pipeline decoding with TF at that scale
    beats it on this CPU, so its rate over Keras' is the ceiling of their speed-up."""
    import tensorflow as tf

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()  # no package import
    start = time.perf_counter()  # listing included, as in Keras' loader
    paths = sorted(str(path) for path in pathlib.Path(folder).rglob("*.jpg"))
    dataset = tf.data.Dataset.from_tensor_slices(paths).map(
        lambda path: tf.io.decode_jpeg(
            tf.io.read_file(path), channels=3, ratio=int(ratio), dct_method="INTEGER_FAST")[-1, -1],  # one pixel out
        num_parallel_calls=cores).batch(64).with_options(_without_autotuner(tf))
    count = sum(int(pixels.shape[0]) for pixels in dataset)
    return {"images": count, "pipeline_seconds": time.perf_counter() - start}


if __name__ == "__main__":
    name, *arguments = sys.argv[1:]
    print(json.dumps(globals()[name](*arguments)))
