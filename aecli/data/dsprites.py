"""dSprites (Matthey et al. 2017, github.com/deepmind/dsprites-dataset), generated offline.

The official file holds one 64x64 binary image for every point of a grid of 6 factors,
737,280 images, in C order over (color, shape, scale, orientation, posX, posY), posY
varying fastest:

    color        1 value   (white; constant, dropped here)
    shape        3 values  square, ellipse, heart (latents_values 1, 2, 3)
    scale        6 values  linspace(0.5, 1, 6)
    orientation 40 values  linspace(0, 2 pi, 40): the official file's README says [0, 2 pi]
                           and its values are 2 pi / 39 apart, so 0 and 2 pi are the same pose
    posX, posY  32 values  linspace(0, 1, 32) each

This module renders the same grid itself (`render`, vectorised, any resolution) so a run
needs no download, and reads the official file when it is there (`read_official`). Factor
classes here are the official latents_classes without the colour column: (shape, scale,
orientation, posX, posY). The drawing has the official geometry, measured on the images the
dataset's repository publishes (docs/disentanglement.md, "The generator's geometry"): the
sizes, outlines and centres below, rotation anticlockwise on screen, posX moving the sprite
right and posY down. Each pixel is set when its centre falls inside the shape, which reproduces
the official square pixel for pixel; the ellipse and the heart differ from the official
rasterisation by a few edge pixels.
"""

import math
import os

import numpy as np

from aecli.errors import DataError

FACTOR_NAMES = ("shape", "scale", "orientation", "posX", "posY")
SHAPE_NAMES = ("square", "ellipse", "heart")
FACTOR_SIZES = (3, 6, 40, 32, 32)
FACTOR_VALUES = (
    np.array([1.0, 2.0, 3.0]),
    np.linspace(0.5, 1.0, 6),
    np.linspace(0.0, 2.0 * math.pi, 40),
    np.linspace(0.0, 1.0, 32),
    np.linspace(0.0, 1.0, 32),
)
NUM_IMAGES = math.prod(FACTOR_SIZES)  # 737,280
OFFICIAL_FILE = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"

# The official geometry in units of the image side, as lengths in pixels of the 64x64 image at
# scale 1 (a sprite of scale s is s times as large), measured on deepmind/dsprites-dataset's
# dsprites.gif, whose frames traverse each factor, and dsprites_reloading_example.ipynb's images:
_PX = 1 / 64
# posX = 0 centres the sprite at x = 16 px, posX = 1 at 48 px (posY alike, downwards): frames
# 58-121 of the gif and the nine posX = 0 images of the notebook's cell 9
CENTRE_LOW, CENTRE_SPAN = 16 * _PX, 32 * _PX
# a square of side 19.2 px: the gif's squares (frames 256-319) pixel for pixel
SQUARE_HALF = 9.6 * _PX
# the ellipse's semi-axes, the long one along x at orientation 0 (frames 192-255): axis ratio 1.76
ELLIPSE_AXES = (12.75 * _PX, 7.25 * _PX)
# the heart, point down at orientation 0 (frames 0-191): two round lobes, their centres at
# (+-4.78, 4.31) px from the sprite's centre (y up) with radius 4.85 px, over a point 8.41 px
# below the centre whose sides run at 45 degrees; fitted to the gif's 192 hearts
HEART_LOBE_X, HEART_LOBE_Y, HEART_LOBE_RADIUS = 4.78 * _PX, 4.31 * _PX, 4.85 * _PX
HEART_POINT = 8.41 * _PX
# the farthest any sprite reaches from its centre: the corner of the scale-1 square
EXTENT = SQUARE_HALF * math.sqrt(2)


def sample_factor_classes(n, rng):
    """(n, 5) int64 factor classes drawn uniformly over the grid (each factor independently
    uniform, as disentanglement_lib samples dSprites); n="all" or None gives the whole grid in
    the official file's order, row i being image i."""
    if n is None or n == "all":
        return np.indices(FACTOR_SIZES).reshape(len(FACTOR_SIZES), -1).T.astype(np.int64)
    return np.stack([rng.integers(0, size, int(n)) for size in FACTOR_SIZES], axis=1)


