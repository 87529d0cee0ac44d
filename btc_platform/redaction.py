"""Credentials written into URIs (`scheme://user:password@host`) hidden wherever text leaves
the process: logs, status lines, answers that quote an error."""

from __future__ import annotations

import re
from collections.abc import MutableMapping

CREDENTIALS = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):[^@/\s]+@")
DSN_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?:'[^']*'|[^\s']+)")  # libpq key=value


def hide_credentials(text: str) -> str:
    """`text` with the password of every URI and libpq DSN in it replaced by ***."""
    return DSN_PASSWORD.sub(r"\g<head>***", CREDENTIALS.sub(r"\g<head>:***@", text))


def redact_event(_logger: object, _method: str, event: MutableMapping) -> MutableMapping:
    """A structlog processor: hide_credentials on every string of the event."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = hide_credentials(value)
    return event
