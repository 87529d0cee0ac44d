-- One Postgres for Dagster's instance storage (database `dagster`) and MLflow's backend.
CREATE DATABASE mlflow;
