"""Progress lines: counted, rated, and no more often than asked."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from btc_platform.ingest.progress import Progress
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
