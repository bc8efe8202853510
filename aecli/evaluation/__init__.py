"""What a trained model is measured by and makes: metrics, likelihood bounds, pictures,
reloading."""
