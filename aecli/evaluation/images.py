"""Image grids for TensorBoard: rows of equally sized images tiled into one picture."""

import numpy as np


def image_grid(rows) -> np.ndarray:
    """Stack each row of images (n, h, w, c) side by side, rows top to bottom; returns (1, H, W,
    c) in [0, 1]."""
    tiled = [np.concatenate(list(np.clip(row, 0.0, 1.0)), axis=1) for row in rows]
    return np.concatenate(tiled, axis=0)[None].astype(np.float32)


def rows_of(images: np.ndarray, per_row: int) -> list[np.ndarray]:
    """Images in rows of `per_row` (one row when they do not divide evenly)."""
    if len(images) % per_row or len(images) == 0:
        return [images]
    return np.split(images, len(images) // per_row)
