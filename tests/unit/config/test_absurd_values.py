"""Values a config accepts by type but no run can use: refused by validation, before TensorFlow
loads, in one paragraph naming the key and its range (where they failed after TensorFlow loaded,
in a traceback, or were killed for memory)."""

import pytest

from aecli.config.validate import validate
from aecli.errors import ConfigError


@pytest.mark.parametrize(
    "overrides, problem",
    [
        (["seed=-1"], r"`seed=-1` is out of range: seed must be an integer in \[0, 4294967295\]"),
        (["seed=4294967296"], r"`seed=4294967296` is out of range"),
        (
            ["dataset=csv", "dataset.path=t.csv", "dataset.split_seed=-1"],
            r"`dataset.split_seed=-1` is out of range",
        ),
        (
            ["trainer.lr_schedule=cosine", "trainer.epochs=100000000000000000000"],
            r"trainer.epochs must be an integer in \[1, 2147483647\] .*64-bit step counter",
        ),
        (
            ["trainer.lr_schedule=step", "trainer.epochs=100000", "trainer.lr_step_epochs=1"],
            r"trainer.lr_step_epochs must be at least \(trainer.epochs - 1\) / 1000 .*99999 times",
        ),
    ],
    ids=["seed -1", "seed 2^32", "split_seed -1", "epochs 1e20", "a million rate drops"],
)
def test_an_absurd_value_is_refused_by_validation(compose_train, overrides, problem):
    with pytest.raises(ConfigError, match=problem):
        validate(compose_train(*overrides))


@pytest.mark.parametrize(
    "overrides",
    [["seed=0"], ["seed=4294967295"], ["trainer.epochs=2147483647"]],
    ids=["seed 0", "seed 2^32-1", "epochs 2^31-1"],
)
def test_the_ends_of_each_range_are_accepted(compose_train, overrides):
    validate(compose_train(*overrides))
