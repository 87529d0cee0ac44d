"""`btc-platform up`: the whole platform on embedded defaults from one command; a first
model and a prediction within minutes on the synthetic market; Ctrl-C leaves nothing."""

from __future__ import annotations

import signal
import socket

import httpx
import psutil
import pytest
from mlflow.tracking import MlflowClient

from btc_platform_tests.cli_helpers import PipeLines, cli_env, run_cli, start_cli
from btc_platform_tests.conftest import free_port
from btc_platform_tests.polling import http_status, wait_until

RUNS = "{ runsOrError { ... on Runs { results { jobName status tags { key value } } } } }"


def platform_env(tmp_path, **extra: str) -> dict[str, str]:
    return cli_env(
        tmp_path,
        f"127.0.0.1:{free_port()}",
        BTC_UI_PORT=str(free_port()),
        BTC_API_PORT=str(free_port()),
        BTC_MLFLOW_PORT=str(free_port()),
        **extra,
    )


def runs(ui_port: str) -> list[dict]:
    try:
        answer = httpx.post(f"http://127.0.0.1:{ui_port}/graphql", json={"query": RUNS}, timeout=5)
        return answer.json()["data"]["runsOrError"]["results"]
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        return []


TOKEN = "up-test-token-0123456789abcdef"
RESTARTED = "| restarts: mlflow restarted 1x (last: killed by SIGKILL)"


def run_states(ui_port: str, tmp_path) -> str:
    """What a failed wait shows: every run's job and status, and the end of Dagster's log."""
    states = [f"{r['jobName']}: {r['status']}" for r in runs(ui_port)]
    log = tmp_path / "logs" / "dagster.log"
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no dagster.log)"
    return f"runs: {states}\ndagster.log ends:\n{tail}"


def mlflow_ui(up_pid: int) -> psutil.Process:
    [child] = [c for c in psutil.Process(up_pid).children() if "mlflow" in " ".join(c.cmdline())]
    return child


