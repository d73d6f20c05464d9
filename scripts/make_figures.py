"""Regenerates the README's pictures in docs/figures/ (small PNGs, committed).

    pip install -e '.[viz,samples]'
    python -m scripts.make_figures --dacon_metadata ../shared/dacon_metadata

Makes, from the repository root (each part on its own with --only):
  grids:        an example grid per dataset, drawn by tfds.show_examples from the shipped
                samples (stand-in photos, so the titles say what they really are);
  class_sizes:  images per landmark class, from the real Dacon metadata CSVs (read here,
                never copied into the repository: only the chart is committed);
  build_report: the build report's outcomes and reasons for a generated PetImages replica
                holding the real archive's faulty files (benchmarks/build.py's FAULTS_PER_25K), ~30 s.
"""

from __future__ import annotations

import argparse
import collections
import io
import pathlib
import sys
import tempfile
import textwrap
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from clean_images import report as report_lib
from clean_images import sources, viz
from clean_images.testing.replica import write_pet_archive
from landmark_images import dacon
from landmark_images import landmark_images_dataset_builder as landmark
from pet_images import pet_images_dataset_builder as pet

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIGURES = ("grids", "class_sizes", "build_report")
STAND_INS = "stand-in photos (scikit-image / scikit-learn samples)"
MAX_PNG_BYTES = 150_000
OUTCOME_COLORS = {"stored": "#4c72b0", "repaired": "#dd8452", "skipped": "#c44e52", "ignored": "#8c8c8c",
                  "missing": "#937860"}
BLUE, ORANGE = OUTCOME_COLORS["stored"], OUTCOME_COLORS["repaired"]  # the same palette for the class chart


# --- saving -------------------------------------------------------------------------------


def save_png(figure: Figure, path: pathlib.Path, dpi: int = 80, colors: int = 256) -> pathlib.Path:
    """Writes `figure` as a palette PNG (a fraction of RGB's size, no visible loss for
    charts and thumbnails); refuses one whose text would show tofu boxes or run off the edge."""
    missing = viz.missing_glyphs(figure)
    if missing:
        raise RuntimeError(f"{path.name}: no font has these characters: {missing}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    if overhang(figure) > 0.02:
        raise RuntimeError(f"{path.name}: drawn {overhang(figure):.2f} in past the figure's edge (a title too long?)")
    image = Image.open(buffer).convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=True)
    return path


def overhang(figure: Figure) -> float:
    """How far (inches) what is drawn reaches past the figure's edges, e.g. a title too long for it."""
    drawn = figure.get_tightbbox()
    width, height = figure.get_size_inches()
    return max(0.0, -drawn.x0, -drawn.y0, drawn.x1 - width, drawn.y1 - height)


# --- example grids (tfds.show_examples on the shipped samples) ----------------------------------


def display_width(text: str) -> int:
    """Columns `text` takes: Hangul (and other East Asian wide) characters count two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap_label(text: str, columns: int) -> str:
    """Breaks a label at spaces into lines of at most `columns` display columns (a longer
    word gets a line of its own), so long Korean class names do not run into their neighbours."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and display_width(lines[-1] + " " + word) <= columns:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def balanced_examples(dataset: tf.data.Dataset, num_classes: int, per_class: int) -> tf.data.Dataset:
    """The first `per_class` examples of each class in turn, so every class shows in the grid."""
    per_label = [dataset.filter(lambda ex, label=label: ex["label"] == label).take(per_class) for label in range(num_classes)]
    chosen = per_label[0]
    for more in per_label[1:]:
        chosen = chosen.concatenate(more)
    return chosen


