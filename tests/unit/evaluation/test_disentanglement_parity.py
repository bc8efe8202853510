"""aecli's disentanglement metrics against the reference code ported as oracles
(reference_oracles.py): equal to float precision where the estimator is the same and the inputs
identical; within a stated tolerance where each draws its own random samples."""

import math

import numpy as np
import pytest
import reference_oracles as ref

from aecli.evaluation import disentanglement as dis


def _factors(sizes, n, seed):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, size, n) for size in sizes], axis=1)


def _noisy_code(factors, noise, seed, extra=0):
    """Each factor standardised into its own latent plus N(0, noise^2), latents 0 and 1 rotated
    into each other, and `extra` latents of pure noise."""
    rng = np.random.default_rng(seed)
    z = (factors - factors.mean(axis=0)) / factors.std(axis=0)
    z = z + noise * rng.standard_normal(z.shape)
    c, s = math.cos(math.pi / 5), math.sin(math.pi / 5)
    z[:, 0], z[:, 1] = c * z[:, 0] - s * z[:, 1], s * z[:, 0] + c * z[:, 1]
    return np.column_stack([z, rng.standard_normal((len(z), extra))])


SIZES = (3, 6, 10, 8)
FACTORS = _factors(SIZES, 1500, seed=0)
CODES = {
    "random": np.random.default_rng(1).standard_normal((1500, 6)),
    "constructed": _noisy_code(FACTORS, 0.3, seed=2, extra=2),
}


@pytest.mark.parametrize("kind", sorted(CODES))
def test_mig_equals_disentanglement_libs_compute_mig(kind):
    codes = CODES[kind]
    assert dis.mig(codes, FACTORS) == pytest.approx(ref.compute_mig(codes.T, FACTORS.T), abs=1e-12)


@pytest.mark.parametrize("continuous", [False, True])
@pytest.mark.parametrize("kind", sorted(CODES))
def test_sap_equals_disentanglement_libs_compute_sap_on_the_same_split(kind, continuous):
    codes = CODES[kind]
    train, test = dis.train_test_split(len(codes), seed=3)
    expected = ref.compute_sap(
        codes[train].T, FACTORS[train].T, codes[test].T, FACTORS[test].T, continuous
    )
    assert dis.sap(codes, FACTORS, seed=3, continuous=continuous) == pytest.approx(
        expected, abs=1e-12
    )


def test_the_split_takes_disentanglement_libs_sample_sizes_where_the_points_hold_them():
    train, test = dis.train_test_split(20_000, seed=0)
    assert (len(train), len(test)) == (10_000, 5_000)
    assert len(np.intersect1d(train, test)) == 0
    train, test = dis.train_test_split(12_000, seed=0)  # fewer: the same 2:1 proportion
    assert (len(train), len(test)) == (8_000, 4_000)
    assert sorted(np.concatenate([train, test])) == list(range(12_000))


# DCI's gradient-boosted trees fit 100 stages x one tree per class: small factors keep it fast
DCI_SIZES = (2, 3, 4)
DCI_FACTORS = _factors(DCI_SIZES, 300, seed=4)
DCI_CODES = {
    "random": np.random.default_rng(5).standard_normal((300, 4)),
    "constructed": _noisy_code(DCI_FACTORS, 0.3, seed=6, extra=1),
}


