"""Test and benchmark inputs: the fault kinds of real archives (`faults`) and realistic
replica archives (`replica`, needs the `samples` extra: scikit-image, scikit-learn).

Like `tfds.testing`, nothing in the builders imports this package.
"""
