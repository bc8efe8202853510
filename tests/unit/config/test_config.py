"""Composition of every config option found in conf/, and the schema's answer to each bad value."""

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from aecli.config import dataset, model, run
from aecli.config.store import CONF_DIR
from aecli.config.validate import validate
from aecli.errors import ConfigError


def _options(group: str) -> list[str]:
    """The group's options, those in its subfolders too (`experiment=dsprites_study/beta_vae`)."""
    folder = Path(CONF_DIR) / group
    return sorted(str(path.relative_to(folder).with_suffix("")) for path in folder.rglob("*.yaml"))


MODELS, DATASETS, HARDWARE = _options("model"), _options("dataset"), _options("hardware")
EXPERIMENTS, DEBUG = _options("experiment"), _options("debug")


def test_the_groups_hold_the_options_the_readme_lists():
    assert {"vanilla", "conv_denoising", "sparse", "contractive", "vae", "beta_vae"} <= set(MODELS)
    assert {
        "mnist",
        "fashion_mnist",
        "cifar10",
        "synthetic",
        "transactions",
        "network_traffic",
        "image_folder",
        "npz",
        "csv",
    } <= set(DATASETS)
    assert {"cpu", "gpu", "mixed", "multi_gpu"} <= set(HARDWARE)


# every model on the default images, and every dataset under an MLP and a fully convolutional
# model (the two kinds of network a dataset's shape must fit): each option of both groups, and
# each dataset beside both architectures, without composing the whole product
PAIRS = sorted(
    {(option, "fashion_mnist") for option in MODELS}
    | {(option, data) for option in ("vae", "conv_denoising") for data in DATASETS}
)


@pytest.mark.parametrize("option, data", PAIRS)
def test_every_model_and_dataset_compose_into_typed_config(compose_train, option, data):
    # the user's own data has no default location
    path = ["dataset.path=/data/mine"] if data in ("image_folder", "npz", "csv") else []
    settings = validate(compose_train(f"model={option}", f"dataset={data}", *path))
    assert isinstance(settings, run.TrainConfig)
    assert settings.model.name == option
    assert settings.dataset.name.value == data


@pytest.mark.parametrize("option", HARDWARE)
def test_every_hardware_option_composes(compose_train, option):
    assert validate(compose_train(f"hardware={option}")).hardware.name == option


@pytest.mark.parametrize("option", EXPERIMENTS)
def test_every_experiment_composes(compose_train, option):
    # the anomaly studies set `anomaly.*` keys, which only `aecli anomaly`'s config has
    text = (Path(CONF_DIR) / "experiment" / f"{option}.yaml").read_text()
    command = "anomaly" if "aecli anomaly" in text else "train"
    settings = validate(compose_train(f"experiment={option}", config_name=command))
    assert isinstance(settings, run.AnomalyConfig if command == "anomaly" else run.TrainConfig)


@pytest.mark.parametrize("option", [o for o in EXPERIMENTS if o.startswith("dsprites_study/")])
def test_every_run_of_the_dsprites_study_validates(compose_train, option):
    """Each sweep of the study, each of its grid's points: a run of the model it names."""
    sweep = OmegaConf.load(Path(CONF_DIR) / "experiment" / f"{option}.yaml").hydra.sweeper.params
    (key, values), *_ = ((k, v) for k, v in sweep.items() if k != "seed")
    for value in str(values).split(","):
        settings = validate(compose_train(f"experiment={option}", f"{key}={value}"))
        assert settings.model.name == option.split("/")[1].removesuffix("_i").removesuffix("_ii")
        assert settings.dataset.name.value == "dsprites"
        if option.startswith("dsprites_study/dip_vae_"):
            assert settings.model.dip_type.value == option.rsplit("_", 1)[1]


@pytest.mark.parametrize("option", DEBUG)
def test_every_debug_preset_composes(compose_train, option):
    assert validate(compose_train(f"debug={option}")).trainer.epochs >= 1


def test_model_options_map_to_their_config_classes(compose_train):
    assert type(validate(compose_train("model=vae")).model) is model.VAEConfig
    assert type(validate(compose_train("model=beta_vae")).model) is model.VAEConfig
    assert type(validate(compose_train("model=sparse")).model) is model.SparseConfig
    assert type(validate(compose_train("model=contractive")).model) is model.ContractiveConfig
    assert type(validate(compose_train("model=vanilla")).model) is model.AutoencoderConfig