def examples_figure(builder: tfds.core.DatasetBuilder, title: str, per_class: int, cols: int,
                    label_columns: int) -> Figure:
    """tfds.show_examples' own grid of the train split, with wrapped labels and a title."""
    num_classes = builder.info.features["label"].num_classes
    examples = balanced_examples(builder.as_dataset(split="train"), num_classes, per_class)
    rows = -(-num_classes * per_class // cols)
    figure = tfds.show_examples(examples, builder.info, rows=rows, cols=cols, plot_scale=2.4)
    for axes in figure.axes:
        axes.set_xlabel(wrap_label(axes.get_xlabel(), label_columns), fontsize=10, linespacing=1.1)
    figure.suptitle(title, fontsize=11.5)
    figure.tight_layout(h_pad=1.6, w_pad=0.8)
    return figure


def build_sample(builder_cls: Callable[..., tfds.core.DatasetBuilder], data_dir: pathlib.Path) -> tfds.core.DatasetBuilder:
    """The shipped sample config, built offline in seconds."""
    builder = builder_cls(config="sample", data_dir=str(data_dir))
    builder.download_and_prepare()
    return builder


def pet_examples_figure(data_dir: pathlib.Path) -> Figure:
    builder = build_sample(pet.Builder, data_dir)
    title = (f"pet_images/sample, as tfds.show_examples draws it (labels as stored).\n{STAND_INS.capitalize()}: "
             "only the cat is a cat,\na \"dog\" may be a coffee cup or an astronaut.")
    return examples_figure(builder, title, per_class=4, cols=4, label_columns=30)


def landmark_examples_figure(data_dir: pathlib.Path) -> Figure:
    builder = build_sample(landmark.Builder, data_dir)
    title = (f"landmark_images/sample, as tfds.show_examples draws it: real Dacon class names (Korean),\n"
             f"{STAND_INS}, not the landmarks.")
    return examples_figure(builder, title, per_class=2, cols=4, label_columns=26)


GRIDS: dict[str, Callable[[pathlib.Path], Figure]] = {
    "pet_images_examples.png": pet_examples_figure,
    "landmark_images_examples.png": landmark_examples_figure,
}


def make_grids(out_dir: pathlib.Path, data_dir: pathlib.Path) -> list[pathlib.Path]:
    """Both example grids, built from the samples shipped in the packages."""
    from matplotlib import pyplot  # pylint: disable=g-import-not-at-top  # tfds.show_examples' figures live there

    written = []
    for name, make in GRIDS.items():
        figure = make(data_dir)
        written.append(save_png(figure, out_dir / name))
        pyplot.close(figure)
    return written


# --- class sizes (real Dacon metadata) ----------------------------------------------------------


def read_dacon_tables(metadata_dir: pathlib.Path) -> dacon.Tables:
    """The Dacon CSVs, read by the builder's own reader (same parsing as a real build)."""
    source = sources.FolderSource(metadata_dir)
    found = [dacon.Found(source, m) for m in source.members() if m.lower() in dacon.TABLE_NAMES]
    return dacon.read_tables(found, num_classes=None)


def class_sizes_figure(tables: dacon.Tables, named: int = 8) -> Figure:
    """Images per class, every class sorted, beside the `named` smallest and largest classes."""
    per_class = collections.Counter(tables.train_labels.values())
    sizes = sorted(((per_class[label], name) for label, name in enumerate(tables.categories)), reverse=True)
    figure = Figure(figsize=(11, 4.6))
    overall, extremes = figure.subplots(1, 2, width_ratios=[1.15, 1])
    _plot_sorted_sizes(overall, [count for count, _ in sizes])
    _plot_extremes(extremes, sizes[:named] + sizes[-named:], named)
    counts = [count for count, _ in sizes]
    figure.suptitle(
        f"landmark_images/full, from the Dacon metadata: {len(tables.train_labels):,} labelled train images in "
        f"{len(sizes):,} classes ({min(counts)}-{max(counts)} each), {len(tables.test_ids):,} unlabelled test images",
        fontsize=11.5)
    figure.tight_layout(w_pad=2)
    return figure


def _plot_sorted_sizes(axes: Axes, counts: Sequence[int]) -> None:
    ranks = np.arange(1, len(counts) + 1)
    axes.fill_between(ranks, counts, step="mid", color=BLUE, alpha=0.85, linewidth=0)
    median = float(np.median(counts))
    axes.axhline(median, color="black", linewidth=0.8, linestyle="--")
    axes.annotate(f"median {median:.0f}", (len(counts) * 0.6, median), xytext=(0, 4), textcoords="offset points",
                  fontsize=9)
    axes.set(xlim=(1, len(counts)), ylim=(0, max(counts) * 1.08), xlabel="class, largest to smallest",
             ylabel="train images", title="Images per class (all classes)")
    axes.spines[["top", "right"]].set_visible(False)


def _plot_extremes(axes: Axes, sizes: Sequence[tuple[int, str]], named: int) -> None:
    names = [_shortened(name, 34) for _, name in sizes]
    counts = [count for count, _ in sizes]
    y = np.arange(len(sizes))[::-1] + np.array([1] * named + [0] * (len(sizes) - named))  # a gap between the groups
    colors = [BLUE] * named + [ORANGE] * (len(sizes) - named)
    axes.barh(y, counts, color=colors, height=0.75)
    for position, count in zip(y, counts):
        axes.annotate(str(count), (count, position), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8.5)
    axes.set_yticks(y, names, fontsize=9)
    axes.set(xlim=(0, max(counts) * 1.12), xlabel="train images",
             title=f"The {named} largest and {named} smallest classes")
    axes.spines[["top", "right"]].set_visible(False)


def _shortened(name: str, columns: int) -> str:
    """A class name cut to `columns` display columns (some run to 60 characters)."""
    if display_width(name) <= columns:
        return name
    while display_width(name + "…") > columns:
        name = name[:-1]
    return name.rstrip() + "…"


def make_class_sizes(out_dir: pathlib.Path, metadata_dir: pathlib.Path) -> pathlib.Path:
    if not (metadata_dir / "train.csv").is_file():
        raise SystemExit(f"--dacon_metadata {metadata_dir}: no train.csv there (the folder with the Dacon CSVs)")
    return save_png(class_sizes_figure(read_dacon_tables(metadata_dir)), out_dir / "landmark_images_class_sizes.png",
                    colors=64)


# --- build report of a PetImages replica ---------------------------------------------------------


def replica_faults(images: int) -> dict[str, int]:
    """Faulty files per class: every one of the real archive's mix (`FAULTS_PER_25K`, counted
    in all 25,000 files: too few to scale down), and its share of Exif-only JPEGs."""
    faults = dict(_benchmarks_build().FAULTS_PER_25K)
    faults["exif_only"] = round(faults["exif_only"] * images / 25_000)
    return faults


def _benchmarks_build() -> Any:
    """benchmarks/ is in the source tree only (not installed), like `python -m benchmarks.build`."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from benchmarks import build  # pylint: disable=g-import-not-at-top

    return build


def write_replica(workdir: pathlib.Path, images: int) -> pathlib.Path:
    """A PetImages zip of `images` image files with `replica_faults`, reused when already there."""
    path = workdir / f"pet-replica-report-{images}" / "kagglecatsanddogs_5340.zip"
    if not path.exists():
        faults = replica_faults(images)
        clean = images // 2 - sum(faults.values())
        if clean < 0:
            raise SystemExit(f"--pet_images {images}: too few for the {2 * sum(faults.values())} faulty files")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_pet_archive(str(path), images_per_class=clean, faults=faults, seed=2025, max_width=320)
    return path


def build_replica(workdir: pathlib.Path, images: int) -> tuple[Mapping[str, Any], pathlib.Path]:
    """Builds pet_images/full from the replica; returns the train split's build report."""
    archive = write_replica(workdir, images)
    builder = pet.Builder(config="full", data_dir=str(archive.parent / "data"))  # beside its own archive
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(archive.parent)))
    return builder.info.metadata[report_lib.METADATA_KEY]["train"], archive