def prediction(api_port: str) -> dict | None:
    try:
        answer = httpx.post(
            f"http://127.0.0.1:{api_port}/predict",
            json={"pair": "BTC/USD"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
    except httpx.HTTPError:
        return None
    return answer.json() if answer.status_code == 200 else None


@pytest.mark.slow
@pytest.mark.timeout(1500)  # its own waits (first drain, first prediction, shutdown) bound it
def test_up_brings_the_platform_to_a_prediction_and_ctrl_c_leaves_nothing(tmp_path) -> None:
    env = platform_env(
        tmp_path, BTC_DRAIN_SENSOR_SECONDS="5", BTC_TRAINING_TRIALS="3", BTC_API_TOKEN=TOKEN
    )
    process = start_cli(["up", "--source", "synthetic", "--status-every", "10"], env)
    out_lines, err_lines = PipeLines(process.stdout), PipeLines(process.stderr)
    try:
        drained = wait_until(
            lambda: [
                r
                for r in runs(env["BTC_UI_PORT"])
                if r["jobName"] == "drain" and r["status"] == "SUCCESS"
            ],
            480,  # a busy 2-core machine: Dagster, its daemon and a run process start first
            "a successful drain",
            interval=2,
            process=process,
            explain=lambda: run_states(env["BTC_UI_PORT"], tmp_path),
        )
        assert drained
        answer = wait_until(
            lambda: prediction(env["BTC_API_PORT"]),
            600,
            "a prediction",
            interval=2,
            process=process,
            explain=lambda: run_states(env["BTC_UI_PORT"], tmp_path),
        )
        retrains = [r for r in runs(env["BTC_UI_PORT"]) if r["jobName"] == "retrain"]
        # A child that dies is brought back: kill the MLflow UI as a crash would.
        killed = mlflow_ui(process.pid)
        killed.send_signal(signal.SIGKILL)
        health = f"http://127.0.0.1:{env['BTC_MLFLOW_PORT']}/health"
        wait_until(
            lambda: mlflow_ui(process.pid).pid != killed.pid and http_status(health) == 200,
            180,
            "the MLflow UI restarted",
            interval=1,
            ignore=(ValueError, psutil.Error),  # between the kill and the restart: no child
            process=process,
        )
        children = psutil.Process(process.pid).children(recursive=True)
        wait_until(  # a status line (every 10 s) that saw the champion and the restart
            lambda: any(
                line.startswith("status") and "champion: v" in line and RESTARTED in line
                for line in list(out_lines.lines)
            ),
            120,
            "a status line naming the champion and the MLflow UI's restart",
            interval=1,
            process=process,
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=180)
        out, err = out_lines.text(), err_lines.text()
    assert process.returncode == 0, err[-3000:]
    assert answer["pair"] == "BTC/USD" and answer["band_low"] < answer["band_high"]
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    champion = client.get_model_version_by_alias("btc-price-BTC-USD-5m", "champion")
    # the first retrain made the EWMA-blend rule v1 (the champion in seconds), then trained
    # v2, which replaced it only if it won significantly; an answer says which answered
    rule = client.get_model_version("btc-price-BTC-USD-5m", "1")
    assert rule.tags["baseline_rule"] == "ewma_blend_rule"
    assert str(champion.version) in {"1", "2"}
    assert answer["model_version"] in {"1", "2"}
    assert answer["answered_by"] == (
        "ewma_blend_rule" if answer["model_version"] == "1" else "model"
    )
    # The retrain sensor launched it and said why.
    reasons = [t["value"] for r in retrains for t in r["tags"] if t["key"] == "retrain_reason"]
    assert any(
        reason.startswith("BTC/USD 5m: no champion yet and ")
        and "(first-model budget: 3 trials" in reason
        for reason in reasons
    ), retrains
    assert any("champion: v" in line for line in out.splitlines() if line.startswith("status"))
    # the status line reads the guarded API with the token, and no log or line shows it
    assert any("last prediction: BTC/USD " in line for line in out.splitlines()), out
    logs = "".join(path.read_text() for path in (tmp_path / "logs").glob("*.log"))
    assert TOKEN not in out + err + logs
    # The status line named each stage it passed through, in the order of a cold start.
    stages = [
        line.split("  ", 1)[1].split(" (")[0].split(" |")[0]
        for line in out.splitlines()
        if line.startswith("status  ")
    ]
    passed = list(dict.fromkeys(stages))
    order = ["draining", "first training", "prediction service catching up", "serving"]
    assert passed[0] in order[:2] and passed[-1] == "serving", passed
    assert passed == [name for name in order if name in passed], passed
    assert all(
        "candles for a first model" in line
        for line in out.splitlines()
        if line.startswith("status  draining")
    ), out
    assert "mlflow exited unexpectedly (killed by SIGKILL); restarting in 2 s" in out, out
    assert "mlflow restarted (restart 1)" in out
    assert RESTARTED in out
    for name in ("dagster", "mlflow", "predictor"):
        assert f"{name} stopped" in out
    assert "broker stopped" in out
    _, alive = psutil.wait_procs(children, timeout=30)
    leftovers = [" ".join(c.cmdline()[:4]) for c in alive if c.status() != psutil.STATUS_ZOMBIE]
    assert leftovers == [], "up left processes behind"


def test_a_port_in_use_is_reported_before_anything_starts(tmp_path) -> None:
    env = platform_env(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(env["BTC_UI_PORT"])))
        squatter.listen()
        result = run_cli(["up", "--source", "synthetic"], env)
    assert result.returncode == 1
    assert f"port {env['BTC_UI_PORT']} (Dagster UI, BTC_UI_PORT) is already in use" in (
        result.stderr
    )
    assert not (tmp_path / "broker").exists()  # nothing was started


def test_up_reports_a_kafka_port_taken_by_another_program(tmp_path) -> None:
    env = platform_env(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        env["BTC_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{port}"
        result = run_cli(["up", "--source", "synthetic"], env)
    assert result.returncode == 1
    assert f"nothing answers Kafka at 127.0.0.1:{port}" in result.stderr
