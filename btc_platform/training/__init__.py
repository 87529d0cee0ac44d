"""Training: dataset, walk-forward evaluation, quantile XGBoost, tuning, promotion (pure)."""
