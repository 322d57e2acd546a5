"""`peering`: the project's command line (tooling only, never deployed).

    peering local up | demo         the local AWS emulator with the stack deployed in it
    peering executions list | show  workflow runs, against an account or the emulator
    peering diagnose <pcx-id>       the path analysis of one path through a peering, hop by hop
"""

from __future__ import annotations

import sys

import typer

# typer 0.29 (pinned) vendors click; its usage errors are not re-exported (tests/cli/test_arguments.py
# fails if this import moves).
from typer._click.exceptions import NoArgsIsHelpError, UsageError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="peering autopilot tooling.")


@app.callback()
def _group() -> None:
    """Keeps `peering` a group when only `diagnose` is registered (typer would make it the root command)."""


def _register_local() -> None:
    from . import local  # noqa: PLC0415 - the emulator imports moto: only for `peering local`

    app.add_typer(local.app, name="local", help="The local AWS emulator with the stack deployed in it.")


def _register_executions() -> None:
    from . import executions  # noqa: PLC0415

    app.add_typer(executions.app, name="executions", help="List and show workflow executions.")


def _register_diagnose() -> None:
    from . import diagnose  # noqa: PLC0415

    app.command("diagnose", help="Explain a path through a peering, hop by hop.")(diagnose.diagnose_command)


GROUPS = {"local": _register_local, "executions": _register_executions, "diagnose": _register_diagnose}


def _register(args: list[str]) -> None:
    """Only the group being run is imported (`peering executions ...` never imports moto); all of
    them for the top-level help or an unknown command."""
    wanted = [args[0]] if args and args[0] in GROUPS else list(GROUPS)
    for name in wanted:
        GROUPS[name]()


def run(args: list[str] | None = None) -> int:
    """The CLI's exit code. A usage error (unknown option, a value out of range, a missing argument) is
    one line on stderr and exit 2, not click's usage block; ``peering`` alone prints the help."""
    args = sys.argv[1:] if args is None else list(args)
    app.registered_groups.clear()
    app.registered_commands.clear()
    _register(args)
    try:
        code = app(args=args, prog_name="peering", standalone_mode=False)
    except NoArgsIsHelpError as e:
        e.show()
        return 2
    except UsageError as e:
        where = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
        typer.echo(f"error: {' '.join(e.format_message().split())}{where}", err=True)
        return 2
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        return 130
    return code if isinstance(code, int) else 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
