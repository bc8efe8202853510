"""Datasets as NumPy splits, from real files in their original formats or generated from the
seed."""

from aecli.data.arrays import Arrays, Split, load_arrays

__all__ = ["Arrays", "Split", "load_arrays"]
