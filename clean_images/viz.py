"""Korean-capable plots for `tfds.show_examples` and `tfds.as_dataframe` (the `viz` extra).

    pip install -e '.[viz]'   (from the repository)

    from clean_images import viz  # noqa: F401  (registers a Hangul font with matplotlib)
    ds, info = tfds.load("landmark_images/sample", split="train", with_info=True)
    tfds.show_examples(ds, info)  # landmark names in Hangul, not tofu boxes

Importing the module is all it takes: TFDS's own functions stay the API, this only gives
matplotlib a font with Hangul glyphs (NanumGothic, shipped by the `koreanize-matplotlib`
wheel; no system font needed). The builders never import it: building needs no matplotlib.
"""

from __future__ import annotations

import functools
import importlib.util
import pathlib

_INSTALL_HINT = "pip install -e '.[viz]' (from the repository: the package is not on PyPI)"


def _require(module: str) -> None:
    """Fails at import with the extra to install, not later with TFDS's misleading hint
    (`pip install matplotlib.pyplot`) or silently with tofu boxes for every Hangul label."""
    if importlib.util.find_spec(module) is None:
        raise ImportError(f"clean_images.viz needs {module}, from the viz extra: {_INSTALL_HINT}")


for _module in ("matplotlib", "pandas", "koreanize_matplotlib"):  # pandas: for tfds.as_dataframe
    _require(_module)

import matplotlib  # noqa: E402  # after the checks above, so a missing extra names its cure
from fontTools.ttLib import TTFont  # noqa: E402  # a matplotlib dependency
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

FONT_FAMILY = "NanumGothic"  # covers every character of the 1,049 Dacon class names


def hangul_font_files() -> list[pathlib.Path]:
    """The NanumGothic TTFs inside the koreanize-matplotlib wheel.

    Found without importing that package: its import pulls in `distutils` (deprecated, and
    gone from Python 3.12) and sets a font family without any fallback."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    folders = spec.submodule_search_locations if spec else None
    if not folders:
        raise ImportError(f"koreanize_matplotlib is not an installed package: {_INSTALL_HINT}")
    files = sorted(pathlib.Path(folders[0], "fonts").glob(f"{FONT_FAMILY}*.ttf"))
    if not files:
        raise ImportError(f"koreanize_matplotlib ships no {FONT_FAMILY} font here: {_INSTALL_HINT}")
    return files


def use_hangul_font() -> None:
    """Puts NanumGothic first in matplotlib's font list (idempotent).

    The families already set stay behind it as fallbacks, so a glyph NanumGothic lacks
    (such as the minus sign U+2212 of negative tick labels) still comes from DejaVu Sans."""
    registered = {entry.fname for entry in font_manager.fontManager.ttflist}
    for path in hangul_font_files():
        if str(path) not in registered:
            font_manager.fontManager.addfont(str(path))
    families = [f for f in matplotlib.rcParams["font.family"] if f != FONT_FAMILY]
    matplotlib.rcParams["font.family"] = [FONT_FAMILY, *families]


def font_chain(text: Text) -> list[str]:
    """The font files matplotlib draws `text` with, in fallback order (one per family found)."""
    paths = []
    for family in text.get_fontproperties().get_family():
        properties = text.get_fontproperties().copy()
        properties.set_family(family)
        try:
            path = font_manager.findfont(properties, fallback_to_default=False)
        except ValueError:  # a family no installed font provides
            continue
        if str(path) not in paths:
            paths.append(str(path))
    return paths


@functools.cache
def _code_points(font_path: str) -> frozenset[int]:
    return frozenset(TTFont(font_path, fontNumber=0, lazy=True).getBestCmap())


def missing_glyphs(figure: Figure) -> dict[str, str]:
    """{text: its characters no font of its chain has}: what would be drawn as tofu boxes.

    Read from the fonts' character maps, because matplotlib warns about a missing glyph only
    the first time it lays out a given text, so a quiet redraw proves nothing."""
    missing = {}
    for text in figure.findobj(Text):
        content = text.get_text()
        covered = frozenset().union(*(_code_points(path) for path in font_chain(text)))
        absent = "".join(sorted({c for c in content if not c.isspace() and ord(c) not in covered}))
        if absent:
            missing[content] = absent
    return missing


use_hangul_font()
