"""`btc-platform mlflow-ui`: MLflow's UI on the platform's tracking store."""

from __future__ import annotations

import os
import sys

import click

from btc_platform.settings import Settings


@click.command("mlflow-ui")
@click.option("--port", type=click.IntRange(1, 65_535), help="Port [BTC_MLFLOW_PORT].")
@click.pass_obj
def mlflow_ui(settings: Settings, port: int | None) -> None:
    """Browse runs, plots and the model registry at http://127.0.0.1:PORT (Ctrl-C stops)."""
    from btc_platform.tracking.mlflow_setup import LOCAL_SCHEMES  # imports pandas: not at start

    uri = str(settings.mlflow_tracking_uri)
    if not uri.startswith(LOCAL_SCHEMES):
        raise click.UsageError(f"MLFLOW_TRACKING_URI={uri} is a server: open it directly")
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
    command += ["--default-artifact-root", settings.mlflow_artifacts.as_uri()]
    command += ["--host", "127.0.0.1", "--port", str(port or settings.mlflow_port)]
    # one local user: one worker, and no job runner (MLflow's GenAI jobs); four workers and
    # the runner cost a cold start about a minute of CPU on two cores (bench/up.py)
    command += ["--workers", "1"]
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    click.echo(f"MLflow UI on http://127.0.0.1:{port or settings.mlflow_port} for {uri}")
    os.execv(sys.executable, command)
