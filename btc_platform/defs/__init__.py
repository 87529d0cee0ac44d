"""The Dagster code location: `workspace.yaml` loads `btc_platform.defs:defs`."""

from btc_platform.defs.definitions import defs

__all__ = ["defs"]
