"""Disentanglement metrics on constructed representations whose answers are known (their
parity with the reference code: test_disentanglement_parity.py)."""

import math

import numpy as np
import pytest

from aecli.evaluation import disentanglement as dis

# dSprites' factor grid without colour: shape, scale, orientation, posX, posY
SIZES = (3, 6, 40, 32, 32)
N = 4000


def _factors(n=N, seed=0, sizes=SIZES):
    """Factor classes drawn uniformly over the grid, as dSprites' sampler does."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, size, n) for size in sizes], axis=1)


def _perfect_code(factors, seed=1, noise=0.01):
    """Each factor standardised into its own latent, plus tiny noise."""
    rng = np.random.default_rng(seed)
    z = (factors - factors.mean(axis=0)) / factors.std(axis=0)
    return z + noise * rng.normal(size=z.shape)


def _rotate_pair(codes, i, j, angle=math.pi / 4):
    """Latents i and j rotated into each other: each mixes two factors."""
    out = codes.copy()
    c, s = math.cos(angle), math.sin(angle)
    out[:, i], out[:, j] = c * codes[:, i] - s * codes[:, j], s * codes[:, i] + c * codes[:, j]
    return out


FACTORS = _factors()
PERFECT = _perfect_code(FACTORS)
NOISE = np.random.default_rng(2).normal(size=(N, len(SIZES)))
# factors 0 (shape) and 2 (orientation) mixed by a 45-degree rotation
ROTATED = _rotate_pair(PERFECT, 0, 2)
# on dSprites-sized factors gradient-boosted DCI takes minutes: these codes use extra-trees, and
# the reference estimator is tested on small factors below and in test_disentanglement_parity.py
FAST = "extra_trees"
DCI_D, DCI_C, DCI_I = dis.dci_names(FAST)


@pytest.fixture(scope="module")
def scores():
    return {
        name: dis.all_metrics(codes, FACTORS, seed=0, dci_estimator=FAST)
        for name, codes in [("perfect", PERFECT), ("noise", NOISE), ("rotated", ROTATED)]
    }


def test_all_metrics_reports_every_key_in_unit_interval_and_is_deterministic(scores):
    again = dis.all_metrics(ROTATED, FACTORS, seed=0, dci_estimator=FAST)
    per_factor = tuple(f"mig_factor{j}" for j in range(len(SIZES)))
    assert tuple(again) == (*dis.metric_names(FAST), *per_factor)
    assert again == scores["rotated"]
    for result in scores.values():
        assert all(0.0 <= value <= 1.0 for value in result.values()), result


def test_factors_themselves_score_near_one(scores):
    perfect = scores["perfect"]
    assert perfect[DCI_D] > 0.97
    assert perfect[DCI_C] > 0.97
    assert perfect[DCI_I] > 0.97
    assert perfect["factor_vae_score"] == 1.0
    # 20 bins cap MIG for the 32- and 40-valued factors (test below); the few-valued ones reach 1
    assert dis.mig(PERFECT[:, :2], FACTORS[:, :2]) > 0.99
    assert perfect["mig"] > 0.85
    # the discrete SAP's 1-D linear classifiers cannot separate 40 classes: high only relative
    assert perfect["sap"] > 5 * scores["noise"]["sap"] + 0.1
    assert dis.sap(PERFECT, FACTORS, continuous=True) > 0.99


def test_independent_noise_scores_near_zero_and_factor_vae_near_chance(scores):
    noise = scores["noise"]
    assert noise["mig"] < 0.02
    assert noise["sap"] < 0.02
    assert noise[DCI_D] < 0.05
    assert noise[DCI_C] < 0.05
    chance = np.mean([1 / size for size in SIZES])
    assert noise[DCI_I] == pytest.approx(chance, abs=0.03)
    assert noise["factor_vae_score"] == pytest.approx(1 / len(SIZES), abs=0.06)


@pytest.mark.parametrize(
    "metric, margin",
    [
        ("mig", 0.05),
        ("sap", 0.02),
        (DCI_D, 0.05),
        (DCI_C, 0.05),
        ("factor_vae_score", 0.05),
    ],
)
def test_rotation_mixing_two_factors_scores_strictly_between_noise_and_factors(
    scores, metric, margin
):
    assert scores["noise"][metric] + margin < scores["rotated"][metric]
    assert scores["rotated"][metric] < scores["perfect"][metric] - margin


def test_continuous_sap_of_a_rotation_is_strictly_between_noise_and_factors():
    perfect, noise, rotated = (
        dis.sap(codes, FACTORS, continuous=True) for codes in (PERFECT, NOISE, ROTATED)
    )
    assert noise < 0.01 and perfect > 0.99
    assert 0.5 < rotated < 0.7  # the two mixed factors' gaps vanish: 3/5


def test_rotation_keeps_informativeness_since_it_loses_no_information(scores):
    assert scores["rotated"][DCI_I] > 0.95


def test_permuting_latents_leaves_scores_unchanged():
    perm = np.array([3, 0, 4, 1, 2])
    base = dis.all_metrics(ROTATED, FACTORS, seed=3, dci_estimator=FAST)
    permuted = dis.all_metrics(ROTATED[:, perm], FACTORS, seed=3, dci_estimator=FAST)
    for name in ("mig", "sap", "factor_vae_score"):
        assert permuted[name] == pytest.approx(base[name], abs=1e-12), name
    # the tree ensemble's random draws follow the column order: equal up to its randomness
    for name in (DCI_D, DCI_C, DCI_I):
        assert permuted[name] == pytest.approx(base[name], abs=0.02), name


def _numpy_mutual_info(a, b):
    """I(a; b) in nats from the contingency table of two integer vectors."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= joint.sum()
    outer = joint.sum(axis=1, keepdims=True) * joint.sum(axis=0, keepdims=True)
    nonzero = joint > 0
    return float(np.sum(joint[nonzero] * np.log(joint[nonzero] / outer[nonzero])))


