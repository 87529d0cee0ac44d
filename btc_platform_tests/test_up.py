"""`btc-platform up`: broker + ingest on embedded defaults, stopped cleanly by Ctrl-C."""

from __future__ import annotations

import signal
import socket

import psutil

from btc_platform_tests.cli_helpers import cli_env, run_cli, start_cli
from btc_platform_tests.conftest import free_port
from btc_platform_tests.ingest_helpers import topic_trades


def test_up_runs_broker_and_ingest_and_ctrl_c_leaves_nothing_behind(tmp_path) -> None:
    bootstrap = f"127.0.0.1:{free_port()}"
    process = start_cli(
        ["up", "--source", "synthetic", "--speed", "100"], cli_env(tmp_path, bootstrap)
    )
    try:
        trades = topic_trades(bootstrap, "trades", expect=200)
        broker_pid = int((tmp_path / "broker" / "broker.pid").read_text())
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert len(trades) >= 200 and {t.source for t in trades} == {"synthetic"}
    assert f"kafka   {bootstrap}" in out
    assert "broker stopped" in out
    assert not psutil.pid_exists(broker_pid)
    assert not (tmp_path / "broker" / "broker.pid").exists()


def test_up_reports_a_port_taken_by_another_program(tmp_path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = run_cli(["up", "--source", "synthetic"], cli_env(tmp_path, f"127.0.0.1:{port}"))
    assert result.returncode == 1
    assert f"nothing answers Kafka at 127.0.0.1:{port}" in result.stderr
