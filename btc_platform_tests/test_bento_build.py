"""`bentoml build` at the repo root packs the service named in bentofile.yaml into a Bento."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bentoml_build_makes_a_bento_with_the_service_and_its_requirements(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BTC_")}
    env.update(BENTOML_HOME=str(tmp_path / "bentoml"), BTC_DATA_DIR=str(tmp_path / "data"))
    built = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", "--output", "tag"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    tag = built.stdout.strip().removeprefix("__tag__:")
    name, version = tag.split(":")
    assert name == "btc-price-predictor", built.stdout
    bento = tmp_path / "bentoml" / "bentos" / name / version
    manifest = yaml.safe_load((bento / "bento.yaml").read_text())
    assert manifest["service"] == "btc_platform.serving.service:PricePredictor"
    assert {api["name"] for api in manifest["schema"]["routes"]} >= {"predict", "predict_candles"}
    assert (bento / "src" / "btc_platform" / "serving" / "service.py").exists()
    requirements = (bento / "env" / "python" / "requirements.txt").read_text()
    assert "xgboost" in requirements and "mlflow" in requirements
    assert (bento / "env" / "docker" / "Dockerfile").exists()
