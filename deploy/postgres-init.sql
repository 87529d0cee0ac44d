-- One Postgres for Dagster's instance storage (database `dagster`), MLflow's backend and the
-- offline store's DuckLake catalog.
CREATE DATABASE mlflow;
CREATE DATABASE ducklake;
