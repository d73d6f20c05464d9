"""The viz extra: tfds.show_examples draws the Korean landmark names with real glyphs,
tfds.as_dataframe works, and the README's sample grids are drawn from the shipped samples."""

from __future__ import annotations

import importlib
import io
import sys
import textwrap
import unicodedata
import warnings

import matplotlib
import pytest
import tensorflow_datasets as tfds
from fontTools.ttLib import TTFont
from matplotlib.figure import Figure
from PIL import Image

from clean_images import report as report_lib
from clean_images import viz
from clean_images.testing.replica import DaconMetadata
from landmark_images import dacon
from landmark_images import landmark_images_dataset_builder as landmark
from pet_images import pet_images_dataset_builder as pet
from scripts import make_figures
from tests.helpers import build, run_ok


@pytest.fixture(autouse=True)
def agg_backend():
    """Files only: tfds.show_examples calls plt.show(), which must not open a window."""
    matplotlib.use("Agg")
    yield
    from matplotlib import pyplot  # pylint: disable=g-import-not-at-top

    pyplot.close("all")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Both samples built once; the figure functions reuse these builds."""
    folder = tmp_path_factory.mktemp("data")
    build(landmark.Builder, folder, config="sample")
    build(pet.Builder, folder, config="sample")
    return folder


def _builder(builder_cls, data_dir):
    return builder_cls(config="sample", data_dir=str(data_dir))


def _is_hangul(character: str) -> bool:
    return unicodedata.name(character, "").startswith("HANGUL")


def _glyph_warnings(figure: Figure) -> list[str]:
    """What matplotlib warns while drawing `figure` with Agg (tofu boxes are drawn with a warning)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.savefig(io.BytesIO(), format="png")
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_show_examples_labels_landmarks_with_korean_names_every_glyph_in_the_font(data_dir):
    builder = _builder(landmark.Builder, data_dir)
    names = builder.info.features["label"].names
    figure = tfds.show_examples(builder.as_dataset(split="train"), builder.info, rows=2, cols=3)

    labels = [axes.xaxis.label for axes in figure.axes]
    assert len(labels) == 6
    for label in labels:  # "<class name> (<label>)", as TFDS writes it
        name, number = label.get_text().rsplit(" (", 1)
        assert name == names[int(number.rstrip(")"))]
    assert any(_is_hangul(c) for label in labels for c in label.get_text())
    assert _glyph_warnings(figure) == []
    for label in labels:
        font = viz.font_chain(label)[0]
        assert font.endswith(f"{viz.FONT_FAMILY}.ttf"), font
        cmap = TTFont(font).getBestCmap()
        assert [c for c in label.get_text() if ord(c) not in cmap and not c.isspace()] == []
    assert viz.missing_glyphs(figure) == {}


def test_without_the_hangul_font_the_same_names_would_be_tofu(data_dir):
    """The check above can fail: matplotlib's default font has no Hangul."""
    names = _builder(landmark.Builder, data_dir).info.features["label"].names
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        figure = Figure()
        for row, name in enumerate(names):
            figure.text(0.05, 0.1 + row * 0.12, f"{name} (default font)")
        missing = viz.missing_glyphs(figure)
        assert _glyph_warnings(figure)
    assert set("".join(missing.values())) == {c for n in names for c in n if _is_hangul(c)}


def test_importing_viz_keeps_fallbacks_and_is_idempotent():
    from matplotlib import font_manager  # pylint: disable=g-import-not-at-top

    nanum = lambda: [f.fname for f in font_manager.fontManager.ttflist if f.name == viz.FONT_FAMILY]
    before, registered = list(matplotlib.rcParams["font.family"]), nanum()
    viz.use_hangul_font()
    assert matplotlib.rcParams["font.family"] == before and nanum() == registered
    assert len(registered) == len(viz.hangul_font_files())
    assert before[0] == viz.FONT_FAMILY and len(before) > 1  # DejaVu Sans (via sans-serif) behind it, e.g. for "−"


@pytest.mark.parametrize("absent", ["matplotlib", "pandas", "koreanize_matplotlib"])
def test_viz_without_the_extra_says_what_to_install(absent, monkeypatch):
    monkeypatch.setitem(sys.modules, absent, None)  # what `import absent` sees when it is not installed
    monkeypatch.delitem(sys.modules, "clean_images.viz")
    with pytest.raises(ImportError, match=r"pip install -e '\.\[viz\]'"):
        importlib.import_module("clean_images.viz")