@pytest.mark.parametrize("kind", sorted(DCI_CODES))
def test_dci_equals_disentanglement_libs_compute_dci_on_the_same_split(kind):
    """Gradient-boosted trees with the random_state aecli gives each factor (disentanglement_lib
    leaves it unset; it only breaks ties between splits that separate the same points)."""
    codes = DCI_CODES[kind]
    train, test = dis.train_test_split(len(codes), seed=7)
    expected = ref.compute_dci(
        codes[train].T,
        DCI_FACTORS[train].T,
        codes[test].T,
        DCI_FACTORS[test].T,
        [dis.dci_random_state(7, j) for j in range(len(DCI_SIZES))],
    )
    if kind == "random":
        importance, train_accuracy, test_accuracy = dis.dci_importance(
            codes[train], DCI_FACTORS[train], codes[test], DCI_FACTORS[test], "gbt", seed=7
        )
        np.testing.assert_allclose(importance, expected["importance_matrix"], rtol=0, atol=1e-12)
        assert train_accuracy == pytest.approx(expected["informativeness_train"], abs=1e-12)
        assert test_accuracy == pytest.approx(expected["informativeness_test"], abs=1e-12)
    else:
        reference = [expected[key] for key in ("disentanglement", "completeness")]
        assert dis.dci(codes, DCI_FACTORS, seed=7) == pytest.approx(
            [*reference, expected["informativeness_test"]], abs=1e-12
        )


def test_dci_reductions_equal_disentanglement_libs_on_random_and_degenerate_importances():
    rng = np.random.default_rng(8)
    for importance in [
        rng.random((10, 5)),
        rng.random((3, 7)) ** 4,
        np.eye(4)[:, :3],
        np.zeros((4, 3)),
    ]:
        assert dis.dci_disentanglement(importance) == pytest.approx(
            ref.disentanglement(importance), abs=1e-12
        )
        assert dis.dci_completeness(importance) == pytest.approx(
            ref.completeness(importance), abs=1e-12
        )


def test_extra_trees_are_reported_under_their_own_names():
    names = dis.metric_names("extra_trees")
    assert names[2:5] == (
        "dci_extra_trees_disentanglement",
        "dci_extra_trees_completeness",
        "dci_extra_trees_informativeness",
    )
    assert dis.metric_names()[2:5] == (
        "dci_disentanglement",
        "dci_completeness",
        "dci_informativeness",
    )
    codes = DCI_CODES["constructed"]
    scores = dis.all_metrics(codes, DCI_FACTORS, seed=0, dci_estimator="extra_trees")
    assert tuple(scores)[:6] == names
    assert scores[names[2]] == dis.dci(codes, DCI_FACTORS, 0, "extra_trees")[0]
    with pytest.raises(ValueError, match="unknown DCI estimator 'forest'"):
        dis.dci(codes, DCI_FACTORS, estimator="forest")


def test_factor_vae_prunes_dimensions_by_standard_deviation_as_disentanglement_lib():
    """A latent of std 0.1 (variance 0.01) is active under _prune_dims' std >= 0.05 (a variance
    threshold would drop it); one of std 0.03 is collapsed under both."""
    factors = _factors((3, 4, 5), 3000, seed=9)
    z = (factors - factors.mean(axis=0)) / factors.std(axis=0)
    codes = np.column_stack([0.1 * z[:, 0], z[:, 1:], 0.03 * z[:, 0]])
    std = codes.std(axis=0, ddof=1)
    np.testing.assert_array_equal(ref.prune_dims(std**2), [True, True, True, False])
    # factor 0 is held by the narrow latent alone: kept, the code classifies every vote
    assert dis.factor_vae_score(codes, factors) == 1.0
    assert dis.factor_vae_score(codes[:, [3, 1, 2]], factors) < 0.8  # pruned: none holds it


def test_factor_vae_votes_and_majority_vote_equal_disentanglement_libs():
    """The same batches, fixed factors and global variances: identical votes and accuracy."""
    rng = np.random.default_rng(10)
    num_factors, d = 4, 6
    global_std = np.array([1.0, 0.5, 2.0, 0.04, 1.5, 0.8])  # latent 3 collapsed
    active = ref.prune_dims(global_std**2)

    def batches(num):
        spread = rng.uniform(0.05, 1.0, (num, 1, d)) * global_std
        return rng.integers(0, num_factors, num), rng.standard_normal((num, 64, d)) * spread

    (train_fixed, train_batches), (eval_fixed, eval_batches) = batches(3000), batches(2000)
    expected = [
        ref.votes_of_batches(fixed, batch, global_std**2, active, num_factors)
        for fixed, batch in ((train_fixed, train_batches), (eval_fixed, eval_batches))
    ]
    votes = [
        dis.factor_vae_votes(fixed, batch, global_std, active, num_factors)
        for fixed, batch in ((train_fixed, train_batches), (eval_fixed, eval_batches))
    ]
    # disentanglement_lib stores a vote at the latent's index among the active ones
    for mine, theirs in zip(votes, expected, strict=True):
        np.testing.assert_array_equal(mine[:, active], theirs[:, : active.sum()])
        assert mine[:, ~active].sum() == 0
    assert dis.majority_vote_accuracy(*votes) == ref.eval_accuracy(*expected)


