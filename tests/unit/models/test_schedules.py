"""The VAE's per-epoch schedules: KL weight and capacity as pure functions of the epoch."""

from aecli.config.model import KLSchedule
from aecli.models.schedules import capacity, kl_weight


def test_linear_and_cyclical_kl_weights_per_epoch():
    assert [kl_weight(e, KLSchedule.linear, 4, 0.5) for e in range(6)] == [0, 0.25, 0.5, 0.75, 1, 1]
    assert [kl_weight(e, KLSchedule.cyclical, 4, 0.5) for e in range(8)] == [
        0,
        0.5,
        1,
        1,
        0,
        0.5,
        1,
        1,
    ]
    assert kl_weight(3, KLSchedule.none, 4, 0.5) == 1.0


def test_capacity_rises_linearly_then_holds():
    assert [capacity(e, 25.0, 5) for e in (0, 1, 5, 9)] == [0.0, 5.0, 25.0, 25.0]
    # disentanglement_lib's `anneal` with annealed_vae's defaults, counted in updates
    assert [capacity(s, 25.0, 100_000) for s in (0, 40_000, 100_000, 300_000)] == [0, 10, 25, 25]


def test_capacity_steps_set_c_from_the_update_count_before_each_batch():
    import keras
    import numpy as np
    import tensorflow as tf

    from aecli.config.model import VAEConfig
    from aecli.models import build_model
    from aecli.models.schedules import VAESchedules

    cfg = VAEConfig(name="annealed_vae", hidden_units=[4], latent_dim=2, capacity_max=10.0)
    cfg.capacity_steps = 4
    model = build_model(cfg, (3,), seed=0)
    model.compile(optimizer=keras.optimizers.Adam(), steps_per_execution=1)
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: seen.append(float(model.capacity.numpy()))
    )
    x = np.zeros((12, 3), "f4")
    model.fit(
        tf.data.Dataset.from_tensor_slices((x, x)).batch(2),
        callbacks=[VAESchedules(cfg), record],
        verbose=0,
    )
    assert seen == [0.0, 2.5, 5.0, 7.5, 10.0, 10.0]