def test_as_dataframe_on_the_pet_sample(data_dir):
    builder = _builder(pet.Builder, data_dir)
    frame = tfds.as_dataframe(builder.as_dataset(split="train").take(5), builder.info)
    assert list(frame.columns) == sorted(builder.info.features.keys())
    assert len(frame) == 5
    folders = [name.decode().split("/")[1] for name in frame["image/filename"]]
    assert [builder.info.features["label"].int2str(label) for label in frame["label"]] == [f.lower() for f in folders]
    html = frame._repr_html_()  # what a notebook shows: thumbnails and "0 (cat)"
    assert html.count("<img src=\"data:image/png;base64,") == 5
    assert "(cat)" in html or "(dog)" in html


def test_wrap_label_counts_hangul_double_and_keeps_every_word():
    name = "광주 남구 청소년 수련관(문화정보 도서관, 문화원, 남구 생활문화센터 포함) (0)"
    wrapped = make_figures.wrap_label(name, 26)
    assert wrapped.replace("\n", " ") == name
    assert all(make_figures.display_width(line) <= 26 for line in wrapped.split("\n"))
    assert make_figures.display_width("KT&G 상상마당") == 4 + 1 + 8


@pytest.mark.parametrize("name", list(make_figures.GRIDS))
def test_sample_grids_are_written_titled_as_stand_ins(name, data_dir, tmp_path):
    figure = make_figures.GRIDS[name](data_dir)
    assert "stand-in photos" in figure.get_suptitle().lower()
    path = make_figures.save_png(figure, tmp_path / "figures" / name)
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert path.stat().st_size < make_figures.MAX_PNG_BYTES
    with Image.open(path) as image:
        assert image.width >= 600 and image.height >= 300


def test_landmark_grid_shows_every_class_by_its_korean_name(data_dir):
    figure = make_figures.landmark_examples_figure(data_dir)
    labels = [axes.get_xlabel().replace("\n", " ") for axes in figure.axes]  # wrapped at spaces
    names = _builder(landmark.Builder, data_dir).info.features["label"].names
    assert {label.rsplit(" (", 1)[0] for label in labels} == set(names)
    assert viz.missing_glyphs(figure) == {}


def test_class_size_chart_from_dacon_tables(tmp_path):
    """Synthetic Korean names stand in for the real CSVs here (those are not in the repository)."""
    metadata = DaconMetadata.synthetic(num_classes=40, per_class=(3, 9), num_test=5, seed=1)
    tables = dacon.Tables(metadata.categories, dict(metadata.train), metadata.test)
    figure = make_figures.class_sizes_figure(tables, named=5)
    assert f"{len(metadata.train):,} labelled train images in 40 classes" in figure.get_suptitle()
    named = [label.get_text() for label in figure.axes[1].get_yticklabels()]
    assert len(named) == 10 and all(any(_is_hangul(c) for c in name) for name in named)
    assert make_figures.save_png(figure, tmp_path / "sizes.png").stat().st_size < make_figures.MAX_PNG_BYTES


def test_build_report_chart_from_a_real_report(data_dir, tmp_path):
    report = _builder(pet.Builder, data_dir).info.metadata[report_lib.METADATA_KEY]["train"]
    figure = make_figures.build_report_figure(report, images=report["image_files"], exif_only=2)
    reasons = [label.get_text() for label in figure.axes[1].get_yticklabels()]
    expected = [f"{o}: {textwrap.shorten(r, 58)}" for o in make_figures.OUTCOME_COLORS for r in report["reasons"].get(o, {})]
    assert sorted(reasons) == sorted(expected) and len(reasons) >= 8  # the sample plants every fault kind
    assert make_figures.save_png(figure, tmp_path / "report.png").stat().st_size < make_figures.MAX_PNG_BYTES


def test_a_figure_drawn_past_its_edges_is_refused(tmp_path):
    figure = Figure(figsize=(4, 3))
    figure.suptitle("a title far too long for a figure four inches wide, " * 3)
    with pytest.raises(RuntimeError, match="past the figure's edge"):
        make_figures.save_png(figure, tmp_path / "cut.png")


def test_a_figure_with_tofu_is_refused(tmp_path):
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        figure = Figure()
        figure.text(0.1, 0.5, "남산 서울타워")
        with pytest.raises(RuntimeError, match="no font has these characters"):
            make_figures.save_png(figure, tmp_path / "tofu.png")
    assert not (tmp_path / "tofu.png").exists()


def test_building_needs_no_viz_extra(tmp_path):
    """The builders never import clean_images.viz: a build works with matplotlib absent."""
    code = (
        "import sys; sys.modules.update(matplotlib=None, koreanize_matplotlib=None)\n"
        "from landmark_images import landmark_images_dataset_builder as landmark\n"
        f"builder = landmark.Builder(config='sample', data_dir={str(tmp_path)!r})\n"
        "builder.download_and_prepare()\n"
        "assert builder.info.splits['train'].num_examples > 0\n"
        "assert 'clean_images.viz' not in sys.modules\n"
    )
    run_ok([sys.executable, "-c", code])