def build_report_figure(report: Mapping[str, Any], images: int, exif_only: int) -> Figure:
    """Left: how many files ended up stored, repaired, skipped or ignored; right: why.
    `exif_only`: how many of the stored are Exif-only JPEGs (the report counts them as stored)."""
    figure = Figure(figsize=(11, 4.2))
    outcomes, reasons = figure.subplots(1, 2, width_ratios=[1, 1.9])
    _plot_outcomes(outcomes, report)
    _plot_reasons(reasons, report)
    figure.suptitle(
        f"pet_images build report (info.metadata['build_report']) of a generated {images:,}-image PetImages replica:\n"
        f"every faulty file of the real 25,000-image archive's mix, and its {exif_only / images:.1%} of Exif-only JPEGs "
        "(valid: stored as is)",
        fontsize=11.5)
    figure.tight_layout(w_pad=2)
    return figure


def _plot_outcomes(axes: Axes, report: Mapping[str, Any]) -> None:
    names = [o for o in OUTCOME_COLORS if report.get(o)]
    counts = [report[o] for o in names]
    y = np.arange(len(names))[::-1]
    axes.barh(y, counts, color=[OUTCOME_COLORS[o] for o in names], height=0.7)
    _label_bars(axes, y, counts)
    axes.set_yticks(y, names)
    axes.set_xscale("log")
    axes.set(xlim=(0.8, max(counts) * 6), xlabel="files (log scale)", title="Outcome of every file")
    axes.spines[["top", "right"]].set_visible(False)


