"""The deterministic autoencoder and the family registry every model is built through."""

import logging

import numpy as np

from aecli.config.model import (
    AutoencoderConfig,
    Likelihood,
    SparseConfig,
)
from aecli.models import build_model, warn_if_overcomplete


def test_overcomplete_unregularised_code_warns(caplog):
    def vanilla(latent_dim):
        return AutoencoderConfig(name="vanilla", hidden_units=[8], latent_dim=latent_dim)

    with caplog.at_level(logging.WARNING):
        warn_if_overcomplete(vanilla(4), (4,))
    assert "can learn the identity" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        warn_if_overcomplete(SparseConfig(name="sparse", hidden_units=[8], latent_dim=4), (4,))
        warn_if_overcomplete(vanilla(3), (4,))
    assert "can learn the identity" not in caplog.text


RNG = np.random.default_rng(0)


def test_gaussian_likelihood_reconstruction_is_the_decoder_mean():
    cfg = AutoencoderConfig(
        name="vanilla", hidden_units=[16], latent_dim=2, likelihood=Likelihood.gaussian
    )
    model = build_model(cfg, (5,), seed=0)
    x = RNG.random((4, 5)).astype(np.float32)
    np.testing.assert_allclose(model.reconstruct(x), model.decoder(model.encoder(x)), rtol=1e-6)


def test_every_model_family_has_a_model_class_a_schema_and_an_option():
    from dataclasses import fields
    from pathlib import Path

    from aecli.config import model as model_configs
    from aecli.config.store import _SCHEMAS, CONF_DIR
    from aecli.models import MODELS

    concrete = [
        cls
        for cls in vars(model_configs).values()
        if isinstance(cls, type)
        and issubclass(cls, model_configs.BaseModelConfig)
        and cls is not model_configs.BaseModelConfig
    ]
    assert set(concrete) == set(MODELS)
    assert set(MODELS) <= set(_SCHEMAS.values())
    # each family is reachable from some conf/model/*.yaml option
    options = " ".join(path.read_text() for path in (Path(CONF_DIR) / "model").glob("*.yaml"))
    for config in MODELS:
        name = next(key for key, value in _SCHEMAS.items() if value is config)
        assert f"/{name}@_here_" in options or config is model_configs.VAEConfig, name
        assert "name" in {field.name for field in fields(config)}


def test_the_family_hooks_answer_for_every_model_built_from_its_option(compose_train):
    from aecli.config.validate import validate

    families = ("vanilla", "sparse", "contractive", "vae", "beta_vae", "beta_tcvae", "dip_vae")
    for option in (*families, "annealed_vae", "factor_vae"):
        settings = validate(
            compose_train(
                f"model={option}",
                "model.hidden_units=[8]",
                *(["model.discriminator_hidden_units=[8]"] if option == "factor_vae" else []),
            )
        )
        model = build_model(settings.model, (28, 28, 1), seed=0, dataset_size=100)
        x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
        assert model.code_shape == (settings.model.latent_dim,)
        assert set(model.anomaly_scores(x, 2)) >= {"recon"}
        importance, what = model.latent_importance(x)
        assert importance.shape == model.code_shape and what in ("KL", "variance")
        assert ("neg_elbo" in model.anomaly_scores(x, 2)) == settings.model.variational
