"""hardware.strategy=multi_worker with two worker processes on this machine (loopback ports)."""

import json
import os
import socket
import subprocess
import sys

TINY = [
    "model=vanilla",
    "dataset=synthetic",
    "dataset.kind=circle",
    "dataset.size=600",
    "trainer.epochs=2",
    "trainer.batch_size=64",
    "model.hidden_units=[16]",
    "model.latent_dim=2",
    "seed=3",
]
MULTI = ["hardware=multi_gpu", "hardware.strategy=multi_worker", "hardware.device=cpu"]


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for probe in sockets:
        probe.bind(("127.0.0.1", 0))
    ports = [probe.getsockname()[1] for probe in sockets]
    for probe in sockets:
        probe.close()
    return ports


def _worker(index: int, addresses: list[str], run_dir, cwd, extra_env=None):
    tf_config = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_CONFIG": json.dumps(tf_config),
        **(extra_env or {}),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aecli",
            "train",
            *MULTI,
            *TINY,
            f"hydra.run.dir={run_dir}",
            "hardware.intra_op_threads=1",
            "hardware.inter_op_threads=1",
        ],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_workers_train_like_one_process_and_only_the_chief_writes(aecli, tmp_path):
    addresses = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    outputs = tmp_path / "outputs"
    workers = [_worker(index, addresses, outputs / f"worker{index}", tmp_path) for index in (0, 1)]
    results = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_, stderr) in zip(workers, results, strict=True):
        assert worker.returncode == 0, stderr[-3000:]

    chief = json.loads((outputs / "worker0" / "metrics.json").read_text())
    assert (outputs / "worker0" / "checkpoints" / "last.weights.h5").exists()
    assert list((outputs / "worker0" / "tensorboard" / "train").iterdir())
    assert sorted(path.name for path in outputs.iterdir()) == ["worker0"]  # worker 1 left nothing

    # the same global batch of 64 (32 per worker) and seed in one process, XLA off as there
    single = aecli(
        "train",
        "hardware=cpu",
        "hardware.jit_compile=off",
        *TINY,
        f"hydra.run.dir={tmp_path / 'single'}",
    )
    assert single.returncode == 0, single.stderr[-3000:]
    alone = json.loads((tmp_path / "single" / "metrics.json").read_text())
    # Only the order of float32 sums differs (an all-reduce of two half-batch gradients):
    # measured 2.744389 against 2.744621, 8e-5 relative. A wrong split moves it 70 times as
    # far: batches of 32 gave 2.727634, gradients summed instead of averaged (a doubled
    # learning rate) 2.729206, both about 6e-3 relative.
    assert abs(chief["test_loss"] - alone["test_loss"]) <= 2e-4 * abs(alone["test_loss"])
    assert chief["train_examples"] == alone["train_examples"]


def test_a_worker_without_peers_stops_with_one_paragraph(tmp_path):
    addresses = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    worker = _worker(
        1,
        addresses,
        tmp_path / "outputs" / "worker1",
        tmp_path,
        extra_env={"AECLI_WORKER_TIMEOUT_S": "2"},
    )
    _, stderr = worker.communicate(timeout=120)
    assert worker.returncode == 2, stderr[-3000:]
    assert f"could not reach its peer at {addresses[0]}" in stderr and "TF_CONFIG=" in stderr
    assert "Traceback" not in stderr