def _plot_reasons(axes: Axes, report: Mapping[str, Any]) -> None:
    rows = [(outcome, reason, count) for outcome in OUTCOME_COLORS
            for reason, count in sorted(report["reasons"].get(outcome, {}).items(), key=lambda item: -item[1])]
    y = np.arange(len(rows))[::-1]
    counts = [count for _, _, count in rows]
    axes.barh(y, counts, color=[OUTCOME_COLORS[o] for o, _, _ in rows], height=0.7)
    _label_bars(axes, y, counts)
    axes.set_yticks(y, [f"{outcome}: {textwrap.shorten(reason, 58)}" for outcome, reason, _ in rows], fontsize=9)
    axes.set(xlim=(0, max(counts) * 1.15), xlabel="files", title="Reasons (every file not stored as is)")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.spines[["top", "right"]].set_visible(False)


def _label_bars(axes: Axes, y: np.ndarray, counts: Sequence[int]) -> None:
    for position, count in zip(y, counts):
        axes.annotate(f"{count:,}", (count, position), xytext=(3, 0), textcoords="offset points", va="center", fontsize=9)


def make_build_report(out_dir: pathlib.Path, workdir: pathlib.Path, images: int) -> pathlib.Path:
    report, archive = build_replica(workdir, images)
    print(f"{archive}: {report['image_files']:,} image files; " +
          ", ".join(f"{o} {report[o]:,}" for o in OUTCOME_COLORS if o in report))
    exif_only = 2 * replica_faults(images)["exif_only"]
    return save_png(build_report_figure(report, images, exif_only), out_dir / "pet_images_build_report.png", colors=64)


# --- command line ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=FIGURES, default=list(FIGURES), help="what to make (default: all)")
    parser.add_argument("--out_dir", type=pathlib.Path, default=ROOT / "docs" / "figures")
    parser.add_argument("--dacon_metadata", type=pathlib.Path, default=ROOT.parent / "shared" / "dacon_metadata",
                        help="the folder with the Dacon CSVs (train.csv, category.csv, sample_submission.csv)")
    parser.add_argument("--pet_images", type=int, default=2_000, help="image files in the PetImages replica")
    parser.add_argument("--workdir", type=pathlib.Path,
                        help="where the samples, the replica and its build go (kept; default: a temporary folder)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    matplotlib.use("Agg")  # files only, no window (tfds.show_examples calls plt.show())
    with tempfile.TemporaryDirectory(prefix="make-figures-") as temporary:
        workdir = args.workdir or pathlib.Path(temporary)
        written = []
        if "grids" in args.only:
            written += make_grids(args.out_dir, workdir / "samples")
        if "class_sizes" in args.only:
            written.append(make_class_sizes(args.out_dir, args.dacon_metadata))
        if "build_report" in args.only:
            written.append(make_build_report(args.out_dir, workdir, args.pet_images))
    for path in written:
        size = path.stat().st_size
        print(f"{path}: {size / 1000:.0f} KB" + ("  (over the ~150 KB budget)" if size > MAX_PNG_BYTES else ""))


if __name__ == "__main__":
    main()
