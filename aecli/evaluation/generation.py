"""What a trained model makes: prior samples, interpolations, latent traversals, the 2-D manifold,
the latent scatter, and TensorBoard's embedding projector. Each image is a grid in [0, 1]."""

from pathlib import Path

import numpy as np
import tensorflow as tf

from aecli.evaluation.images import image_grid, rows_of

# a dimension whose KL (nats) or code variance is below this carries nearly nothing about the
# input: its traversal row would repeat one image (the active-unit threshold of Burda et al.)
INFORMATIVE_FLOOR = 0.01


def decode(model, z) -> np.ndarray:
    return np.asarray(model.decoded_mean(model.decoder(tf.constant(z, tf.float32))))


def interpolation(model, x_a, x_b, steps=10) -> np.ndarray:
    """Decoded z = (1 - a) z_a + a z_b for a in [0, 1], z_* the codes of two inputs (the chapter's
    interpolate_digits); the first and last images are the two reconstructions. The figure puts
    the two inputs themselves at its ends (`with_ends`)."""
    z_a, z_b = np.asarray(model.encode_mean(x_a[None])), np.asarray(model.encode_mean(x_b[None]))
    alphas = np.linspace(0.0, 1.0, steps)[:, None]
    return decode(model, (1 - alphas) * z_a + alphas * z_b)


def traversal(model, x, steps=9, span=3.0, order=None) -> list[np.ndarray]:
    """One row per latent dimension (in `order`, default 0, 1, ...): the code of `x` with that
    dimension swept over [-span, span]."""
    z = np.asarray(model.encode_mean(x[None]))[0]
    rows = []
    for dim in range(len(z)) if order is None else order:
        codes = np.repeat(z[None], steps, axis=0)
        codes[:, dim] = np.linspace(-span, span, steps)
        rows.append(decode(model, codes))
    return rows


def labelled_traversal(
    path: Path, rows: list[np.ndarray], dims, importance, values, what: str, left_out: int = 0
) -> None:
    """The traversal as a figure: a row per dimension, labelled with its index and importance (KL
    in nats for a VAE), a column per swept value, labelled with it; the title says how many
    dimensions carried too little to be shown."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height, width = rows[0].shape[1:3]
    figure, axes = plt.subplots(
        len(rows),
        len(values),
        squeeze=False,
        figsize=(0.9 * len(values) + 1.6, 0.9 * len(rows) * height / width + 0.8),
    )
    for r, (row, dim) in enumerate(zip(rows, dims, strict=True)):
        for c, image in enumerate(row):
            axis = axes[r][c]
            axis.imshow(
                np.clip(image.squeeze(), 0, 1),
                cmap="gray" if image.shape[-1] == 1 else None,
                vmin=0,
                vmax=1,
            )
            axis.set_xticks([])
            axis.set_yticks([])
            if c == 0:
                axis.set_ylabel(
                    f"z{dim}\n{what} {importance[dim]:.2f}",
                    rotation=0,
                    ha="right",
                    va="center",
                    fontsize=8,
                )
            if r == len(rows) - 1:
                axis.set_xlabel(f"{values[c]:+.1f}", fontsize=8)
    skipped = (
        f"; {left_out} dimension{'s' if left_out > 1 else ''} with {what} < "
        f"{INFORMATIVE_FLOOR:g} left out"
        if left_out
        else ""
    )
    figure.suptitle(
        f"latent traversals, most informative first ({what} per dimension{skipped})",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


# the GIF's images are enlarged (nearest neighbour) to at least this many pixels a side, so a
# 28x28 traversal is readable at a glance and its labels fit beneath each panel
GIF_PANEL = 96
_LABEL_HEIGHT = 14


def traversal_gif(
    path: Path, rows: list[np.ndarray], dims, values, seconds_per_frame: float = 0.15
) -> None:
    """An animated GIF: frame t shows every traversed dimension at the t-th swept value, side by
    side, sweeping forth and back; each panel labelled with its dimension, the frame with the
    value."""
    from PIL import Image, ImageDraw

    height, width = rows[0].shape[1:3]
    zoom = max(1, -(-GIF_PANEL // max(height, width)))
    frames = []
    steps = len(rows[0])
    for t in [*range(steps), *range(steps - 2, 0, -1)]:
        strip = np.concatenate([row[t] for row in rows], axis=1)
        pixels = (np.clip(strip, 0, 1) * 255).round().astype(np.uint8)
        pixels = pixels.repeat(zoom, axis=0).repeat(zoom, axis=1)
        image = Image.fromarray(pixels.squeeze(-1) if pixels.shape[-1] == 1 else pixels)
        frame = Image.new(image.mode, (image.width, image.height + 2 * _LABEL_HEIGHT), 0)
        frame.paste(image, (0, _LABEL_HEIGHT))
        draw = ImageDraw.Draw(frame)
        white = 255 if frame.mode == "L" else (255, 255, 255)
        draw.text((2, 1), f"value {values[t]:+.1f}", fill=white)
        for panel, dim in enumerate(dims):
            draw.text(
                (panel * width * zoom + 2, image.height + _LABEL_HEIGHT + 1), f"z{dim}", fill=white
            )
        frames.append(frame)
    frames[0].save(
        path,
        save_all=True,
        append_images=frames[1:],
        loop=0,
        duration=int(1000 * seconds_per_frame),
    )


def with_ends(x_a, x_b, frames: np.ndarray) -> np.ndarray:
    """The interpolation's row with the two inputs it goes between at its ends."""
    return np.concatenate([x_a[None], frames, x_b[None]])


