"""`peering executions list | show`: the commands, and their errors as one line with exit code 2.

Every failure the user can cause (unknown execution or peering, unreachable endpoint, missing
credentials or region, a history this version cannot read) ends with one line on stderr and exit
code 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from . import activity
from .aws import (
    DEFAULT_STACK,
    Aws,
    CliError,
    find_log_group,
    find_state_machine,
    history,
    region_of,
    resolve_execution,
    rows,
)
from .model import Unreadable, detail_from
from .render import activity_lines, activity_table, list_lines, list_table, print_show_rich, show_lines


@contextmanager
def cli_errors(aws: Aws) -> Iterator[None]:
    """Turn every expected failure into one line on stderr and exit code 2."""
    from botocore.exceptions import (  # noqa: PLC0415
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ReadTimeoutError,
    )

    try:
        yield
    except (CliError, Unreadable) as e:
        message = str(e)
    except (EndpointConnectionError, ConnectTimeoutError) as e:
        url = aws.endpoint_url or getattr(e, "kwargs", {}).get("endpoint_url") or "the AWS endpoint"
        message = f"Cannot reach {url}: is the endpoint up (for the emulator: peering local up)?"
    except ReadTimeoutError:
        message = f"{aws.endpoint_url or 'AWS'} did not answer in time."
    except NoCredentialsError:
        message = "No AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."
    except NoRegionError:
        message = "No AWS region: pass --region or set AWS_REGION."
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "Error")
        text = e.response.get("Error", {}).get("Message", "")
        if code == "ExecutionDoesNotExist":
            message = f"No such execution: {text.split(': ', 1)[-1].strip(chr(39)) or 'unknown'}."
        elif code == "StateMachineDoesNotExist":
            message = f"No such state machine: {text}"
        else:
            message = f"{e.operation_name} failed: {code}: {text}"
    except BotoCoreError as e:
        message = str(e)
    else:
        return
    typer.echo(" ".join(message.split()), err=True)
    raise typer.Exit(2)




app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="The workflow's executions: a table of runs, or one run's timeline and outcome.")

StateMachineArn = Annotated[str | None, typer.Option(
    "--state-machine-arn", help="The workflow; default: the stack output, else the *-PeeringStateMachine.")]
StackName = Annotated[str, typer.Option("--stack-name", help="The stack whose StateMachineArn output to use.")]
EndpointUrl = Annotated[str | None, typer.Option(
    "--endpoint-url", help="Another endpoint than AWS (e.g. the local emulator, http://127.0.0.1:5000).")]
Region = Annotated[str | None, typer.Option("--region", help="AWS region (default: the usual AWS configuration).")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


@app.command("list")
def list_command(
    state_machine_arn: StateMachineArn = None,
    stack_name: StackName = DEFAULT_STACK,
    endpoint_url: EndpointUrl = None,
    region: Region = None,
    as_json: AsJson = False,
    max_items: Annotated[int, typer.Option("--max", min=1, help="At most this many executions, newest first.")] = 50,
    everything: Annotated[bool, typer.Option(
        "--all", help="Also the intake's decisions, sweeps and cleanups (from the functions' log group).")] = False,
    log_group: Annotated[str | None, typer.Option(
        "--log-group", help="With --all: the functions' log group; default: the stack's FunctionLogGroupName.")] = None,
    days: Annotated[float, typer.Option("--days", min=0, help="With --all: how far back to read the log.")] = 7,
) -> None:
    """The newest executions: peering, both VPCs, status, stage reached, start time, duration."""
    aws = Aws(region or region_of(state_machine_arn), endpoint_url)
    done: list[activity.Activity] = []
    group = ""
    with cli_errors(aws):
        machine = state_machine_arn or find_state_machine(aws, stack_name)
        found = rows(aws.client("stepfunctions"), machine, max_items)
        if everything:
            since = datetime.now(UTC) - timedelta(days=days)
            group = log_group or find_log_group(aws, stack_name)
            done = activity.read(aws.client("logs"), group, since, max_items)
    if as_json:
        listed = [r.wire() for r in found]
        _print_json({"executions": listed, "activity": [a.wire() for a in done]} if everything else listed)
    elif sys.stdout.isatty():
        from rich.console import Console  # noqa: PLC0415

        console = Console()
        name = machine.rsplit(":", 1)[-1]
        console.print(list_table(found, f"{name}: {len(found)} execution(s), newest first"))
        if everything:
            console.print(activity_table(done, f"{group}: {len(done)} intake/sweep/cleanup run(s), newest first"))
    else:
        for line in list_lines(found):
            typer.echo(line)
        if everything:
            typer.echo("")
            for line in activity_lines(done):
                typer.echo(line)


@app.command("show")
def show_command(
    target: Annotated[str, typer.Argument(help="An execution ARN, or a pcx id for its newest execution.")],
    state_machine_arn: StateMachineArn = None,
    stack_name: StackName = DEFAULT_STACK,
    endpoint_url: EndpointUrl = None,
    region: Region = None,
    as_json: AsJson = False,
) -> None:
    """One execution: the stage timeline (durations, Lambda errors, retries) and its outcome."""
    aws = Aws(region or region_of(target) or region_of(state_machine_arn), endpoint_url)
    with cli_errors(aws):
        arn = resolve_execution(aws, target, state_machine_arn, stack_name)
        sfn = aws.client("stepfunctions")
        detail = detail_from(sfn.describe_execution(executionArn=arn), history(sfn, arn))
    if as_json:
        _print_json(detail.wire())
    elif sys.stdout.isatty():
        from rich.console import Console  # noqa: PLC0415

        print_show_rich(detail, Console())
    else:
        for line in show_lines(detail):
            typer.echo(line)
