"""What a multirun ends with: the summary table, files, plots and HParams."""
