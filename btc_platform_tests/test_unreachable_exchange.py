"""An exchange that cannot be reached (refused, TLS, DNS) is said in one line with the URL,
the reason and the offline way out, while ingest keeps retrying with backoff."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import threading

import httpx
import pytest

from btc_platform.ingest.unreachable import unreachable_reason
from btc_platform_tests.cli_helpers import PipeLines, cli_env, start_cli
from btc_platform_tests.conftest import free_port, own_embedded_broker
from btc_platform_tests.polling import wait_until

HINT = "no network? `--source synthetic` runs offline"


class Lines(PipeLines):
    """The JSON log lines a running command writes to stderr, collected as they come."""

    def __init__(self, process) -> None:
        super().__init__(process.stderr)

    @property
    def events(self) -> list[dict]:
        return [json.loads(line) for line in list(self.lines) if line.startswith("{")]

    def matching(self, start: str) -> list[dict]:
        return [e for e in self.events if e["event"].startswith(start)]


@pytest.fixture
def own_broker(tmp_path):
    with own_embedded_broker(tmp_path / "own-broker") as embedded:
        yield embedded


def ingest_until(args: list[str], env: dict, start: str, count: int = 1) -> list[dict]:
    """Run `ingest` until `count` log lines start with `start`; Ctrl-C; all its log lines."""
    process = start_cli(["ingest", *args], env)
    lines = Lines(process)
    try:
        wait_until(
            lambda: len(lines.matching(start)) >= count,
            90,
            f"{count} log line(s) starting {start!r}",
            interval=0.2,
            process=process,
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert process.returncode == 0
    return lines.events


def refused(what: str, url: str) -> str:
    return (
        f"cannot reach {what} at {url}: the connection was refused (nothing listens there); "
        f"retrying with backoff ({HINT})"
    )


def test_a_refused_websocket_is_said_once_then_retried_quietly(own_broker, tmp_path) -> None:
    url = f"ws://127.0.0.1:{free_port()}/v2"
    env = cli_env(tmp_path, own_broker.bootstrap, BTC_KRAKEN_WS_URL=url)
    events = ingest_until(["--source", "kraken"], env, "the Kraken WebSocket still unreachable", 2)
    [warning] = [e for e in events if e["event"].startswith("cannot reach")]
    assert warning["event"] == refused("the Kraken WebSocket", url)
    assert warning["level"] == "warning" and warning["retry_in"] > 0
    retries = [e for e in events if e["event"] == "the Kraken WebSocket still unreachable"]
    assert [e["attempts"] for e in retries[:2]] == [2, 3]
    assert {e["level"] for e in retries} == {"info"}


@pytest.fixture
def plain_http_port():
    """A server that answers a TLS hello in plain HTTP, as a misconfigured proxy would."""
    with socket.create_server(("127.0.0.1", 0)) as server:

        def answer() -> None:
            while True:
                try:
                    client, _ = server.accept()
                except OSError:
                    return
                with client:
                    client.recv(4096)
                    client.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")

        threading.Thread(target=answer, daemon=True).start()
        yield server.getsockname()[1]


def test_a_tls_failure_and_a_refused_rest_api_are_named(
    own_broker, tmp_path, plain_http_port
) -> None:
    tls = f"wss://127.0.0.1:{plain_http_port}/v2"
    env = cli_env(tmp_path, own_broker.bootstrap, BTC_KRAKEN_WS_URL=tls)
    events = ingest_until(["--source", "kraken"], env, "cannot reach")
    [warning] = [e for e in events if e["event"].startswith("cannot reach")]
    assert warning["event"] == (
        f"cannot reach the Kraken WebSocket at {tls}: the TLS handshake failed "
        f"(WRONG_VERSION_NUMBER); retrying with backoff ({HINT})"
    )
    rest = f"http://127.0.0.1:{free_port()}"
    env = cli_env(tmp_path, own_broker.bootstrap, BTC_KRAKEN_REST_URL=rest)
    args = ["--source", "rest", "--since", "2026-11-01T00:00:00Z"]
    events = ingest_until(args, env, "cannot reach")
    assert [e["event"] for e in events if e["event"].startswith("cannot reach")] == [
        refused("the Kraken REST API", rest)
    ]


def test_the_reasons_are_told_apart() -> None:
    def wrapped(cause: BaseException) -> httpx.ConnectError:
        try:
            raise httpx.ConnectError("connect failed") from cause
        except httpx.ConnectError as error:
            return error

    dns = wrapped(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    assert unreachable_reason(dns) == "the name does not resolve (DNS: Name or service not known)"
    tls = wrapped(ssl.SSLCertVerificationError(1, "certificate verify failed"))
    assert unreachable_reason(tls).startswith("the TLS handshake failed")
    assert unreachable_reason(wrapped(TimeoutError())) == "the connection timed out"
    assert unreachable_reason(ValueError("the exchange answered nonsense")) is None
