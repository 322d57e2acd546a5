"""`peering`: the project's command line (tooling only, never deployed).

    peering local up | demo         the local AWS emulator with the stack deployed in it
    peering executions list | show  workflow runs, against an account or the emulator
    peering diagnose <pcx-id>       the path analysis of one path through a peering, hop by hop
"""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="peering autopilot tooling.")


def _register() -> None:
    from . import diagnose, executions, local  # noqa: PLC0415 - each group imports its own heavy dependencies

    app.add_typer(local.app, name="local", help="The local AWS emulator with the stack deployed in it.")
    app.add_typer(executions.app, name="executions", help="List and show workflow executions.")
    app.command("diagnose", help="Explain a path through a peering, hop by hop.")(diagnose.diagnose_command)


def main() -> None:
    _register()
    app()


if __name__ == "__main__":
    main()