def factor_values(classes):
    """(n, 5) float32 latents_values of (n, 5) factor classes (shape as 1, 2, 3, as the file)."""
    classes = np.asarray(classes)
    return np.stack(
        [values[classes[:, j]] for j, values in enumerate(FACTOR_VALUES)], axis=1
    ).astype(np.float32)


def official_index(classes):
    """Row of each (n, 5) factor-class vector in the official file (colour class 0)."""
    bases = np.cumprod((1,) + FACTOR_SIZES[:0:-1])[::-1]
    return np.asarray(classes, dtype=np.int64) @ bases


def _inside(shape, u, v):
    """Boolean mask of points (u, v) of the sprite's frame at scale 1, in image units with v
    pointing up, inside shape 0 (square), 1 (ellipse, long axis along u) or 2 (heart, point
    down)."""
    if shape == 0:
        return np.maximum(np.abs(u), np.abs(v)) <= SQUARE_HALF
    if shape == 1:
        long, short = ELLIPSE_AXES
        return (u / long) ** 2 + (v / short) ** 2 <= 1.0
    side = np.abs(u)  # the heart is symmetric about its vertical axis
    lobe = (side - HEART_LOBE_X) ** 2 + (v - HEART_LOBE_Y) ** 2 <= HEART_LOBE_RADIUS**2
    # below the lobes' centres: between the point's two sides, and inside the lines through
    # the lobes' centres square to those sides (so the lobes' round edge meets the straight one)
    body = (
        (side - v <= HEART_POINT) & (side + v <= HEART_LOBE_X + HEART_LOBE_Y) & (v <= HEART_LOBE_Y)
    )
    return lobe | body


