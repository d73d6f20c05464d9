"""Test and benchmark inputs: the fault kinds of real archives (`faults`) and realistic
replica archives (`replica`, needs the `samples` extra: scikit-image, scikit-learn).

Test-only: the wheel leaves it out, and nothing in the builders imports it.
"""
