"""Using a trained run on data it has never seen: `aecli predict` and `aecli export`, from the
run's own records alone (config, networks, preprocessing.json, anomaly.json)."""
