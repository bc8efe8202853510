"""`aecli compare`: what sets runs apart (their config), what it did (their metrics), and how each
learned (its validation loss per epoch)."""