def test_dataset_options_map_to_their_source_schemas(compose_train):
    assert (
        type(validate(compose_train("dataset=fashion_mnist")).dataset) is dataset.FileDatasetConfig
    )
    assert type(validate(compose_train("dataset=synthetic")).dataset) is dataset.SyntheticConfig
    tabular = validate(compose_train("dataset=transactions")).dataset
    assert type(tabular) is dataset.TabularConfig
    assert tabular.name == dataset.DatasetName.transactions


def test_beta_follows_the_model_default_unless_given(compose_train):
    assert validate(compose_train("model=vae")).model.beta == 1.0
    assert validate(compose_train("model=beta_vae")).model.beta == 4.0
    assert validate(compose_train("model=beta_vae", "beta=10")).model.beta == 10.0
    assert validate(compose_train("model=vae", "beta=4")).model.beta == 4.0


@pytest.mark.parametrize("option", ["vanilla", "conv_denoising", "sparse", "contractive"])
def test_a_model_without_a_kl_term_refuses_beta(compose_train, option):
    with pytest.raises(ConfigError, match=rf"`beta=4`.*model={option} has no KL term"):
        validate(compose_train(f"model={option}", "beta=4"))


def test_a_key_of_another_dataset_source_is_refused_while_composing(compose_train):
    with pytest.raises(Exception, match=r"kind"):
        compose_train("dataset=fashion_mnist", "dataset.kind=circle")
    with pytest.raises(Exception, match=r"data_dir"):
        compose_train("dataset=synthetic", "dataset.data_dir=/tmp")


def test_a_key_of_another_model_family_is_refused_while_composing(compose_train):
    with pytest.raises(Exception, match=r"sparsity_weight"):
        compose_train("model=vae", "model.sparsity_weight=1")


def test_conv_denoising_defaults_to_the_chapters_gaussian_noise(compose_train):
    noise = validate(compose_train("model=conv_denoising")).model.noise
    assert (noise.type, noise.level) == (model.NoiseType.gaussian, 0.4)


def test_required_keys_exist(compose_train):
    cfg = compose_train()
    for key in [
        "beta",
        "seed",
        "trainer.epochs",
        "trainer.batch_size",
        "trainer.learning_rate",
        "dataset.limit",
        "model.latent_dim",
        "model.beta",
    ]:
        assert OmegaConf.select(cfg, key, default="missing") != "missing", key


@pytest.mark.parametrize(
    "override, key",
    [
        ("beta=-1", "beta"),
        ("beta=inf", "beta"),
        ("beta=nan", "beta"),
        ("model.latent_dim=0", "model.latent_dim"),
        ("trainer.learning_rate=0", "trainer.learning_rate"),
        ("trainer.learning_rate=inf", "trainer.learning_rate"),
        ("trainer.batch_size=0", "trainer.batch_size"),
        ("trainer.epochs=0", "trainer.epochs"),
        ("trainer.steps_per_execution=0", "trainer.steps_per_execution"),
        ("trainer.steps_per_execution=fast", "trainer.steps_per_execution"),
        ("trainer.steps_per_execution=2.5", "trainer.steps_per_execution"),
        ("dataset.limit=0", "dataset.limit"),
        ("model.decoder_std=inf", "model.decoder_std"),
        ("model.noise.level=-0.1", "model.noise.level"),
        ("model.noise.level=inf", "model.noise.level"),
        ("model.noise.type=masking model.noise.level=1.5", "model.noise.level"),
        ("model.free_bits=inf", "model.free_bits"),
        ("model.decoder_hidden_units=[0]", "model.decoder_hidden_units"),
        ("model.architecture=conv model.decoder_hidden_units=[64]", "model.decoder_hidden_units"),
    ],
)
def test_out_of_range_values_name_their_key(compose_train, override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(compose_train(*override.split()))


def test_the_users_own_data_needs_its_path(compose_train):
    with pytest.raises(ConfigError, match=r"dataset\.path|path"):
        validate(compose_train("dataset=npz"))


def test_a_key_added_with_plus_that_the_schema_lacks_is_refused(compose_train):
    from aecli.errors import ConfigError

    with pytest.raises(ConfigError, match="trainer.epochz"):
        validate(compose_train("+trainer.epochz=1"))
