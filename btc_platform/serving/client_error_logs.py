"""BentoML logs every request it refuses as invalid (a pydantic ValidationError, or its own
BadInput for a body that is not JSON: 400) as an ERROR with its traceback. Those are the
client's errors, already in the access log with their status: the filter drops them, and keeps
every error of the service's own."""

from __future__ import annotations

import logging

from bentoml.exceptions import BentoMLException
from pydantic import ValidationError

BENTOML_HTTP_LOGGER = "bentoml._internal.server.http_app"


class DropClientErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, BentoMLException):
            return error.error_code.value >= 500
        return not isinstance(error, ValidationError)


def quiet_client_errors() -> None:
    logger = logging.getLogger(BENTOML_HTTP_LOGGER)
    if not any(isinstance(f, DropClientErrors) for f in logger.filters):
        logger.addFilter(DropClientErrors())