def test_mig_matches_hand_computed_discrete_mutual_information():
    a = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    b = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    factors = np.stack([a, b], axis=1)
    # binary latents, so 2 bins put 0 in bin 1 and 1 in bin 2: a copy of a, a with two of its
    # eight values flipped, and b >= 2
    codes = np.stack([a, np.array([0, 0, 0, 1, 1, 1, 1, 0]), (b >= 2)], axis=1).astype(float)
    assert _numpy_mutual_info(codes[:, 0], a) == pytest.approx(math.log(2))
    assert _numpy_mutual_info(codes[:, 2], b) == pytest.approx(math.log(2))
    mi = np.array(
        [[_numpy_mutual_info(codes[:, i], factors[:, j]) for j in range(2)] for i in range(3)]
    )
    np.testing.assert_allclose(
        dis.discrete_mutual_info(dis.histogram_discretize(codes, 2), factors), mi, atol=1e-12
    )
    top = np.sort(mi, axis=0)[::-1]
    entropy = np.array([math.log(2), math.log(4)])
    expected = np.mean((top[0] - top[1]) / entropy)
    assert dis.mig(codes, factors, bins=2) == pytest.approx(expected, abs=1e-12)
    # factor b's best latent (z_2) carries log 2 of its log 4 nats
    assert expected < 1.0


def test_mig_of_a_perfect_code_is_capped_at_log_bins_over_log_values():
    factors = _factors(sizes=(40,))
    assert dis.mig(_perfect_code(factors), factors, bins=20) == pytest.approx(
        math.log(20) / math.log(40), abs=0.01
    )