def informative(importance: np.ndarray, floor: float) -> list[int]:
    """The dimensions worth a traversal row, most informative first: those whose importance (KL
    in nats, or code variance) reaches `floor`; the most informative one at least."""
    order = [int(d) for d in np.argsort(-importance)]
    return [d for d in order if importance[d] >= floor] or order[:1]


def manifold(model, steps=15, span=3.0) -> list[np.ndarray]:
    """The chapter's latent space explorer: decoded grid over [-span, span]^2, z0 rightwards,
    z1 decreasing downwards."""
    values = np.linspace(-span, span, steps)
    return [decode(model, np.stack([values, np.full(steps, z2)], axis=1)) for z2 in values[::-1]]


def write_png(path: Path, grid: np.ndarray) -> None:
    """A (1, H, W, C) grid in [0, 1] as an 8-bit PNG."""
    pixels = tf.cast(tf.round(tf.clip_by_value(grid[0], 0.0, 1.0) * 255), tf.uint8)
    tf.io.write_file(str(path), tf.io.encode_png(pixels))


def latent_scatter(
    path: Path, means: np.ndarray, labels: np.ndarray, class_names: list[str] = ()
) -> None:
    """Test latent means coloured by label (2-D codes), with a legend of class names where the
    dataset has them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 6))
    colours = plt.get_cmap("tab10")
    for label in np.unique(labels):
        pick = labels == label
        name = class_names[label] if 0 <= label < len(class_names) else f"label {label}"
        axis.scatter(
            means[pick, 0],
            means[pick, 1],
            color=colours(int(label) % 10),
            s=3,
            alpha=0.6,
            label=name,
        )
    axis.legend(markerscale=4, fontsize=8, loc="best")
    axis.set_title("test codes (posterior means) by label")
    axis.set_xlabel("z0")  # numbered from 0, as the traversals and TensorBoard's kl_per_dim
    axis.set_ylabel("z1")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def projector(
    log_dir: Path, codes: np.ndarray, labels: np.ndarray, images: np.ndarray | None
) -> None:
    """Codes, labels and (for images) a sprite for TensorBoard's embedding projector."""
    from tensorboard.plugins import projector as tb_projector

    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / "metadata.tsv").write_text("".join(f"{label}\n" for label in labels))
    embedding = tf.Variable(codes.reshape(len(codes), -1).astype(np.float32), name="latent_codes")
    tf.train.Checkpoint(embedding=embedding).save(str(log_dir / "embedding.ckpt"))
    config = tb_projector.ProjectorConfig()
    entry = config.embeddings.add()
    entry.tensor_name = "embedding/.ATTRIBUTES/VARIABLE_VALUE"
    entry.metadata_path = "metadata.tsv"
    if images is not None:
        side = int(np.ceil(np.sqrt(len(images))))
        padded = np.concatenate(
            [images, np.zeros((side * side - len(images), *images.shape[1:]), images.dtype)]
        )
        write_png(log_dir / "sprite.png", image_grid(np.split(padded, side)))
        entry.sprite.image_path = "sprite.png"
        entry.sprite.single_image_dim.extend(list(images.shape[1:3]))
    tb_projector.visualize_embeddings(str(log_dir), config)
    # TensorBoard lists a folder as a run only when it holds an event file
    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        tf.summary.text("embedding", f"{len(codes)} codes of {codes.shape[1:]}", step=0)
    writer.close()


def sample_all(run, out_dir: Path, count: int = 64) -> dict[str, Path]:
    """Every picture the model supports, as PNGs in `out_dir` and images in its TensorBoard
    folder."""
    model, test = run.model, run.arrays.test
    if len(test.x.shape) != 4:
        raise ValueError("images only")
    out_dir.mkdir(parents=True, exist_ok=True)
    grids = {}
    for name, images in model.generated_images(count).items():
        grids[name] = image_grid(rows_of(images, max(1, len(images) // 8)))  # eight rows
    first = 0
    second = next((i for i in range(1, len(test.y)) if test.y[i] != test.y[first]), 1)
    x_a, x_b = test.x[first], test.x[second]
    grids["interpolation"] = image_grid([with_ends(x_a, x_b, interpolation(model, x_a, x_b))])
    code_shape = model.code_shape
    written = {}
    if len(code_shape) == 1:
        importance, what = model.latent_importance(test.x)
        order = informative(importance, INFORMATIVE_FLOOR)
        values = np.linspace(-3.0, 3.0, 9)
        rows = traversal(model, test.x[first], order=order)
        grids["traversal"] = image_grid(rows)
        labelled_traversal(
            out_dir / "traversal_labelled.png",
            rows,
            order,
            importance,
            values,
            what,
            left_out=len(importance) - len(order),
        )
        traversal_gif(out_dir / "traversal.gif", rows, order, values)
        written.update(
            traversal_labelled=out_dir / "traversal_labelled.png",
            traversal_gif=out_dir / "traversal.gif",
        )
        if code_shape[-1] == 2:
            grids["manifold"] = image_grid(manifold(model))
    writer = tf.summary.create_file_writer(str(run.folder.tensorboard_run("samples")))
    with writer.as_default():
        for name, grid in grids.items():
            write_png(out_dir / f"{name}.png", grid)
            tf.summary.image(name, grid, step=0)
            written[name] = out_dir / f"{name}.png"
    writer.flush()
    codes = model.encode_means(test.x)
    if codes.ndim == 2 and codes.shape[1] == 2:
        latent_scatter(out_dir / "latent_scatter.png", codes, test.y, run.arrays.class_names)
        written["latent_scatter"] = out_dir / "latent_scatter.png"
    projector(run.folder.tensorboard_run("projector"), codes[:2000], test.y[:2000], test.x[:2000])
    return written
