"""Shim for tools that still want a setup.py, e.g. Beam's `--setup_file` (Dataflow staging).

All metadata lives in setup.cfg.
"""

import setuptools

setuptools.setup()
