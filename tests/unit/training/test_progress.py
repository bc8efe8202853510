"""The epoch line: the same terms every epoch, the ones the model has, within the width."""

from aecli.training.progress import epoch_line, epoch_terms

TCVAE = ["kl", "kl_penalty", "loss", "mi", "recon", "tc", "dimwise_kl"]
TCVAE += [f"val_{name}" for name in TCVAE]


def _logs(names, value):
    return dict.fromkeys(names, value)


def test_the_terms_are_chosen_once_whatever_the_values():
    terms = epoch_terms(TCVAE, 10, 100)
    narrow = _logs(TCVAE, 1.5)
    wide = _logs(TCVAE, -250.9)
    assert (
        epoch_line(0, 10, narrow, 1.0, terms).split()[3::2]
        == epoch_line(5, 10, wide, 12.5, terms).split()[3::2]
    )


def test_beta_tcvae_shows_its_total_correlation_and_the_loss_comes_first():
    terms = epoch_terms(TCVAE, 10, 100)
    assert terms[:4] == ["loss", "val_loss", "recon", "val_recon"] and "tc" in terms
    line = epoch_line(0, 10, _logs(TCVAE, 3.25), 2.0, terms)
    assert line.startswith("epoch 1/10 2.0s  loss 3.25 recon 3.25 kl 3.25 tc 3.25  | val loss")


def test_every_line_fits_its_width_at_80_and_100_columns():
    for width in (80, 100):
        terms = epoch_terms([*TCVAE, "learning_rate"], 1000, width)
        for value in (0.5, -250.93, 1.23456e-05, 123456.7):
            assert (
                len(
                    epoch_line(
                        998, 1000, _logs([*TCVAE, "learning_rate"], value), 999.9, terms, width
                    )
                )
                <= width
            )


def test_schedule_terms_show_only_when_logged():
    names = ["loss", "recon", "kl", "val_loss", "val_recon", "val_kl"]
    assert not {"learning_rate", "beta_effective", "capacity"} & set(epoch_terms(names, 10))
    line = epoch_line(
        0,
        10,
        _logs([*names, "learning_rate"], 0.5),
        1.0,
        epoch_terms([*names, "learning_rate"], 10),
    )
    assert line.endswith("lr 0.5")
