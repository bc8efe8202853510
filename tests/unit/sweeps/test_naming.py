"""Sweep job folder names: the job number, then only the values the sweep varies, safe on disk."""

from pathlib import Path

from aecli.sweeps.discover import sweep_keys
from aecli.sweeps.naming import MAX_CHARS, job_folder_name


def test_the_name_holds_the_swept_values_only():
    overrides = ["dataset=synthetic", "dataset.size=600", "beta=4", "seed=1"]
    assert job_folder_name(3, overrides, ["beta", "seed"]) == "3_beta=4,seed=1"


def test_swept_keys_come_from_the_command_line_and_the_experiment():
    keys = sweep_keys(
        ["dataset=synthetic", "beta=1,4", "experiment=one_class_fashion"],
        {"dataset.normal_class": "0,1,2"},
    )
    assert keys == ["beta", "dataset.normal_class"]


def test_slashes_and_shell_characters_do_not_reach_the_folder_name():
    name = job_folder_name(
        0,
        ["paths.data_dir=/data/x y", "model.hidden_units=[16,32]"],
        ["paths.data_dir", "model.hidden_units"],
    )
    assert "/" not in name and " " not in name and "[" not in name
    assert name == "0_paths.data_dir=_data_x__y,model.hidden_units=_16,32_"
    assert len(Path(name).parts) == 1


def test_a_long_name_is_cut_and_stays_unique_by_its_number():
    values = ",".join(str(i) for i in range(200))
    name = job_folder_name(12, [f"model.hidden_units=[{values}]"], ["model.hidden_units"])
    assert name.startswith("12_model.hidden_units=") and len(name) == len("12_") + MAX_CHARS


def test_without_swept_keys_the_name_is_the_job_number():
    assert job_folder_name(5, ["beta=4"], []) == "5"


def test_a_samplers_float_is_shortened_and_whole_numbers_kept():
    overrides = ["trainer.learning_rate=0.0012345678901234", "model.latent_dim=16", "beta=0.5"]
    name = job_folder_name(4, overrides, ["trainer.learning_rate", "model.latent_dim", "beta"])
    assert name == "4_trainer.learning_rate=0.001235,model.latent_dim=16,beta=0.5"
    assert job_folder_name(0, ["dataset.size=600000"], ["dataset.size"]) == "0_dataset.size=600000"


def test_an_optuna_search_space_names_the_keys_it_samples():
    params = {"trainer.learning_rate": "tag(log, interval(0.0001, 0.01))", "beta": "choice(1, 4)"}
    assert sweep_keys([], params) == ["trainer.learning_rate", "beta"]
