"""``python -m catalogue`` runs the command line, for machines without the script on PATH."""

from catalogue.cli import run

run()
