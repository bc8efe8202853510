"""How much memory a run will need at least, against how much the machine has left for it: a
dataset or a model that cannot fit is refused in one paragraph before anything big is allocated,
where the kernel would kill the process without a word and leave its status `running`.

The estimates are read from headers and shapes alone (an image's header, an .npz member's array
header, a CSV's first megabyte, one small draw of a generator) and count what loading holds at
once: the source as read and the float32 splits the pipeline trains on; one image decoded and
converted to float32 to be resized; a model's weights, gradients and two Adam moments. They leave
out what TensorFlow, the pipeline and the activations add, so a run they let through may still
need more; they are meant to stop the run that is out by a factor, before it allocates, not to
fit a run to the last megabyte.

Available memory is the smaller of the kernel's MemAvailable and what the process's memory
cgroup (v1 or v2, and each of its ancestors) leaves under its limit, so a container's or a job
scheduler's limit counts, not the host's memory.
"""

import math
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aecli.errors import ConfigError, DataError, UserError

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FLOAT32 = 4
# bytes the optimizer holds per parameter: the weight, its gradient, Adam's two moments
BYTES_PER_PARAMETER = 4 * FLOAT32
# a CSV cell held as text: a pointer in its row's list and one in its column's list, and its
# parsed float64 and float32 values; a non-empty cell also has a str object (49 bytes + its
# characters, shared only for the empty and 1-character strings)
CSV_BYTES_PER_CELL = 8 + 8 + 8 + 4
CSV_BYTES_PER_TEXT = 49
CSV_SAMPLE_BYTES = 1 << 20


def gib(nbytes: float) -> str:
    """Bytes as GiB (MiB below one GiB), as `free -h` and the OOM killer's log put them."""
    if nbytes >= 2**30:
        return f"{nbytes / 2**30:,.1f} GiB"
    return f"{nbytes / 2**20:,.0f} MiB"


# --- what is available ---------------------------------------------------------------------


def mem_available(meminfo: str) -> int | None:
    """MemAvailable of /proc/meminfo, in bytes."""
    for line in meminfo.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def cgroup_headroom(limit: str, usage: str) -> int | None:
    """What a cgroup leaves under its limit (memory.max / memory.limit_in_bytes and
    memory.current / memory.usage_in_bytes); None when it sets none (`max`, or v1's near-2^63)."""
    limit = limit.strip()
    if limit == "max" or not limit.isdigit() or int(limit) >= 2**62:
        return None
    return max(0, int(limit) - int(usage.strip() or 0))


def memory_cgroup_dirs(proc_cgroup: str, root: Path = Path("/sys/fs/cgroup")) -> list[Path]:
    """The folders of this process's memory cgroup and of each ancestor (a limit anywhere above
    applies too), from /proc/self/cgroup: v1's `N:memory:/path` or v2's `0::/path`."""
    found = []
    for line in proc_cgroup.splitlines():
        number, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if "memory" in controllers.split(","):
            base = root / "memory"
        elif number == "0" and controllers == "":
            base = root if (root / "cgroup.controllers").exists() else root / "unified"
        else:
            continue
        parts = [p for p in path.split("/") if p]
        found += [base.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]
    return found


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def available_bytes() -> int | None:
    """Memory this process may still take: MemAvailable, lowered to the least headroom of its
    memory cgroups; None where neither can be read (then nothing is refused)."""
    candidates = []
    meminfo = _read(Path("/proc/meminfo"))
    if meminfo:
        candidates.append(mem_available(meminfo))
    for folder in memory_cgroup_dirs(_read(Path("/proc/self/cgroup")) or ""):
        for limit, usage in (
            ("memory.max", "memory.current"),
            ("memory.limit_in_bytes", "memory.usage_in_bytes"),
        ):
            limit_text, usage_text = _read(folder / limit), _read(folder / usage)
            if limit_text is not None and usage_text is not None:
                candidates.append(cgroup_headroom(limit_text, usage_text))
    known = [value for value in candidates if value is not None]
    return min(known) if known else None


def refuse_if_over(needed: int, what: str, fix: str, error=DataError, available=None) -> None:
    """Raise `error` when `needed` bytes exceed what is available; `what` says what needs them,
    `fix` what to change."""
    available = available_bytes() if available is None else available
    if available is None or needed <= available:
        return
    raise error(
        f"{what} needs about {gib(needed)} of memory, and this machine has {gib(available)} "
        f"available (MemAvailable, within any container or job limit), so the run would be "
        f"killed part way. {fix}"
    )


