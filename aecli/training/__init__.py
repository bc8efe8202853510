"""What runs around model.fit: hardware placement, callbacks, stopping, checkpoints."""
