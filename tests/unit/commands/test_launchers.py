"""Threads per job under each launcher, and the count of jobs submitit_local runs together."""

import os

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from aecli.commands.launchers import PARALLEL_JOBS_ENV, parallel_jobs
from aecli.config.store import CONF_DIR, register

CORES = os.cpu_count() or 1
BASIC = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def _sweep(*task, max_batch_size=None, params=None):
    return OmegaConf.create(
        {
            "hydra": {
                "sweeper": {"_target_": BASIC, "max_batch_size": max_batch_size, "params": params},
                "overrides": {"task": list(task)},
            }
        }
    )


def test_parallel_jobs_counts_the_first_batch_of_the_sweep():
    assert parallel_jobs(_sweep("beta=1,4", "seed=1,2,3", "trainer.epochs=2")) == 6
    assert parallel_jobs(_sweep("beta=1,4", "seed=1,2,3", max_batch_size=4)) == 4
    assert parallel_jobs(_sweep("seed=1,2", params={"beta": "1,2,4"})) == 6
    assert parallel_jobs(_sweep("beta=4")) == 1


@pytest.fixture
def job_threads(monkeypatch):
    """intra_op_threads of a job composed under `launcher`, with `running` jobs started together."""
    register()

    def _threads(launcher, *overrides, running=None):
        if running is None:
            monkeypatch.delenv(PARALLEL_JOBS_ENV, raising=False)
        else:
            monkeypatch.setenv(PARALLEL_JOBS_ENV, str(running))
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(
                "train",
                overrides=[f"hydra/launcher={launcher}", *overrides],
                return_hydra_config=True,
            )
        HydraConfig.instance().set_config(cfg)
        try:
            return cfg.hardware.intra_op_threads
        finally:
            HydraConfig.instance().cfg = None

    return _threads


def test_submitit_local_divides_the_cores_among_the_jobs_it_runs_together(job_threads):
    assert job_threads("submitit_local", running=2) == max(1, CORES // 2)
    assert job_threads("submitit_local", running=4 * CORES) == 1  # never below one thread
    assert job_threads("submitit_local", running=1) == CORES
    assert job_threads("submitit_local", "hydra.launcher.cpus_per_task=1", running=2) == 1


def test_joblib_and_basic_launchers_keep_their_rules(job_threads):
    assert job_threads("joblib", "hydra.launcher.n_jobs=2", running=8) == max(1, CORES // 2)
    assert job_threads("basic", running=2) == 0  # one job at a time: TensorFlow's choice
