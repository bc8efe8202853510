"""Datasets as NumPy splits, from real files in their original formats or generated from the
seed."""

from aecli.data.arrays import Arrays, Split, load_arrays
from aecli.data.registry import DATASETS

__all__ = ["DATASETS", "Arrays", "Split", "load_arrays"]
