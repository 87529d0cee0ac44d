"""Ports `up` needs, checked before anything starts."""

from __future__ import annotations

import socket

from btc_platform.settings import Settings


def taken_ports(settings: Settings) -> list[str]:
    """A line for each port another program already uses."""
    wanted = [
        (settings.ui_port, "Dagster UI", "BTC_UI_PORT"),
        (settings.mlflow_port, "MLflow UI", "BTC_MLFLOW_PORT"),
        (settings.api_port, "prediction API", "BTC_API_PORT"),
    ]
    taken = []
    for port, what, variable in wanted:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                taken.append(f"port {port} ({what}, {variable}) is already in use")
    return taken