# --- datasets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """Bytes the source takes as read, and the float32 values of the splits made from it."""

    raw_bytes: int
    examples: int
    values_per_example: int

    def split_bytes(self, kept_examples: int | None = None) -> int:
        kept = self.examples if kept_examples is None else min(kept_examples, self.examples)
        return kept * self.values_per_example * FLOAT32

    def total(self, kept_examples: int | None = None) -> int:
        return self.raw_bytes + self.split_bytes(kept_examples)


def kept_examples(cfg, examples: int, test_share: float) -> int:
    """How many examples the splits keep under dataset.limit and dataset.test_limit (all of them
    without)."""
    test = round(examples * test_share)
    train = examples - test
    if getattr(cfg, "limit", None) is not None:
        fraction = cfg.validation_fraction
        train = min(train, cfg.limit + max(1, round(cfg.limit * fraction / (1 - fraction))))
    if getattr(cfg, "test_limit", None) is not None:
        test = min(test, cfg.test_limit)
    return train + test


def generated(examples: int, probe: list[np.ndarray], probe_examples: int) -> Estimate:
    """A generator's output for `examples`, scaled from a draw of `probe_examples` (its arrays
    `probe`: x and y of both splits)."""
    per_example = sum(array.nbytes for array in probe) / probe_examples
    x = probe[0]
    return Estimate(math.ceil(per_example * examples), examples, math.prod(x.shape[1:]))


def png_size(head: bytes) -> tuple[int, int] | None:
    """(height, width) from a PNG's IHDR chunk, which opens the file."""
    if head[:8] == _PNG_SIGNATURE and head[12:16] == b"IHDR":
        return int.from_bytes(head[20:24], "big"), int.from_bytes(head[16:20], "big")
    return None


def gif_size(head: bytes) -> tuple[int, int] | None:
    """(height, width) of a GIF's logical screen."""
    if head[:6] in (b"GIF87a", b"GIF89a"):
        width, height = struct.unpack("<HH", head[6:10])
        return height, width
    return None


def bmp_size(head: bytes) -> tuple[int, int] | None:
    """(height, width) of a BMP with a BITMAPINFOHEADER or later (height negative when top-down)."""
    if head[:2] == b"BM" and len(head) >= 26 and struct.unpack("<I", head[14:18])[0] >= 40:
        width, height = struct.unpack("<ii", head[18:26])
        return abs(height), abs(width)
    return None


def jpeg_size(stream) -> tuple[int, int] | None:
    """(height, width) from a JPEG's start-of-frame marker, read marker by marker up to it."""
    if stream.read(2) != b"\xff\xd8":
        return None
    while True:
        byte = stream.read(1)
        while byte == b"\xff":  # fill bytes before a marker
            byte = stream.read(1)
        if not byte:
            return None
        marker = byte[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            continue
        length = stream.read(2)
        if len(length) < 2:
            return None
        size = int.from_bytes(length, "big")
        # SOF0..SOF15 hold the frame's size; C4 (DHT), C8 (JPG) and CC (DAC) are not frames
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            frame = stream.read(5)
            if len(frame) < 5:
                return None
            return int.from_bytes(frame[1:3], "big"), int.from_bytes(frame[3:5], "big")
        stream.seek(size - 2, os.SEEK_CUR)


def image_header_size(path: Path) -> tuple[int, int] | None:
    """(height, width) of an image file from its header alone; None when the format is not
    known here or the header is damaged (the reader then says so)."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(26)
            size = png_size(head) or gif_size(head) or bmp_size(head)
            if size is None and head[:2] == b"\xff\xd8":
                stream.seek(0)
                size = jpeg_size(stream)
    except OSError:
        return None
    return size


def image_folder(sizes: list[tuple[int, int]], channels: int, target) -> tuple[Estimate, int]:
    """The folder's images as uint8 at the size they are loaded at (`target`, or their own), and
    the bytes of decoding the largest: its pixels as uint8 and as the float32 a resize reads."""
    largest = max((h * w for h, w in sizes), default=0) * channels
    each = (target[0] * target[1] if target else largest // max(channels, 1)) * channels
    return Estimate(len(sizes) * each, len(sizes), each), largest * (1 + FLOAT32)


def npz_members(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of each array of an .npz archive, from the .npy headers inside it, without
    reading (or decompressing beyond) the headers; {} when it is not a readable archive."""
    members = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if not name.endswith(".npy"):
                    continue
                with archive.open(name) as stream:
                    version = np.lib.format.read_magic(stream)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
                members[name[: -len(".npy")]] = (tuple(shape), dtype)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError):
        return {}
    return members


def npz(members: dict[str, tuple[tuple[int, ...], np.dtype]]) -> Estimate:
    """An archive's arrays as read, and the float32 splits of its x_train and x_test."""
    raw = sum(math.prod(shape) * dtype.itemsize for shape, dtype in members.values())
    examples, values = 0, 0
    for key in ("x_train", "x_test"):
        if key in members and len(members[key][0]) >= 1:
            shape = members[key][0]
            examples += shape[0]
            values = math.prod(shape[1:])
    return Estimate(raw, examples, values)


