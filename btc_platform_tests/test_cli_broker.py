"""`btc-platform broker start|stop|status` as a user runs it."""

from __future__ import annotations

import psutil
from kafka import KafkaAdminClient

from btc_platform_tests.cli_helpers import cli_env, run_cli
from btc_platform_tests.conftest import free_port


def topics_at(bootstrap: str) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def test_start_status_stop_lifecycle(tmp_path) -> None:
    bootstrap = f"127.0.0.1:{free_port()}"
    env = cli_env(tmp_path, bootstrap)
    try:
        started = run_cli(["broker", "start"], env)
        assert started.returncode == 0, started.stderr
        assert f"started broker at {bootstrap}" in started.stdout
        assert {"trades", "trades.dlq", "predictions"} <= topics_at(bootstrap)

        status = run_cli(["broker", "status"], env)
        assert status.returncode == 0 and "running (pid" in status.stdout
        pid = int((tmp_path / "broker" / "broker.pid").read_text())
        assert "tansu" in psutil.Process(pid).cmdline()[0]

        again = run_cli(["broker", "start"], env)
        assert "using the running broker" in again.stdout
        assert int((tmp_path / "broker" / "broker.pid").read_text()) == pid
    finally:
        stopped = run_cli(["broker", "stop"], env)
    assert stopped.stdout.strip() == "broker stopped"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    down = run_cli(["broker", "status"], env)
    assert down.returncode == 1 and "not running" in down.stdout
    assert run_cli(["broker", "stop"], env).stdout.strip() == "no embedded broker running"


def test_a_broker_already_answering_is_used_not_replaced(broker, tmp_path) -> None:
    result = run_cli(["broker", "start"], cli_env(tmp_path, broker.bootstrap))
    assert result.returncode == 0, result.stderr
    assert f"using the running broker at {broker.bootstrap}" in result.stdout
    assert not (tmp_path / "broker" / "broker.pid").exists()
    assert {"trades", "trades.dlq"} <= topics_at(broker.bootstrap)


def test_a_bad_setting_fails_before_anything_starts(tmp_path) -> None:
    env = cli_env(tmp_path, "127.0.0.1:9092", BTC_KAFKA_PARTITIONS="lots")
    result = run_cli(["broker", "start"], env)
    assert result.returncode == 2
    assert "invalid setting BTC_KAFKA_PARTITIONS='lots'" in result.stderr
    assert not (tmp_path / "broker").exists()
