"""`key=value` options of eval, sample and encode, and the run folder among them."""

import pytest

from aecli.commands._options import parse_options
from aecli.errors import UserError

DEFAULTS = {"encode.split": "test", "dataset.limit": None}


def test_a_sweep_job_folder_named_by_its_swept_values_is_the_run(tmp_path):
    job = tmp_path / "1_model=beta_vae,beta=4,seed=0"
    job.mkdir()
    run, options = parse_options([str(job), "dataset.limit=100"], DEFAULTS, "encode")
    assert run == str(job)
    assert options == {"encode.split": "test", "dataset.limit": 100}


def test_options_are_typed_by_their_defaults_and_unknown_keys_refused(tmp_path):
    _, options = parse_options([str(tmp_path), "encode.split=val"], DEFAULTS, "encode")
    assert options["encode.split"] == "val"
    with pytest.raises(UserError, match="has no option `trainer.epochs`"):
        parse_options([str(tmp_path), "trainer.epochs=3"], DEFAULTS, "encode")
    with pytest.raises(UserError, match="dataset.limit must be an integer"):
        parse_options([str(tmp_path), "dataset.limit=many"], DEFAULTS, "encode")


def test_no_run_folder_or_two_are_refused_with_the_usage(tmp_path):
    with pytest.raises(UserError, match=r"RUN_DIR \[encode.split=test dataset.limit=null\]"):
        parse_options(["dataset.limit=3"], DEFAULTS, "encode")
    with pytest.raises(UserError, match="exactly one run folder"):
        parse_options([str(tmp_path), str(tmp_path)], DEFAULTS, "encode")
