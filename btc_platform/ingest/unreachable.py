"""Why the exchange cannot be reached (DNS, refused, TLS, timeout), in one line a user can act on.

The first failure of a run of them is a warning that names the URL, the reason and the offline
way out; the retries after it (with backoff) are quieter lines that count the attempts.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

from btc_platform.logs import get_logger

log = get_logger("btc_platform.ingest")
OFFLINE_HINT = "no network? `--source synthetic` runs offline"


def _causes(error: BaseException) -> list[BaseException]:
    chain, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def unreachable_reason(error: BaseException) -> str | None:
    """What kept the connection from being made, or None when the error is not one of those
    (the exchange answered, then something else went wrong)."""
    for cause in _causes(error):
        if isinstance(cause, socket.gaierror):
            return f"the name does not resolve (DNS: {cause.strerror or cause})"
        if isinstance(cause, ConnectionRefusedError):
            return "the connection was refused (nothing listens there)"
        if isinstance(cause, ssl.SSLError):
            return f"the TLS handshake failed ({getattr(cause, 'reason', None) or cause})"
        if isinstance(cause, ConnectionResetError):
            return "the connection was reset while connecting (a TLS or proxy mismatch?)"
        if isinstance(cause, TimeoutError) or type(cause).__name__ == "ConnectTimeout":
            return "the connection timed out"
        if isinstance(cause, OSError) and cause.errno is not None:
            return f"the network failed ({cause.strerror or cause})"
    return None


@dataclass(frozen=True, slots=True)
class Unreachable:
    reason: str


class Reachability:
    """Tells the user once when `url` cannot be reached, and again only after it could be."""

    def __init__(self, what: str, url: str) -> None:
        self.what, self.url = what, url
        self.failures = 0

    def failed(self, reason: str, retry_in: float) -> None:
        self.failures += 1
        if self.failures == 1:
            log.warning(
                f"cannot reach {self.what} at {self.url}: {reason}; retrying with backoff "
                f"({OFFLINE_HINT})",
                retry_in=round(retry_in, 1),
            )
        else:
            log.info(
                f"{self.what} still unreachable",
                url=self.url,
                reason=reason,
                attempts=self.failures,
                retry_in=round(retry_in, 1),
            )

    def reached(self) -> None:
        if self.failures:
            log.info(f"{self.what} reached", url=self.url, after_attempts=self.failures)
        self.failures = 0
