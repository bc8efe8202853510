"""The memory estimates of aecli/memory.py on constructed cases: headers and shapes read without
loading, the memory a process may still take (cgroup limits included), and the refusal."""

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest

from aecli import memory
from aecli.config.model import Architecture, AutoencoderConfig, VAEConfig
from aecli.errors import ConfigError, DataError

GIB = 2**30

# --- what is available ---------------------------------------------------------------------


def test_mem_available_is_read_in_bytes():
    meminfo = "MemTotal:       32000000 kB\nMemFree:  100 kB\nMemAvailable:   23296092 kB\n"
    assert memory.mem_available(meminfo) == 23296092 * 1024
    assert memory.mem_available("MemTotal: 5 kB\n") is None


@pytest.mark.parametrize(
    "limit, usage, headroom",
    [
        ("2147483648\n", "536870912\n", 1610612736),
        ("max\n", "536870912\n", None),  # v2: no limit
        ("9223372036854771712\n", "2760282112\n", None),  # v1: no limit
        ("1073741824\n", "2000000000\n", 0),  # over its limit already
    ],
    ids=["limited", "v2 max", "v1 unlimited", "over"],
)
def test_cgroup_headroom_is_the_limit_less_the_usage(limit, usage, headroom):
    assert memory.cgroup_headroom(limit, usage) == headroom


def test_the_memory_cgroup_and_every_ancestor_are_found_for_v1_and_v2(tmp_path):
    v1 = "9:name=systemd:/\n4:memory:/slurm/job_7\n3:cpu,cpuacct:/slurm/job_7\n"
    assert memory.memory_cgroup_dirs(v1, tmp_path) == [
        tmp_path / "memory" / "slurm" / "job_7",
        tmp_path / "memory" / "slurm",
        tmp_path / "memory",
    ]
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    assert memory.memory_cgroup_dirs("0::/user.slice/run.scope\n", tmp_path) == [
        tmp_path / "user.slice" / "run.scope",
        tmp_path / "user.slice",
        tmp_path,
    ]


def test_the_machine_reports_some_available_memory():
    available = memory.available_bytes()
    assert available is None or 0 <= available


@pytest.mark.parametrize(
    "needed, available, refused",
    [(3 * GIB, 2 * GIB, True), (GIB, 2 * GIB, False), (2 * GIB, 2 * GIB, False)],
)
def test_a_need_over_what_is_available_is_refused_naming_both(needed, available, refused):
    if not refused:
        memory.refuse_if_over(needed, "the thing", "Do less.", available=available)
        return
    with pytest.raises(DataError) as error:
        memory.refuse_if_over(needed, "the thing", "Do less.", available=available)
    assert str(error.value).startswith(
        "the thing needs about 3.0 GiB of memory, and this machine has 2.0 GiB available"
    )
    assert str(error.value).endswith("Do less.")


# --- image headers -------------------------------------------------------------------------


def _png_header(width: int, height: int) -> bytes:
    """A PNG's signature and IHDR chunk: all a header reader sees of a 20000x20000 image."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


def test_image_sizes_come_from_png_gif_bmp_and_jpeg_headers(tmp_path):
    from PIL import Image

    (tmp_path / "bomb.png").write_bytes(_png_header(20000, 30000) + b"\0" * 100)
    for suffix in ("gif", "bmp", "jpg"):
        Image.new("RGB", (40, 30)).save(tmp_path / f"small.{suffix}")
    assert memory.image_header_size(tmp_path / "bomb.png") == (30000, 20000)
    for suffix in ("gif", "bmp", "jpg"):
        assert memory.image_header_size(tmp_path / f"small.{suffix}") == (30, 40), suffix
    (tmp_path / "junk.png").write_bytes(b"not an image")
    assert memory.image_header_size(tmp_path / "junk.png") is None
    assert memory.image_header_size(tmp_path / "missing.png") is None


def test_a_progressive_jpeg_with_tables_before_its_frame_is_read(tmp_path):
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 255, (17, 23, 3), np.uint8)
    Image.fromarray(pixels).save(tmp_path / "p.jpg", progressive=True, optimize=True)
    assert memory.image_header_size(tmp_path / "p.jpg") == (17, 23)


def test_an_image_folder_counts_its_images_at_their_loaded_size_and_the_largest_decode():
    sizes = [(20000, 20000), (64, 64)]
    estimate, decode = memory.image_folder(sizes, channels=3, target=(32, 32))
    assert estimate.raw_bytes == 2 * 32 * 32 * 3
    assert estimate.split_bytes() == 2 * 32 * 32 * 3 * 4
    assert decode == 20000 * 20000 * 3 * 5  # uint8 pixels, and the float32 a resize reads
    own, _ = memory.image_folder([(64, 48)] * 10, channels=1, target=None)
    assert own.raw_bytes == 10 * 64 * 48


# --- .npz and CSV --------------------------------------------------------------------------


def _npz_of_headers(path, arrays: dict[str, tuple[tuple, str]]):
    """An archive whose members hold only the .npy header of arrays never allocated."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (shape, dtype) in arrays.items():
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                header, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape}
            )
            archive.writestr(f"{name}.npy", header.getvalue())


