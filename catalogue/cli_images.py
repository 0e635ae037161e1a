"""Commands registered on the `catalogue` group (see cli.py)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
