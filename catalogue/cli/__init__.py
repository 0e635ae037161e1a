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


def run() -> None:
    """The program's entry point (``catalogue`` and ``python -m catalogue``): ``main`` as a
    process of its own, so that ``build`` may end it without tearing down its objects
    (see ``build.exit_now``). Tests call ``main`` through click's runner instead."""
    build.PROCESS_OF_ITS_OWN = True
    main()
