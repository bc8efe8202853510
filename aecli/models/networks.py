"""Encoder and decoder networks as small functional Keras models, MLP or convolutional.

Decoders end in the likelihood's parameters: logits for a Bernoulli decoder, the mean
for a Gaussian one; that last layer and the VAE's Gaussian heads run in float32 so a
mixed-precision run keeps log-variance, KL and BCE in float32.
"""

import math

import keras
from keras import layers

from aecli.config.model import Architecture, BaseModelConfig
from aecli.errors import ConfigError


def _check_conv_fits(input_shape, filters, architecture: Architecture) -> None:
    if len(input_shape) != 3:
        raise ConfigError(
            f"model.architecture={architecture.value} needs image data, but this dataset's "
            f"examples have shape {tuple(input_shape)}. "
            "Use `model.architecture=mlp`, or an image dataset "
            "(mnist, fashion_mnist, cifar10, synthetic with kind=shapes)."
        )
    factor = 2 ** len(filters)
    height, width, _ = input_shape
    if height % factor or width % factor:
        raise ConfigError(
            f"model.conv_filters={list(filters)} halves the image {len(filters)} times, "
            f"but {height}x{width} "
            f"is not divisible by {factor}. "
            "Use fewer conv layers, e.g. `model.conv_filters=[32,64]`."
        )


def _encoder_trunk(cfg: BaseModelConfig, inputs):
    """Shared feature extractor of every encoder."""
    if cfg.architecture == Architecture.fully_conv:
        _check_conv_fits(inputs.shape[1:], cfg.conv_filters, cfg.architecture)
        x = inputs
        for filters in cfg.conv_filters:
            x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
        return x
    if cfg.architecture == Architecture.conv:
        _check_conv_fits(inputs.shape[1:], cfg.conv_filters, cfg.architecture)
        x = inputs
        for filters in cfg.conv_filters:
            x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
        return layers.Flatten()(x)
    x = layers.Flatten()(inputs)
    for units in cfg.hidden_units:
        x = layers.Dense(units, activation="relu")(x)
    return x


def build_encoder(
    cfg: BaseModelConfig, input_shape, gaussian: bool, code_activation=None
) -> keras.Model:
    """x -> z (deterministic, `code_activation` on the code) or x -> (mean, log_var) (Gaussian
    posterior)."""
    inputs = keras.Input(shape=input_shape, name="x")
    features = _encoder_trunk(cfg, inputs)
    if gaussian:
        mean = layers.Dense(cfg.latent_dim, dtype="float32", name="z_mean")(features)
        log_var = layers.Dense(cfg.latent_dim, dtype="float32", name="z_log_var")(features)
        return keras.Model(inputs, [mean, log_var], name="encoder")
    if (
        cfg.architecture == Architecture.fully_conv
    ):  # the code is a feature map with latent_dim channels
        code = layers.Conv2D(
            cfg.latent_dim, 1, activation=code_activation, dtype="float32", name="z"
        )(features)
        return keras.Model(inputs, code, name="encoder")
    code = layers.Dense(cfg.latent_dim, activation=code_activation, dtype="float32", name="z")(
        features
    )
    return keras.Model(inputs, code, name="encoder")


def build_decoder(cfg: BaseModelConfig, output_shape) -> keras.Model:
    """z -> parameters of p(x|z) with the data's shape (logits or mean)."""
    if cfg.architecture in (Architecture.conv, Architecture.fully_conv):
        height, width, channels = output_shape
        factor = 2 ** len(cfg.conv_filters)
        top = cfg.conv_filters[-1]
        if cfg.architecture == Architecture.fully_conv:
            latent = keras.Input(
                shape=(height // factor, width // factor, cfg.latent_dim), name="z"
            )
            x = latent
        else:
            latent = keras.Input(shape=(cfg.latent_dim,), name="z")
            x = layers.Dense(
                (height // factor) * (width // factor) * top,
                activation=cfg.decoder_activation.value,
            )(latent)
            x = layers.Reshape((height // factor, width // factor, top))(x)
        for filters in reversed(cfg.conv_filters):
            x = layers.Conv2DTranspose(
                filters, 3, strides=2, padding="same", activation=cfg.decoder_activation.value
            )(x)
        params = layers.Conv2D(channels, 3, padding="same", dtype="float32", name="x_params")(x)
        return keras.Model(latent, params, name="decoder")
    latent = keras.Input(shape=(cfg.latent_dim,), name="z")
    x = latent
    for units in cfg.decoder_units:
        x = layers.Dense(units, activation=cfg.decoder_activation.value)(x)
    x = layers.Dense(math.prod(output_shape), dtype="float32", name="x_params")(x)
    params = layers.Reshape(tuple(output_shape), dtype="float32")(x)
    return keras.Model(latent, params, name="decoder")
