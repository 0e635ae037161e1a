"""The ``catalogue`` command: parse options, call one function, map the result to an exit code.

Exit codes: 0 success, 1 content errors (or a failed build), 2 usage errors. Commands live
in one module per group (``build``, ``maintainers``, ``images``, ``lifecycle``, ``deploy``)
and take their shared options from ``options``; this package only assembles them, so no
command module imports another and nothing imports this one back.
"""

from __future__ import annotations

import click

from catalogue.cli import build, deploy, deposit, images, lifecycle, maintainers


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="catalogue")
def main() -> None:
    """Build a static website for an archive of bioimaging studies.

    Example: catalogue validate && catalogue build && catalogue serve
    """


for _module in (build, maintainers, images, lifecycle, deploy, deposit):
    for _command in _module.COMMANDS:
        main.add_command(_command)
