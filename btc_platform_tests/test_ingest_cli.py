"""`btc-platform ingest` end to end: a real process, a real broker, the fake exchange."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psutil
import pytest

from btc_platform.broker.embedded import EmbeddedBroker
from btc_platform.broker.topics import Topics, ensure_topics
from btc_platform.trades import Trade, trade_from_json
from btc_platform_tests.cli_helpers import cli_env, run_cli, start_cli
from btc_platform_tests.conftest import free_port, own_embedded_broker
from btc_platform_tests.fake_kraken.ledger import make_ledger
from btc_platform_tests.fake_kraken.server import FakeKraken, Script
from btc_platform_tests.ingest_helpers import topic_trades
from btc_platform_tests.kafka_helpers import read_topic
from btc_platform_tests.polling import wait_until
from btc_platform_tests.prometheus_helpers import scrape, value

SYNTHETIC = ["ingest", "--source", "synthetic", "--start", "2026-01-01T00:00:00Z"]


def log_events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


@pytest.fixture
def own_broker(tmp_path):
    with own_embedded_broker(tmp_path / "own-broker") as embedded:
        yield embedded


def ingest_from(
    fake: FakeKraken,
    broker: EmbeddedBroker,
    tmp_path,
    expect: int,
    *flags: str,
    while_running: Callable[[], None] = lambda: None,
    **env_vars: str,
) -> tuple[list[Trade], int, str, str]:
    """`ingest --source kraken` against the fake exchange until `expect` trades are in the
    topic, `while_running`, then Ctrl-C: the trades, the exit status, stdout and stderr."""
    env = cli_env(
        tmp_path,
        broker.bootstrap,
        BTC_KRAKEN_WS_URL=fake.ws_url,
        BTC_KRAKEN_REST_URL=fake.rest_url,
        **env_vars,
    )
    process = start_cli(["ingest", "--source", "kraken", *flags], env)
    try:
        trades = topic_trades(broker.bootstrap, "trades", expect=expect)
        while_running()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    return trades, process.returncode, out, err


def max_id_now(bootstrap: str) -> int:
    """The newest trade id in the topic right now (a short read while ingest goes on)."""
    records = read_topic(bootstrap, "trades", timeout=1.0, idle=0.3)
    return max((trade_from_json(r.value).trade_id for r in records), default=0)


@pytest.mark.slow
def test_ingest_survives_a_broker_outage_without_losing_trades(own_broker, tmp_path) -> None:
    env = cli_env(tmp_path / "state", own_broker.bootstrap)
    process = start_cli([*SYNTHETIC, "--speed", "200", "--limit", "10000"], env)
    try:
        deadline = time.monotonic() + 60
        while max_id_now(own_broker.bootstrap) < 500 and time.monotonic() < deadline:
            time.sleep(0.2)
        # Freeze ingest so that what the broker holds when it dies is exactly what we read.
        process.send_signal(signal.SIGSTOP)
        time.sleep(0.5)
        delivered_before_outage = max_id_now(own_broker.bootstrap)
        assert delivered_before_outage > 0
        # The broker crashes; in memory, what it held is gone with it.
        psutil.Process(own_broker.status().pid).kill()
        process.send_signal(signal.SIGCONT)
        time.sleep(7.0)  # longer than the producer's own delivery timeout
        own_broker.start()
        ensure_topics(own_broker.bootstrap, Topics().all())
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "ingested 10000 trades, 0 rejected" in out
    events = [e["event"] for e in log_events(err)]
    assert "kafka unavailable; buffering records and retrying" in events
    assert "kafka available again; re-sent buffered records" in events

    ids = {t.trade_id for t in topic_trades(own_broker.bootstrap, "trades")}
    assert delivered_before_outage < 5000, "the outage must begin while trades still flow"
    missing = set(range(delivered_before_outage + 1, 10_001)) - ids
    assert not missing, f"{len(missing)} trades lost, e.g. {sorted(missing)[:5]}"


def test_sigterm_flushes_every_accepted_trade(own_broker, tmp_path) -> None:
    topic_env = cli_env(tmp_path, own_broker.bootstrap)
    process = start_cli([*SYNTHETIC, "--speed", "100"], topic_env)
    deadline = time.monotonic() + 60
    while max_id_now(own_broker.bootstrap) <= 100 and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    count = int(out.split()[1])
    assert count > 100
    trades = topic_trades(own_broker.bootstrap, "trades")
    assert sorted(t.trade_id for t in trades) == list(range(1, count + 1))


def test_live_kraken_source_through_the_cli(own_broker, tmp_path) -> None:
    ledger = make_ledger(400, datetime.now(UTC).replace(microsecond=0), seed=9)
    script = Script(drops=[(150, 120)], interval=0.005, inject={300: [b'{"channel":"trade"']})
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    samples = []

    def read_metrics() -> None:  # once every trade is in the topic; ingest still runs
        wait_until(lambda: value(scrape(url), "btc_ingest_dlq_records_total") == 1, 30, "the DLQ")
        samples.extend(scrape(url))

    with FakeKraken({"BTC/USD": ledger}, script) as fake:
        trades, returncode, out, err = ingest_from(
            fake,
            own_broker,
            tmp_path,
            400,
            while_running=read_metrics,
            BTC_INGEST_METRICS_PORT=str(port),
        )
    assert returncode == 0, err
    assert sorted(t.trade_id for t in trades) == [t.trade_id for t in ledger]
    assert "ingested 400 trades, 1 rejected" in out
    events = log_events(err)
    assert any(
        e["event"] == "filled trade id gap from REST" and e["filled"] == 120 - 50 for e in events
    )
    assert value(samples, "btc_ingest_trades_total") == 400
    assert value(samples, "btc_ingest_reconnects_total") == 1  # the drop
    assert value(samples, "btc_ingest_gaps_total") == 1
    assert value(samples, "btc_ingest_gap_trades_filled_total") == 120 - 50  # beyond the snapshot
    assert value(samples, "btc_ingest_gap_trades_lost_total") == 0
    assert value(samples, "btc_ingest_buffered_records") == 0


def test_rest_backfill_then_resume_through_the_cli(own_broker, tmp_path) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    ledger = make_ledger(900, start, seed=10)
    with FakeKraken({"BTC/USD": ledger}, Script(page_size=100)) as fake:
        fake.happened["BTC/USD"] = 600  # the exchange's history so far
        env = cli_env(tmp_path, own_broker.bootstrap, BTC_KRAKEN_REST_URL=fake.rest_url)
        args = ["ingest", "--source", "rest", "--since", "2026-11-01T00:00:00Z", "--resume"]
        first = run_cli(args, env)
        fake.happened["BTC/USD"] = 900  # more trades happen; resume fetches only those
        second = run_cli(args, env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "ingested 600 trades" in first.stdout and "ingested 300 trades" in second.stdout
    ids = [t.trade_id for t in topic_trades(own_broker.bootstrap, "trades", expect=900)]
    assert sorted(ids) == [t.trade_id for t in ledger]


def test_usage_errors_name_the_flag(tmp_path) -> None:
    env = cli_env(tmp_path, "127.0.0.1:1")
    missing = run_cli(["ingest", "--source", "rest"], env)
    assert missing.returncode == 2 and "--since is required with --source rest" in missing.stderr
    bad_time = run_cli(["ingest", "--source", "rest", "--since", "last tuesday"], env)
    assert bad_time.returncode == 2 and "'last tuesday' is not ISO-8601" in bad_time.stderr
    bad_pair = run_cli(["ingest", "--source", "synthetic", "--pairs", "BTCUSD"], env)
    assert bad_pair.returncode == 2 and "BTCUSD is not a pair like BTC/USD" in bad_pair.stderr
    no_file = run_cli(["ingest", "--source", "csv", "--file", str(tmp_path / "x.csv")], env)
    assert no_file.returncode == 2 and "x.csv: no such file" in no_file.stderr


def test_a_backfill_hands_over_to_the_live_stream_without_gap_or_repeat(
    own_broker, tmp_path
) -> None:
    ledger = make_ledger(400, datetime.now(UTC) - timedelta(minutes=30), seed=4)
    with FakeKraken({"BTC/USD": ledger}, Script(interval=0.005)) as fake:
        fake.happened["BTC/USD"] = 300  # history that happened before ingest started
        trades, returncode, out, err = ingest_from(
            fake, own_broker, tmp_path, 400, "--backfill", "1h"
        )
    assert returncode == 0, err
    assert [t.trade_id for t in trades] == [t.trade_id for t in ledger]  # in order, once each
    sources = [t.source for t in trades]
    assert set(sources[:300]) == {"kraken-rest"} and set(sources[300:]) == {"kraken-ws"}
    assert "ingested 400 trades" in out
