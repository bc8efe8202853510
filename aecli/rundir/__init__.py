"""A run's folder on disk: its layout, claiming it, status, atomic writes, listing runs."""
