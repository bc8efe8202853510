"""aecli: a Hydra-driven experiment runner for autoencoders and VAEs."""

__version__ = "0.1.0"