def test_mig_per_factor_shows_which_factors_a_code_captures():
    # shape and orientation mixed by the rotation, the other three each in its own latent
    gaps = dis.mig_per_factor(ROTATED, FACTORS)
    perfect = dis.mig_per_factor(PERFECT, FACTORS)
    assert perfect.min() > 0.75  # each factor at its binning cap
    np.testing.assert_allclose(gaps[[1, 3, 4]], perfect[[1, 3, 4]], atol=0.01)
    assert gaps[0] < 0.1 and gaps[2] < 0.1
    assert dis.mig(ROTATED, FACTORS) == pytest.approx(gaps.mean(), abs=1e-12)
    names = ("shape", "scale", "orientation", "posX", "posY")
    scores = dis.mig_scores(ROTATED, FACTORS, factor_names=names)
    assert [scores[f"mig_{name}"] for name in names] == pytest.approx(list(gaps), abs=1e-12)
    with pytest.raises(ValueError, match="2 factor names for 5 factors"):
        dis.mig_scores(ROTATED, FACTORS, factor_names=names[:2])
    np.testing.assert_array_less(dis.mig_per_factor(NOISE, FACTORS), 0.05)


def test_a_factor_that_never_varies_has_no_gap_and_leaves_the_mean():
    factors = np.stack([FACTORS[:, 1], np.zeros(N, dtype=np.int64)], axis=1)
    codes = PERFECT[:, [1, 0]]
    gaps = dis.mig_per_factor(codes, factors)
    assert np.isnan(gaps[1]) and gaps[0] > 0.9
    assert dis.mig(codes, factors) == pytest.approx(gaps[0])


@pytest.mark.parametrize(
    "importance, expected_d, expected_c",
    [
        (np.eye(3), 1.0, 1.0),  # one latent per factor
        (np.ones((3, 3)), 0.0, 0.0),  # every latent matters equally for every factor
        (np.array([[1.0, 1.0], [0.0, 0.0]]), 0.0, 1.0),  # one latent encodes both factors
        (np.zeros((2, 3)), 0.0, 0.0),  # nothing predicts anything: equal weights, no order
        (
            np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 2.0]]),
            1.0,
            1.0 - 0.5 * math.log(2) / math.log(3),
        ),
    ],
)
def test_dci_reduces_importance_by_weighted_entropies(importance, expected_d, expected_c):
    assert dis.dci_disentanglement(importance) == pytest.approx(expected_d, abs=1e-6)
    assert dis.dci_completeness(importance) == pytest.approx(expected_c, abs=1e-6)


def test_gradient_boosted_dci_scores_factors_near_one_and_noise_near_zero():
    """The reference estimator on small factors (3, 4 and 5 values), where it takes seconds."""
    factors = _factors(n=450, sizes=(3, 4, 5))
    perfect = dis.dci(_perfect_code(factors), factors)
    assert min(perfect) > 0.95
    noise = dis.dci(np.random.default_rng(3).normal(size=(450, 3)), factors)
    assert max(noise[:2]) < 0.1
    assert noise[2] == pytest.approx(np.mean([1 / 3, 1 / 4, 1 / 5]), abs=0.06)


def test_factor_vae_score_never_chooses_a_collapsed_latent():
    collapsed = np.column_stack([PERFECT, np.zeros(N), 1e-3 * NOISE[:, 0]])
    assert dis.factor_vae_score(collapsed, FACTORS) == 1.0


def test_factor_vae_score_follows_the_generator_protocol_given_an_encoder():
    mean, std = FACTORS.mean(axis=0), FACTORS.std(axis=0)

    def encode(classes):
        return (classes - mean) / std

    def mixed(classes):
        return _rotate_pair(encode(classes), 0, 2)

    assert dis.factor_vae_score(PERFECT, FACTORS, encode=encode) == 1.0
    score = dis.factor_vae_score(ROTATED, FACTORS, encode=mixed)
    assert 0.7 < score < 0.9  # shape and orientation each pick either mixed latent: 3/5 + 2/5 / 2


def test_metrics_reject_mismatched_or_non_integer_factors():
    with pytest.raises(ValueError, match="share n"):
        dis.mig(PERFECT[:10], FACTORS[:11])
    with pytest.raises(ValueError, match="integer"):
        dis.mig(PERFECT, FACTORS.astype(float))


# Chen et al.'s sampled MIG: posteriors N(code, sigma^2) around the constructed codes
NARROW = np.full(PERFECT.shape, math.log(0.05**2))