def _render_chunk(classes, resolution):
    n = len(classes)
    shape, scale, angle = (
        classes[:, 0],
        FACTOR_VALUES[1][classes[:, 1]],
        FACTOR_VALUES[2][classes[:, 2]],
    )
    centre_x = CENTRE_LOW + CENTRE_SPAN * FACTOR_VALUES[3][classes[:, 3]]
    centre_y = CENTRE_LOW + CENTRE_SPAN * FACTOR_VALUES[4][classes[:, 4]]
    # only a window of side `window` pixels around each sprite is tested: no sprite reaches
    # further than EXTENT from its centre, so the window holds it all
    window = min(resolution, math.ceil(2 * EXTENT * resolution) + 3)
    top = np.clip(
        np.floor(centre_y * resolution - window / 2).astype(np.int64), 0, resolution - window
    )
    left = np.clip(
        np.floor(centre_x * resolution - window / 2).astype(np.int64), 0, resolution - window
    )
    steps = np.arange(window)
    # pixel centres in image units; dy flipped so that v points up and rotation is anticlockwise
    dx = ((left[:, None] + steps + 0.5) / resolution - centre_x[:, None])[:, None, :]
    dy = -((top[:, None] + steps + 0.5) / resolution - centre_y[:, None])[:, :, None]
    scale = scale[:, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    # rotate the pixel by -angle into the sprite's frame at scale 1: the sprite turns by +angle
    u = ((cos * dx + sin * dy) / scale).astype(np.float32)
    v = ((cos * dy - sin * dx) / scale).astype(np.float32)
    mask = np.zeros((n, window, window), dtype=np.uint8)
    for s in range(3):  # each shape's test on its own sprites only
        pick = shape == s
        if pick.any():
            mask[pick] = _inside(s, u[pick], v[pick])
    images = np.zeros((n, resolution, resolution), dtype=np.uint8)
    rows = (top[:, None] + steps)[:, :, None]
    cols = (left[:, None] + steps)[:, None, :]
    images[np.arange(n)[:, None, None], rows, cols] = mask
    return images


def render(classes, resolution=64, chunk=8192):
    """(n, resolution, resolution) uint8 binary images (0 or 1, as the official imgs) of (n, 5)
    factor classes, rendered directly at `resolution`, `chunk` images at a time."""
    classes = np.asarray(classes, dtype=np.int64).reshape(-1, len(FACTOR_SIZES))
    if np.any(classes < 0) or np.any(classes >= np.array(FACTOR_SIZES)):
        raise ValueError(f"factor classes must lie in [0, {FACTOR_SIZES}) per column")
    out = np.empty((len(classes), resolution, resolution), dtype=np.uint8)
    for start in range(0, len(classes), chunk):
        out[start : start + chunk] = _render_chunk(classes[start : start + chunk], resolution)
    return out


def generate(size, seed, resolution=64):
    """(images uint8 (n, res, res, 1), factor_classes (n, 5) int64, factor_values (n, 5) float32)
    of `size` points drawn uniformly over the grid with the seed (size="all": the whole grid in
    official order)."""
    classes = sample_factor_classes(size, np.random.default_rng([seed, 1705]))
    return render(classes, resolution)[..., None], classes, factor_values(classes)


def _official_error(path, problem):
    return DataError(
        f"{path} is not a usable dSprites file: {problem}. The official "
        f"{OFFICIAL_FILE} (github.com/deepmind/dsprites-dataset) holds `imgs` "
        f"({NUM_IMAGES}, 64, 64) uint8, `latents_values` ({NUM_IMAGES}, 6) and `latents_classes` "
        f"({NUM_IMAGES}, 6); download it again, or use the generated dSprites, which needs no "
        "file."
    )


def read_official(path):
    """(images uint8 (N, 64, 64), factor_classes (N, 5) int64, factor_values (N, 5) float32) from
    the official npz, colour column dropped, loaded with allow_pickle=False (its `metadata`
    entry is a pickled dict and is not read). DataError naming the file if it is missing, is
    not an npz, or lacks an array or has one of the wrong shape."""
    if not os.path.isfile(path):
        raise _official_error(path, "no such file")
    expected = ("imgs", "latents_values", "latents_classes")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [name for name in expected if name not in data.files]
            if missing:
                raise _official_error(
                    path,
                    f"it has no {', '.join(missing)} array "
                    f"(it has {', '.join(data.files) or 'none'})",
                )
            images, values, classes = (data[name] for name in expected)
    except (OSError, ValueError, EOFError) as error:  # not an npz, truncated, or pickled arrays
        raise _official_error(
            path, f"it cannot be read as an npz archive of plain arrays ({error})"
        ) from error
    n = len(images)
    shapes_ok = images.ndim == 3 and images.shape[1:] == (64, 64)
    if not shapes_ok or values.shape != (n, 6) or classes.shape != (n, 6):
        raise _official_error(
            path,
            f"its arrays have shapes imgs {images.shape}, latents_values "
            f"{values.shape}, latents_classes {classes.shape}",
        )
    return (
        images.astype(np.uint8, copy=False),
        classes[:, 1:].astype(np.int64),
        values[:, 1:].astype(np.float32),
    )


def subsample(size, seed, n_total=NUM_IMAGES):
    """Sorted row indices of `size` points drawn uniformly without replacement from `n_total`
    (the official file's rows, or any array of them): a configured size draws from the official
    file the same distribution `generate` samples ("all" or None: every row)."""
    if size is None or size == "all" or int(size) >= n_total:
        return np.arange(n_total)
    rng = np.random.default_rng([seed, 1705])
    return np.sort(rng.choice(n_total, size=int(size), replace=False))


def read_official_subset(path, size, seed):
    """`read_official` restricted to `subsample(size, seed)` of its rows."""
    images, classes, values = read_official(path)
    rows = subsample(size, seed, len(images))
    return images[rows], classes[rows], values[rows]
