"""A click group that imports a command's module only when that command runs.

Each command pulls in its own stack (pandas, DuckDB, Kafka, MLflow, Dagster); importing all
of them took seconds before any command could even report a usage error.
"""

from __future__ import annotations

import importlib

import click


class LazyGroup(click.Group):
    """`commands`: command name -> "module:attribute" of its click command."""

    def __init__(self, *args: object, commands: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy_commands = commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy_commands:
            return super().get_command(ctx, cmd_name)
        module, attribute = self.lazy_commands[cmd_name].split(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
        return command