def csv_text(sample: bytes, file_bytes: int) -> Estimate:
    """A CSV held as text cells then numbers, extrapolated to the whole file from its first
    bytes: the cells (separators and line ends) and non-empty cells per byte of the sample."""
    if not sample:
        return Estimate(0, 0, 0)
    lines = sample.count(b"\n") or 1
    cells = sample.count(b",") + lines
    empty = sample.count(b",,") + sample.count(b",\n") + sample.count(b"\n,")
    scale = file_bytes / len(sample)
    rows = math.ceil(lines * scale)
    per_row = max(1, round(cells / lines))
    text_cells = max(0, cells - empty) * scale
    raw = math.ceil(cells * scale * CSV_BYTES_PER_CELL + text_cells * CSV_BYTES_PER_TEXT)
    return Estimate(raw, rows, per_row)


# --- models --------------------------------------------------------------------------------


def _dense(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def _conv(size: int, n_in: int, n_out: int) -> int:
    return size * size * n_in * n_out + n_out


def model_parameters(cfg, input_shape) -> int:
    """The weights of the encoder and decoder aecli/models/networks.py builds for `cfg` (MLP,
    conv or fully convolutional), and of FactorVAE's discriminator, counted from the config
    without building them."""
    units = getattr(cfg, "discriminator_hidden_units", None)
    widths = [cfg.latent_dim, *units, 2] if units else []
    discriminator = sum(_dense(a, b) for a, b in zip(widths, widths[1:], strict=False))
    return _networks(cfg, input_shape) + discriminator


def _networks(cfg, input_shape) -> int:
    latent, gaussian = cfg.latent_dim, bool(getattr(cfg, "variational", False))
    heads = 2 if gaussian else 1
    architecture = getattr(cfg.architecture, "value", cfg.architecture)
    if architecture in ("conv", "fully_conv") and len(input_shape) == 3:
        height, width, channels = input_shape
        filters = list(cfg.conv_filters)
        factor = 2 ** len(filters)
        cells = (height // factor) * (width // factor)
        total = sum(_conv(3, a, b) for a, b in zip([channels, *filters], filters, strict=False))
        if architecture == "conv":
            total += heads * _dense(cells * filters[-1], latent)
            total += _dense(latent, cells * filters[-1])
            first = filters[-1]
        else:
            total += heads * _dense(filters[-1], latent)
            first = latent
        ups = list(reversed(filters))
        total += sum(_conv(3, a, b) for a, b in zip([first, *ups], ups, strict=False))
        return total + _conv(3, filters[0], channels)
    features = math.prod(input_shape)
    encoder = [features, *cfg.hidden_units]
    total = sum(_dense(a, b) for a, b in zip(encoder, encoder[1:], strict=False))
    total += heads * _dense(encoder[-1], latent)
    decoder = [latent, *cfg.decoder_units, features]
    return total + sum(_dense(a, b) for a, b in zip(decoder, decoder[1:], strict=False))


def refuse_model_if_over(cfg, input_shape, available=None) -> None:
    """Refuse a model whose weights, gradients and Adam moments cannot fit, before it is built."""
    parameters = model_parameters(cfg, input_shape)
    refuse_if_over(
        parameters * BYTES_PER_PARAMETER,
        f"The model ({parameters:,} parameters with model.latent_dim={cfg.latent_dim}; "
        "each held as a weight, its gradient and two Adam moments, 16 bytes)",
        "Make it smaller: lower model.latent_dim, model.hidden_units or model.conv_filters.",
        error=ConfigError,
        available=available,
    )


# --- what the estimates miss ---------------------------------------------------------------


class OutOfMemory(UserError):
    """An allocation failed after the estimates let the run through (activations, TensorFlow's
    own buffers)."""


def out_of_memory(error: BaseException) -> bool:
    """NumPy's MemoryError, or TensorFlow's ResourceExhaustedError (out of host or GPU memory)."""
    return isinstance(error, MemoryError) or type(error).__name__ == "ResourceExhaustedError"


def out_of_memory_error(error: BaseException, stage: str) -> OutOfMemory:
    lines = str(error).strip().splitlines()
    detail = lines[0][:200] if lines else type(error).__name__
    return OutOfMemory(
        f"Out of memory during {stage} ({detail}). Start the run again smaller: a lower "
        "trainer.batch_size, a smaller model (model.hidden_units, model.latent_dim, "
        "model.conv_filters) or less data (dataset.size, dataset.limit)."
    )
