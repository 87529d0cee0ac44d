"""Progress lines: counted, rated, and no more often than asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from btc_platform.ingest.progress import Progress, latest_report
from btc_platform.ingest.rest_backfill import coverage_figures
from btc_platform.logs import configure_logging


@pytest.fixture
def info_logs():
    configure_logging("INFO", "json")
    yield
    configure_logging("WARNING", "console")


def test_reports_count_rate_and_extra_figures_when_due(info_logs) -> None:
    now = [100.0]
    progress = Progress("draining", unit="messages", every_seconds=10, clock=lambda: now[0])
    with capture_logs() as logs:
        now[0] = 105.0
        progress.advance(500)  # not due yet
        now[0] = 110.0
        progress.advance(500, lambda: {"trades_added": 7})
        now[0] = 115.0
        progress.advance(1)
    assert logs == [
        {
            "event": "draining",
            "log_level": "info",
            "messages": 1_000,
            "per_second": 100.0,
            "trades_added": 7,
        }
    ]
    # the newest report stays readable in the process (what `up`'s status line shows)
    assert latest_report("draining") == {"messages": 1_000, "per_second": 100.0, "trades_added": 7}
    assert latest_report("never reported") is None


def test_a_backfill_reports_the_share_covered_and_its_eta() -> None:
    now = [0.0]
    progress = Progress("rest backfill", clock=lambda: now[0])
    progress.count, now[0] = 100, 50.0  # 50 s to cover the first 6 of 12 hours
    start = datetime(2026, 11, 1, tzinfo=UTC)
    half = coverage_figures(
        "BTC/USD", start, start + timedelta(hours=6), start + timedelta(hours=12), progress
    )
    assert half == {
        "pair": "BTC/USD",
        "covered": "2026-11-01T00:00:00.000000Z -> 2026-11-01T06:00:00.000000Z",
        "fraction": 0.5,
        "eta_seconds": 50,
    }
