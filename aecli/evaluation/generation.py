"""What a trained model makes: prior samples, interpolations, latent traversals, the 2-D manifold,
the latent scatter, and TensorBoard's embedding projector. Each image is a grid in [0, 1]."""

from pathlib import Path

import numpy as np
import tensorflow as tf

from aecli.evaluation.images import image_grid, rows_of


def decode(model, z) -> np.ndarray:
    return np.asarray(model.decoded_mean(model.decoder(tf.constant(z, tf.float32))))


def interpolation(model, x_a, x_b, steps=10) -> np.ndarray:
    """Decoded z = (1 - a) z_a + a z_b for a in [0, 1], z_* the codes of two inputs (the chapter's
    interpolate_digits); the first and last images are the two reconstructions."""
    z_a, z_b = np.asarray(model.encode_mean(x_a[None])), np.asarray(model.encode_mean(x_b[None]))
    alphas = np.linspace(0.0, 1.0, steps)[:, None]
    return decode(model, (1 - alphas) * z_a + alphas * z_b)


def traversal(model, x, steps=9, span=3.0) -> list[np.ndarray]:
    """One row per latent dimension: the code of `x` with that dimension swept over [-span, span]."""
    z = np.asarray(model.encode_mean(x[None]))[0]
    rows = []
    for dim in range(len(z)):
        codes = np.repeat(z[None], steps, axis=0)
        codes[:, dim] = np.linspace(-span, span, steps)
        rows.append(decode(model, codes))
    return rows


def manifold(model, steps=15, span=3.0) -> list[np.ndarray]:
    """The chapter's latent space explorer: decoded grid over [-span, span]^2, z2 decreasing downwards."""
    values = np.linspace(-span, span, steps)
    return [decode(model, np.stack([values, np.full(steps, z2)], axis=1)) for z2 in values[::-1]]


def write_png(path: Path, grid: np.ndarray) -> None:
    """A (1, H, W, C) grid in [0, 1] as an 8-bit PNG."""
    pixels = tf.cast(tf.round(tf.clip_by_value(grid[0], 0.0, 1.0) * 255), tf.uint8)
    tf.io.write_file(str(path), tf.io.encode_png(pixels))


def latent_scatter(path: Path, means: np.ndarray, labels: np.ndarray) -> None:
    """Test latent means coloured by label (2-D codes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 6))
    points = axis.scatter(means[:, 0], means[:, 1], c=labels, cmap="tab10", s=3, alpha=0.6)
    figure.colorbar(points, label="label")
    axis.set_xlabel("z1")
    axis.set_ylabel("z2")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def projector(log_dir: Path, codes: np.ndarray, labels: np.ndarray, images: np.ndarray | None) -> None:
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
        padded = np.concatenate([images, np.zeros((side * side - len(images), *images.shape[1:]), images.dtype)])
        write_png(log_dir / "sprite.png", image_grid(np.split(padded, side)))
        entry.sprite.image_path = "sprite.png"
        entry.sprite.single_image_dim.extend(list(images.shape[1:3]))
    tb_projector.visualize_embeddings(str(log_dir), config)


def sample_all(run, out_dir: Path, count: int = 64) -> dict[str, Path]:
    """Every picture the model supports, as PNGs in `out_dir` and images in its TensorBoard folder."""
    model, test = run.model, run.arrays.test
    if len(test.x.shape) != 4:
        raise ValueError("images only")
    out_dir.mkdir(parents=True, exist_ok=True)
    grids = {}
    for name, images in model.generated_images(count).items():
        grids[name] = image_grid(rows_of(images, max(1, len(images) // 8)))  # eight rows
    first = 0
    second = next((i for i in range(1, len(test.y)) if test.y[i] != test.y[first]), 1)
    grids["interpolation"] = image_grid([interpolation(model, test.x[first], test.x[second])])
    code_shape = model.code_shape
    if len(code_shape) == 1:
        grids["traversal"] = image_grid(traversal(model, test.x[first]))
        if code_shape[-1] == 2:
            grids["manifold"] = image_grid(manifold(model))
    written = {}
    writer = tf.summary.create_file_writer(str(run.folder.tensorboard_run("samples")))
    with writer.as_default():
        for name, grid in grids.items():
            write_png(out_dir / f"{name}.png", grid)
            tf.summary.image(name, grid, step=0)
            written[name] = out_dir / f"{name}.png"
    writer.flush()
    codes = np.concatenate([np.asarray(model.encode_mean(test.x[i:i + 512])) for i in range(0, len(test.x), 512)])
    if codes.ndim == 2 and codes.shape[1] == 2:
        latent_scatter(out_dir / "latent_scatter.png", codes, test.y)
        written["latent_scatter"] = out_dir / "latent_scatter.png"
    projector(run.folder.tensorboard_run("projector"), codes[:2000], test.y[:2000], test.x[:2000])
    return written