def test_npz_shapes_are_read_from_the_member_headers_without_loading(tmp_path):
    _npz_of_headers(
        tmp_path / "big.npz",
        {"x_train": ((300000, 64, 64), "<f4"), "y_train": ((300000,), "<i8")},
    )
    members = memory.npz_members(tmp_path / "big.npz")
    assert members == {
        "x_train": ((300000, 64, 64), np.dtype("<f4")),
        "y_train": ((300000,), np.dtype("<i8")),
    }
    estimate = memory.npz(members)
    assert estimate.raw_bytes == 300000 * 4096 * 4 + 300000 * 8
    assert estimate.split_bytes() == 300000 * 4096 * 4
    assert (tmp_path / "big.npz").stat().st_size < 2000


def test_npz_shapes_of_a_real_compressed_archive(tmp_path):
    np.savez_compressed(
        tmp_path / "d.npz", x_train=np.zeros((5, 3), np.uint8), x_test=np.zeros((2, 3), np.uint8)
    )
    estimate = memory.npz(memory.npz_members(tmp_path / "d.npz"))
    assert (estimate.raw_bytes, estimate.examples, estimate.values_per_example) == (21, 7, 3)
    assert memory.npz_members(tmp_path / "missing.npz") == {}


def test_a_csv_of_empty_cells_is_counted_by_its_cells_not_its_bytes():
    sparse = b"," * 999 + b"\n"  # a row of 1000 empty cells
    estimate = memory.csv_text(sparse * 1000, file_bytes=2 * 10**9)
    assert estimate.examples == 2 * 10**6
    assert estimate.values_per_example == 1000
    assert estimate.raw_bytes >= 2 * 10**9 * memory.CSV_BYTES_PER_CELL
    dense = b"0.123456789,0.987654321\n" * 100
    numbers = memory.csv_text(dense, file_bytes=len(dense))
    assert numbers.examples == 100 and numbers.values_per_example == 2
    assert numbers.raw_bytes == 200 * (memory.CSV_BYTES_PER_CELL + memory.CSV_BYTES_PER_TEXT)


def test_dataset_limit_caps_only_the_splits():
    class Limited:
        limit, test_limit, validation_fraction = 900, 100, 0.1

    assert memory.kept_examples(Limited, 100000, 0.2) == 900 + 100 + 100
    estimate = memory.Estimate(raw_bytes=10, examples=100000, values_per_example=2)
    assert estimate.total(1100) == 10 + 1100 * 2 * 4


# --- models --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cfg, input_shape",
    [
        (AutoencoderConfig(hidden_units=[64, 32], latent_dim=8), (20,)),
        (VAEConfig(hidden_units=[32], latent_dim=4), (28, 28, 1)),
        (
            VAEConfig(architecture=Architecture.conv, conv_filters=[8, 16], latent_dim=6),
            (28, 28, 1),
        ),
        (
            AutoencoderConfig(architecture=Architecture.conv, conv_filters=[4], latent_dim=5),
            (32, 32, 3),
        ),
        (
            AutoencoderConfig(
                architecture=Architecture.fully_conv, conv_filters=[8, 16], latent_dim=4
            ),
            (28, 28, 1),
        ),
        (AutoencoderConfig(hidden_units=[16], decoder_hidden_units=[8, 8], latent_dim=3), (10,)),
    ],
    ids=["mlp", "mlp vae", "conv vae", "conv rgb", "fully conv", "own decoder"],
)
def test_the_parameter_count_is_the_one_keras_builds(cfg, input_shape):
    from aecli.models.networks import build_decoder, build_encoder

    encoder = build_encoder(cfg, input_shape, gaussian=cfg.variational)
    decoder_input = (
        encoder.output_shape[1:] if cfg.architecture == Architecture.fully_conv else None
    )
    decoder = build_decoder(cfg, input_shape)
    assert decoder_input is None or decoder.input_shape[1:] == decoder_input
    built = encoder.count_params() + decoder.count_params()
    assert memory.model_parameters(cfg, input_shape) == built


def test_factor_vaes_discriminator_is_counted():
    from aecli.config.model import FactorVAEConfig
    from aecli.models import build_model

    cfg = FactorVAEConfig(hidden_units=[16], latent_dim=3, discriminator_hidden_units=[8, 5])
    model = build_model(cfg, (10,), seed=0)
    built = sum(net.count_params() for net in (model.encoder, model.decoder, model.discriminator))
    assert memory.model_parameters(cfg, (10,)) == built


def test_a_model_of_a_billion_latent_units_is_refused_before_it_is_built():
    cfg = VAEConfig(hidden_units=[512, 256], latent_dim=10**9)
    with pytest.raises(ConfigError) as error:
        memory.refuse_model_if_over(cfg, (28, 28, 1), available=16 * GIB)
    assert "model.latent_dim=1000000000" in str(error.value)
    assert "lower model.latent_dim" in str(error.value)


def test_an_allocation_that_fails_anyway_becomes_one_paragraph():
    with pytest.raises(MemoryError) as raised:
        np.empty(2**62, np.uint8)  # refused by the allocator at once: nothing is touched
    assert memory.out_of_memory(raised.value)
    error = memory.out_of_memory_error(raised.value, "data loading")
    assert str(error).startswith("Out of memory during data loading (Unable to allocate")
    assert "trainer.batch_size" in str(error) and error.exit_code == 2
    assert not memory.out_of_memory(ValueError("no"))
