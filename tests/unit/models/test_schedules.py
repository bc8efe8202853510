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
