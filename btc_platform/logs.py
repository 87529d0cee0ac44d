"""Structured logging: quiet by default, human-readable on a terminal, JSON lines otherwise."""

from __future__ import annotations

import logging
import os
import sys

import structlog

from btc_platform.redaction import redact_event

NOISY_LIBRARIES = ("kafka", "websockets", "httpx", "httpcore", "mlflow", "alembic", "urllib3")


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Configure structlog and the stdlib loggers of the libraries we use."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # MLflow sets its own logger's level when imported (later, lazily): tell it by env.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "DEBUG" if level == "DEBUG" else "ERROR")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    quiet = logging.DEBUG if level == "DEBUG" else logging.CRITICAL
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)
