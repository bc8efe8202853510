"""Data generated in-process from the seed, so any model can run with no files.

- circle: the chapter's 4-D noisy circle (section 10.1), min-max scaled to [0, 1] with the
  training split's statistics; label = which eighth of the circle t falls in.
- binary: the chapter's 20-D binary vectors (section 10.2). Fair coin flips hold no structure
  to learn, so each vector is one of 8 random prototypes with 10% of its bits flipped;
  label = the prototype.
- shapes: 28x28x1 images of a filled square, a disc, a horizontal bar, a vertical bar, a
  plus and a triangle at random positions and sizes; label = the shape.
  `generate_shapes_with_factors` also returns each image's generating factors (shape, size,
  row, column), for the disentanglement metrics.

`size` examples in all: the first 80% train, the rest test.
"""

import numpy as np


def _circle(rng, n):
    t = rng.uniform(0, 2 * np.pi, n)
    x = np.column_stack([np.cos(t), np.sin(t), 0.5 * np.cos(2 * t), 0.5 * np.sin(2 * t)])
    return x + rng.normal(0, 0.1, x.shape), (t // (np.pi / 4)).astype(np.int64)


def _binary(rng, n, dims=20, prototypes=8, flip=0.1):
    centres = rng.random((prototypes, dims)) > 0.5
    labels = rng.integers(0, prototypes, n)
    flips = rng.random((n, dims)) < flip
    return (centres[labels] ^ flips).astype(np.float64), labels.astype(np.int64)


# Each shape's pixels from (dr, dc), a pixel's offset from the centre of the shape's box of `size`
# pixels a side, half = (size - 1) / 2, and box, the pixels inside that box.
_SHAPES = (
    lambda dr, dc, half, box: box,  # square
    lambda dr, dc, half, box: dr**2 + dc**2 <= (half + 0.5) ** 2,  # disc
    lambda dr, dc, half, box: box & (np.abs(dr) <= 1.5),  # horizontal bar
    lambda dr, dc, half, box: box & (np.abs(dc) <= 1.5),  # vertical bar
    lambda dr, dc, half, box: box & ((np.abs(dr) <= 1) | (np.abs(dc) <= 1)),  # plus
    lambda dr, dc, half, box: box & (dc <= dr),  # triangle
)


# factors of kind=shapes, with their number of values: shape, box size (6..12 pixels, as size
# - 6), box top row and left column (0..15 each, for 28x28 images)
SHAPES_FACTOR_NAMES = ("shape", "size", "row", "column")
SHAPES_FACTOR_SIZES = (len(_SHAPES), 7, 16, 16)


def _shapes_and_factors(rng, n, side=28):
    """(images (n, side, side, 1), labels (n,), factors (n, 4) int64): the factors are shape,
    size - 6, top row and left column of the shape's box."""
    labels = rng.integers(0, len(_SHAPES), n)
    size = rng.integers(6, 13, n)
    top = rng.integers(0, side - 12, n)
    left = rng.integers(0, side - 12, n)
    half = ((size - 1) / 2).astype(np.float32)[:, None, None]
    grid = np.arange(side, dtype=np.float32)
    dr = grid[None, :, None] - (top[:, None, None] + half)  # (n, side, 1)
    dc = grid[None, None, :] - (left[:, None, None] + half)  # (n, 1, side)
    images = np.zeros((n, side, side), np.float32)
    for label, shape in enumerate(_SHAPES):  # vectorised over the examples of each shape
        pick = labels == label
        box = (np.abs(dr[pick]) <= half[pick]) & (np.abs(dc[pick]) <= half[pick])
        images[pick] = shape(dr[pick], dc[pick], half[pick], box)
    factors = np.stack([labels, size - 6, top, left], axis=1).astype(np.int64)
    return images[..., None], labels.astype(np.int64), factors


def _shapes(rng, n, side=28):
    images, labels, _ = _shapes_and_factors(rng, n, side)
    return images, labels


_GENERATORS = {"circle": _circle, "binary": _binary, "shapes": _shapes}


def generate(kind: str, size: int, seed: int):
    """(x_train, y_train, x_test, y_test) as float32 in [0, 1]; `size` examples in all, 80%
    train."""
    rng = np.random.default_rng([seed, 2024])
    x, y = _GENERATORS[kind](rng, size)
    n_train = int(size * 0.8)
    x_train, x_test = x[:n_train], x[n_train:]
    if kind == "circle":
        low, high = x_train.min(axis=0), x_train.max(axis=0)
        x_train = (x_train - low) / (high - low)
        x_test = np.clip((x_test - low) / (high - low), 0.0, 1.0)
    return (x_train.astype(np.float32), y[:n_train], x_test.astype(np.float32), y[n_train:])


def generate_shapes_with_factors(size: int, seed: int):
    """`generate("shapes", size, seed)` (the same images and labels for the same seed) plus the
    factor classes of each example: (x_train, y_train, x_test, y_test, factors_train,
    factors_test), factors (n, 4) int64 = (shape, size - 6, top row, left column) with
    SHAPES_FACTOR_SIZES values each."""
    rng = np.random.default_rng([seed, 2024])
    x, y, factors = _shapes_and_factors(rng, size)
    n_train = int(size * 0.8)
    return (
        x[:n_train],
        y[:n_train],
        x[n_train:],
        y[n_train:],
        factors[:n_train],
        factors[n_train:],
    )
