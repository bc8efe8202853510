"""Config schema, its registration with Hydra, and validation of a composed run."""
