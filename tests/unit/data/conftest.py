"""Fixtures of the data tests: a home with no dataset files but those a test writes."""

import pytest


@pytest.fixture
def isolated_home(tmp_path, monkeypatch):
    """No Keras cache and no Debian datasets: only what a test writes is found."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("AECLI_DEBIAN_DATASETS", str(tmp_path / "no-debian"))
    return home