def test_aggregate_posterior_entropy_matches_numerical_integration():
    """q(z) = 1/2 N(-2, 1) + 1/2 N(2, 0.25) (latent 0) and N(0, 1) (latent 1): the Monte Carlo
    estimate against the entropy integrated on a grid with NumPy."""
    rng = np.random.default_rng(3)
    half = 20000
    means = np.column_stack([np.repeat([-2.0, 2.0], half), np.zeros(2 * half)])
    log_vars = np.column_stack([np.repeat([0.0, math.log(0.25)], half), np.zeros(2 * half)])
    samples = means + np.exp(0.5 * log_vars) * rng.standard_normal(means.shape)
    drawn = rng.choice(2 * half, 4000, replace=False)

    def normal(z, mean, var):
        return np.exp(-((z - mean) ** 2) / (2 * var)) / math.sqrt(2 * math.pi * var)

    grid = np.linspace(-12, 12, 200001)
    mixture = 0.5 * normal(grid, -2, 1) + 0.5 * normal(grid, 2, 0.25)
    expected = [
        -np.trapezoid(mixture * np.log(mixture), grid),
        0.5 * math.log(2 * math.pi * math.e),
    ]
    estimate = dis.aggregate_posterior_entropy(samples[drawn], means, log_vars)
    np.testing.assert_allclose(estimate, expected, atol=0.04)


def test_sampled_mig_of_known_codes():
    perfect = dis.sampled_mig_per_factor(PERFECT, NARROW, FACTORS)
    assert perfect[:2].min() > 0.97  # few-valued factors, no binning cap here
    assert perfect.mean() > 0.8
    assert dis.sampled_mig_per_factor(NOISE, NARROW, FACTORS).max() < 0.03
    rotated = dis.sampled_mig_per_factor(ROTATED, NARROW, FACTORS)
    assert rotated[0] < 0.5 * perfect[0] and rotated[2] < 0.5 * perfect[2]  # the mixed pair
    np.testing.assert_allclose(rotated[[1, 3, 4]], perfect[[1, 3, 4]], atol=0.03)


def test_sampled_mig_sees_posterior_width_that_binned_means_ignore():
    """The same means with posteriors as wide as the codes' spread carry little information
    about the factors: the sampled MIG falls, the MIG of binned means cannot tell."""
    wide = np.zeros(PERFECT.shape)  # sigma = 1, the standardised codes' own spread
    assert dis.sampled_mig_per_factor(PERFECT, wide, FACTORS).mean() < 0.5 * (
        dis.sampled_mig_per_factor(PERFECT, NARROW, FACTORS).mean()
    )


def test_sampled_mig_is_seeded_permutation_invariant_and_named_per_factor():
    names = ("shape", "scale", "orientation", "posX", "posY")
    scores = dis.sampled_mig_scores(ROTATED, NARROW, FACTORS, seed=4, factor_names=names)
    keys = ["mig_sampled", "mig_sampled_all", *(f"mig_sampled_{name}" for name in names)]
    assert list(scores) == keys
    gaps = np.array([scores[f"mig_sampled_{name}"] for name in names])
    # Chen et al.'s dSprites figure leaves shape out; the mean over all five has its own name
    assert scores["mig_sampled"] == pytest.approx(gaps[1:].mean(), abs=1e-12)
    assert scores["mig_sampled_all"] == pytest.approx(gaps.mean(), abs=1e-12)
    unnamed = dis.sampled_mig_scores(ROTATED, NARROW, FACTORS, seed=4)
    assert unnamed["mig_sampled"] == unnamed["mig_sampled_all"]  # no factor called shape
    assert scores == dis.sampled_mig_scores(ROTATED, NARROW, FACTORS, seed=4, factor_names=names)
    order = np.random.default_rng(5).permutation(ROTATED.shape[1])
    permuted = dis.sampled_mig_per_factor(ROTATED[:, order], NARROW[:, order], FACTORS, seed=4)
    np.testing.assert_allclose(
        permuted, dis.sampled_mig_per_factor(ROTATED, NARROW, FACTORS, seed=4), atol=0.02
    )
    with pytest.raises(ValueError, match="log_vars"):
        dis.sampled_mig_per_factor(ROTATED, NARROW[:, :2], FACTORS)