def test_factor_vae_score_follows_disentanglement_libs_protocol_within_sampling_error():
    """Generator protocol on both sides, each with its own draws (10,000 train and 5,000 eval
    votes of 64): the scores agree within 0.03, a few standard errors of 5,000 votes."""
    sizes = (3, 5, 8, 6)
    factors = _factors(sizes, 10_000, seed=11)
    mean, std = factors.mean(axis=0), factors.std(axis=0)

    def encode(classes):
        z = (classes - mean) / std
        c, s = math.cos(math.pi / 4), math.sin(math.pi / 4)
        mixed = np.column_stack([c * z[:, 0] - s * z[:, 2], s * z[:, 0] + c * z[:, 2]])
        return np.column_stack([mixed, z[:, [1, 3]]])

    mine = dis.factor_vae_score(encode(factors), factors, seed=0, encode=encode)
    theirs = ref.compute_factor_vae(sizes, encode, np.random.RandomState(0))
    assert 0.6 < theirs < 0.95  # the mixed pair's votes split: neither chance nor perfect
    assert mine == pytest.approx(theirs, abs=0.03)


# Chen et al.'s sampled MIG on a whole (small) factor grid, as their code runs on dSprites'
GRID = (3, 4, 5, 2)  # shape, scale, orientation, posX
GRID_NAMES = ("shape", "scale", "orientation", "posX")


def _grid_posterior(seed):
    factors = np.indices(GRID).reshape(len(GRID), -1).T
    rng = np.random.default_rng(seed)
    z = (factors - factors.mean(axis=0)) / factors.std(axis=0)
    means = np.column_stack([z[:, 1] + 0.3 * z[:, 0], z[:, 2], z[:, 3] - 0.5 * z[:, 2]])
    means = means + 0.2 * rng.standard_normal(means.shape)
    log_vars = np.log(rng.uniform(0.05, 0.5, means.shape) ** 2)
    return factors, means, log_vars


@pytest.mark.parametrize("seed", [0, 1])
def test_sampled_mig_equals_chen_et_als_mutual_info_metric_on_the_same_samples(seed):
    factors, means, log_vars = _grid_posterior(seed)
    samples = dis.posterior_samples(means, log_vars, seed)
    logsigma = 0.5 * log_vars
    rng = np.random.default_rng(seed)
    chen, marginal, cond = ref.mutual_info_metric_shapes(
        samples, means, logsigma, GRID, (1, 2, 3), rng
    )
    mi = dis.sampled_mutual_info(samples, means, log_vars, factors, seed)
    np.testing.assert_allclose(mi[:, 1:].T, np.clip(marginal - cond, 0, None), atol=1e-5)
    scores = dis.sampled_mig_scores(means, log_vars, factors, seed, GRID_NAMES)
    assert scores["mig_sampled"] == pytest.approx(chen, abs=1e-6)
    # every factor, shape included: their reduction extended to the four
    every, _, _ = ref.mutual_info_metric_shapes(samples, means, logsigma, GRID, (0, 1, 2, 3), rng)
    assert scores["mig_sampled_all"] == pytest.approx(every, abs=1e-6)
    gaps = [scores[f"mig_sampled_{name}"] for name in GRID_NAMES]
    assert scores["mig_sampled"] == pytest.approx(np.mean(gaps[1:]), abs=1e-12)
    assert scores["mig_sampled_all"] == pytest.approx(np.mean(gaps), abs=1e-12)
