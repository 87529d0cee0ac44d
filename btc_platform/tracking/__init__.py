"""MLflow adapters: tracking runs, plots, the model registry and its champion alias."""
