"""The children `up` runs next to the broker and ingest: Dagster, MLflow UI, the service."""

from __future__ import annotations

import sys
from pathlib import Path

from btc_platform.settings import Settings
from btc_platform.stack.child import Child

ROOT_FILES = ("workspace.yaml", "dagster.yaml", "bentofile.yaml")


def platform_children(settings: Settings) -> list[Child]:
    python = sys.executable
    ui, api, tracking = settings.ui_port, settings.api_port, settings.mlflow_port
    return [
        Child(
            "dagster",
            "Dagster UI: lineage, drains, retrains (Jobs -> retrain)",
            f"http://127.0.0.1:{ui}",
            "/server_info",
            [python, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(ui)],
        ),
        Child(
            "mlflow",
            "MLflow UI: training runs, plots, the model registry",
            f"http://127.0.0.1:{tracking}",
            "/health",
            [python, "-m", "btc_platform", "mlflow-ui", "--port", str(tracking)],
        ),
        Child(
            "predictor",
            "prediction API (POST /predict, OpenAPI page at /, live page at /dashboard)",
            f"http://127.0.0.1:{api}",
            "/livez",
            [python, "-m", "bentoml", "serve", "--host", "127.0.0.1", "--port", str(api)],
        ),
    ]


def dagster_home(settings: Settings, root: Path) -> Path:
    """An instance directory under the data dir: the repo's dagster.yaml with its storage
    moved there (so `up --data-dir X` keeps everything in X)."""
    home = (settings.data_dir / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = (root / "dagster.yaml").read_text().replace(".btc-platform/dagster", str(home))
    (home / "dagster.yaml").write_text(config)
    return home


def missing_root_files(root: Path) -> list[str]:
    return [name for name in ROOT_FILES if not (root / name).is_file()]
