"""Training over several processes (hardware.strategy=multi_worker): the cluster from TF_CONFIG
(or from Slurm's environment), a bounded wait for the peers, and only the chief writing the run.

Every worker runs the same steps (the all-reduces need them all); worker 0 (or the task of type
`chief`) is the chief. The others train into a temporary folder deleted when they end, so a run's
folder, metrics, checkpoints and TensorBoard logs come from the chief alone.
"""

import json
import os
import shutil
import socket
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from aecli.errors import UserError

# how long a worker waits for every peer to listen before giving up
TIMEOUT_ENV = "AECLI_WORKER_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 120.0


class ClusterError(UserError):
    """TF_CONFIG is missing or malformed, or a peer could not be reached in time."""


def _from_slurm() -> dict | None:
    """TF_CONFIG for a Slurm job step of several tasks (srun): one worker per task."""
    if int(os.environ.get("SLURM_STEP_NUM_TASKS", os.environ.get("SLURM_NTASKS", "1"))) < 2:
        return None
    import tensorflow as tf

    resolver = tf.distribute.cluster_resolver.SlurmClusterResolver(
        port_base=int(os.environ.get("AECLI_SLURM_PORT_BASE", "8888"))
    )
    return {
        "cluster": resolver.cluster_spec().as_dict(),
        "task": {"type": resolver.task_type, "index": resolver.task_id},
    }


def cluster_config() -> dict:
    """TF_CONFIG as a dict, set from Slurm's environment inside a multi-task Slurm step."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        derived = _from_slurm()
        if derived is None:
            raise ClusterError(
                "hardware.strategy=multi_worker needs the TF_CONFIG environment variable on every "
                'worker, e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                '"task": {"type": "worker", "index": 0}}\' (index 1 on the second), or a Slurm job '
                "step of several tasks (`srun --ntasks=2 ...`), from which aecli derives it."
            )
        os.environ["TF_CONFIG"] = json.dumps(derived)  # read again by TensorFlow's resolver
        return derived
    try:
        config = json.loads(text)
        task = config["task"]
        config["cluster"][task["type"]][int(task["index"])]
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise ClusterError(
            f"TF_CONFIG={text!r} is not a valid cluster description ({error!r}): it needs "
            '"cluster" (job name -> list of host:port) and "task" ({"type": ..., "index": ...}) '
            "naming one of those addresses."
        ) from None
    return config


def is_chief(config: dict) -> bool:
    task = config["task"]
    if "chief" in config["cluster"]:
        return task["type"] == "chief"
    return task["type"] == "worker" and int(task["index"]) == 0


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def wait_for_peers(config: dict, timeout_s: float | None = None) -> None:
    """Return once every other task of the cluster accepts connections on its address.

    TensorFlow's own wait cannot be bounded: the coordination leader blocks in C++ (holding
    the GIL) until every task registers. So each worker first listens on its own address,
    until it has reached every peer, then frees the port for TensorFlow's server. A peer that
    already moved on is reached through that server instead.
    """
    if timeout_s is None:
        timeout_s = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S))
    task = config["task"]
    own = config["cluster"][task["type"]][int(task["index"])]
    peers = [address for job in config["cluster"].values() for address in job if address != own]
    host, port = _split(own)
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        raise ClusterError(
            f"This worker cannot listen on {own}, its address in TF_CONFIG ({error.strerror}): "
            "another process holds the port, or the host is not this machine's. Pick a free port "
            "for each worker in TF_CONFIG."
        ) from None
    listener.listen(len(peers) + 1)
    deadline = time.monotonic() + timeout_s
    try:
        waiting = list(peers)
        while waiting:
            address = waiting[0]
            try:
                socket.create_connection(_split(address), timeout=2).close()
                waiting.pop(0)
            except OSError:
                if time.monotonic() > deadline:
                    raise ClusterError(
                        f"This worker ({task['type']} {task['index']}) could not reach its peer at "
                        f"{address} within {timeout_s:g} s. Check that every address in "
                        f"TF_CONFIG={os.environ.get('TF_CONFIG')} is right, that a worker was "
                        "started for each with its own task index, and that the port is open; "
                        f"{TIMEOUT_ENV} sets the wait."
                    ) from None
                time.sleep(0.2)
    finally:
        listener.close()


@contextmanager
def worker_run_dir(run_dir: Path, chief: bool):
    """The folder this worker trains into: `run_dir` for the chief; for the others a temporary
    one, deleted at the end together with `run_dir` when only logs are in it (Hydra creates
    the folder and its job log before aecli runs)."""
    if chief:
        yield run_dir
        return
    scratch = Path(tempfile.mkdtemp(prefix="aecli-worker-"))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        # never a folder the chief writes (the same hydra.run.dir on a shared disk)
        if run_dir.is_dir() and all(path.suffix == ".log" for path in run_dir.iterdir()):
            shutil.rmtree(run_dir, ignore_errors=True)


def run(hydra_cfg, settings, work):
    """`work(settings, folder, overrides)` on this worker: the chief claims the run folder as a
    single run does; the others train into a scratch folder of their own, claimed the same way."""
    from aecli.rundir.claim import claim
    from aecli.rundir.layout import RunFolder

    chief = is_chief(cluster_config())
    run_dir = Path(hydra_cfg.runtime.output_dir)
    with worker_run_dir(run_dir, chief) as folder:
        claimed = claim(RunFolder(folder), settings, hydra_cfg)
        return work(settings, claimed, list(hydra_cfg.overrides.task))


def strategy():
    """MultiWorkerMirroredStrategy over the cluster of TF_CONFIG, once every peer listens."""
    import tensorflow as tf

    wait_for_peers(cluster_config())

    class Strategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):
            # Keras 3 (3.15 here) reduces a whole (input, target) batch once, in fit, to learn
            # its shapes (_maybe_symbolic_build); MirroredStrategy maps reduce over such a
            # structure, the collective strategy passes the tuple on and fails ("Attempt to
            # convert a value (PerReplica...)", keras-team/keras#20585): reduce each part.
            # It also averages each step's scalar logs with axis=0, which a scalar lacks: their
            # mean over the replicas is meant
            parent = super().reduce

            def one(part):
                rank = self.experimental_local_results(part)[0].shape.rank
                return parent(reduce_op, part, None if rank == 0 else axis)

            return tf.nest.map_structure(one, value)

    return Strategy()
