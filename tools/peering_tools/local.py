"""`peering local`: the embedded AWS emulator with the stack deployed in it.

    peering local up [--port 5000] [--console-port 0] [--parameter-overrides K=V ...]   serve until interrupted
    peering local demo [--port 0]                                    the seed scenario, end to end

Expected failures (a bad override, a busy port, a template the emulator cannot deploy) are one
sentence on stderr and exit code 2. The functions' own logs go to stderr, as ``sam local``'s do.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from peering.analysis import PathResult, analyze, endpoint_for_ip
from peering.aws.network import read_snapshot

from . import executions, inprocess, seed
from .emulator import Emulator, EmulatorError
from .template import TemplateError

app = typer.Typer(no_args_is_help=True, add_completion=False)

STATUS_TAG = "peering-automation/status"
REASON_TAG = "peering-automation/reason"
SUCCESS = ("verified",)
PROBE_PORT = 22
EXECUTION_START_TIMEOUT = 20.0
EXECUTION_TIMEOUT = 45.0
POLL = 0.2


class OverrideError(ValueError):
    """A --parameter-overrides value is malformed; the message says which."""


def parse_overrides(values: list[str]) -> dict[str, str]:
    """``sam deploy --parameter-overrides``: ``K=V`` or ``ParameterKey=K,ParameterValue=V``, space-separated."""
    overrides: dict[str, str] = {}
    for value in values:
        try:
            tokens = shlex.split(value)
        except ValueError as e:
            raise OverrideError(f"--parameter-overrides {value!r} cannot be parsed ({e}).") from e
        for token in tokens:
            if token.startswith("ParameterKey="):
                fields = dict(part.split("=", 1) for part in token.split(",") if "=" in part)
                key, val = fields.get("ParameterKey", ""), fields.get("ParameterValue")
                if not key or val is None or set(fields) != {"ParameterKey", "ParameterValue"}:
                    raise OverrideError(f"--parameter-overrides {token!r} must be ParameterKey=K,ParameterValue=V.")
            else:
                key, sep, val = token.partition("=")
                if not sep or not key:
                    raise OverrideError(f"--parameter-overrides {token!r} must be KEY=VALUE.")
            overrides[key] = val
    return overrides


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _start(emulator: Emulator) -> str:
    try:
        return emulator.start()
    except (TemplateError, EmulatorError) as e:
        emulator.stop()
        raise _fail(str(e)) from None


def _data_plane_choice(value: str | None) -> str:
    """--data-plane: 'netns' or 'analysis'; absent means netns where it can be made ('auto')."""
    if value is None:
        return "auto"
    if value not in ("netns", "analysis"):
        raise _fail(f"--data-plane must be netns or analysis, not {value!r}.")
    return value


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def up(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Loopback port to serve on.")] = 5000,
    parameter_overrides: Annotated[
        list[str] | None, typer.Option(
            "--parameter-overrides", help="Template parameters, as sam deploy takes them: K=V K2=V2 (separate "
                                          "words or one quoted string) or ParameterKey=K,ParameterValue=V.")
    ] = None,
    console_port: Annotated[int, typer.Option(min=0, max=65535, help="Loopback port of the local console; 0 picks "
                                                                     "a free one.")] = 0,
    data_plane: Annotated[
        str | None, typer.Option("--data-plane", help="netns: the probe's connects cross network namespaces built "
                                 "from the emulator's EC2 state (needs root); analysis: answered by the path "
                                 "analysis. Default: netns where it can be made, else analysis.")
    ] = None,
) -> None:
    """Start the emulator on 127.0.0.1, deploy the stack into it, and serve until interrupted."""
    if ctx.args and not parameter_overrides:  # words after --parameter-overrides K=V are more overrides
        raise _fail(f"unexpected argument {ctx.args[0]!r} (template parameters go after --parameter-overrides).")
    try:
        overrides = parse_overrides([*(parameter_overrides or []), *ctx.args])
    except OverrideError as e:
        raise _fail(str(e)) from None
    emulator = Emulator(port=port, parameter_overrides=overrides, data_plane=_data_plane_choice(data_plane),
                        console_port=console_port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    url = _start(emulator)
    print(emulator.data_plane_note, file=sys.stderr, flush=True)
    print(f"ready: {url}", flush=True)
    _print_console(emulator)
    print(f"aws cli: {aws_cli_prefix(emulator)} ...  (no credentials needed)", file=sys.stderr, flush=True)
    # stdout carries the ready and console lines; logs go to stderr, also those of functions still running while
    # the emulator stops (a Lambda thread's print after the redirect ended reached stdout under load)
    with contextlib.redirect_stdout(sys.stderr):
        try:
            while not stop.wait(0.5):
                pass
        finally:
            emulator.stop()
    _exit_now(0)


def _exit_now(code: int) -> None:
    """End the served process at once: everything it made is already stopped (server, seams; the data plane's
    namespaces go with the process), and a full interpreter shutdown only garbage-collects moto's state: SIGTERM
    to exit took 4.6 s idle and 13.1 s after one seed run on a loaded 2-core machine (faulthandler showed the main
    thread "Garbage-collecting" 3 s after SIGTERM), and 1.1 s after the same run with this."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def aws_cli_prefix(emulator: Emulator) -> str:
    """The AWS CLI against this emulator: unsigned requests are the stack's account and region (``unsigned``)."""
    return f"aws --endpoint-url {emulator.url} --region {emulator.region} --no-sign-request"


def _print_console(emulator: Emulator) -> None:
    """The second line of `peering local up`: where the local console is (the stack's ExecutionsConsoleUrl)."""
    if emulator.console_url:
        print(f"console: {emulator.console_url} (executions, graph, routes, flows, VPCs)", flush=True)


# -- demo ------------------------------------------------------------------------------------------
def _tags(ec2: Any, peering_id: str) -> dict[str, str]:
    found = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[peering_id])["VpcPeeringConnections"]
    return {t["Key"]: t["Value"] for t in (found[0].get("Tags", []) if found else [])}


def _find_execution(sfn: Any, machine_arn: str, peering_id: str) -> str | None:
    for execution in sfn.list_executions(stateMachineArn=machine_arn)["executions"]:
        if execution["name"].startswith(f"{peering_id}-"):
            return execution["executionArn"]
    return None


def _stages(sfn: Any, execution_arn: str) -> list[str]:
    """States entered so far, in order (Pass/Choice plumbing left out)."""
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    names = []
    for event in events:
        entered = event.get("stateEnteredEventDetails")
        if entered and event["type"] in ("TaskStateEntered", "WaitStateEntered", "ParallelStateEntered",
                                         "FailStateEntered"):
            names.append(entered["name"])
    return names


def _progress(stages: list[str], status: str, elapsed: float, last: int | None = None) -> Text:
    """``workflow [running, 0.8 s]: Inspect > Accept > ...`` (only the ``last`` stages on the live line)."""
    shown = stages[-last:] if last else stages
    trail = " > ".join((["..."] if len(shown) < len(stages) else []) + shown) or "starting"
    return Text.assemble(("workflow ", "bold"), (f"[{status.lower()}, {elapsed:.1f} s]", "dim"), ": ", trail)


def _route_lines(console: Console, ec2: Any, label: str, table_id: str) -> None:
    console.print(f"  {label} {table_id}")
    for destination, target in seed.routes(ec2, table_id):
        console.print(f"    {destination:<16} -> {target}")


def _reachability(ec2: Any, net: seed.SeedNetwork) -> PathResult:
    """A's instance to B's on the probe port, by the project's path analysis over the emulator's state."""
    snapshot = read_snapshot([(ec2, [net.vpc_a, net.vpc_b])])
    source = endpoint_for_ip(snapshot, net.ip_a)
    assert source is not None, "the seed network has an instance in VPC A"
    return analyze(snapshot, source, net.ip_b, PROBE_PORT)


def _reachability_line(ec2: Any, net: seed.SeedNetwork) -> str:
    result = _reachability(ec2, net)
    verdict = "reachable" if result.reachable else "unreachable"
    return f"  reachability {net.ip_a} -> {net.ip_b}:{PROBE_PORT} (emulated network, path analysis): {verdict}: " \
           f"{result.reason}"


def _data_plane_lines(console: Console, emulator: Emulator, net: seed.SeedNetwork) -> None:
    """A real ``ping -c 1`` from A's instance to B's and the probe's own TCP connect to B:22, both through
    the emulated data plane (network namespaces); one line saying why when there is none."""
    network = emulator.netns
    if network is None:
        console.print(f"  emulated data plane: none ({emulator.data_plane_note}); no packet was sent")
        return
    answered, summary = network.ping(net.ip_a, net.ip_b)
    console.print(f"  emulated data plane: ping -c 1 {net.ip_b} in instance-A's namespace ({net.ip_a}): "
                  f"{'answered' if answered else 'no answer'} ({summary})")
    result = network.connect(net.ip_b, PROBE_PORT, 1.0)
    outcome = f"connected in {result.latency_ms} ms" if result.reachable else result.error
    console.print(f"  emulated data plane: the probe's TCP connect from {network.probe_ip()} (its subnet "
                  f"{net.subnet_a}) to {net.ip_b}:{PROBE_PORT}: {outcome}")


@contextlib.contextmanager
def _quiet_functions() -> Iterator[None]:
    """The functions' INFO logs and metrics stay out of the demo; their warnings and errors go to stderr."""
    inprocess.set_process_env(POWERTOOLS_LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true")
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        yield


def _watch(console: Console, sfn: Any, machine_arn: str, peering_id: str) -> tuple[str, dict[str, Any]]:
    """Follow the peering's execution to its end; (execution ARN, describe_execution). Raises TimeoutError."""
    started = time.monotonic()
    execution_arn = None
    while execution_arn is None:
        if time.monotonic() - started > EXECUTION_START_TIMEOUT:
            raise TimeoutError(f"no workflow execution started for {peering_id} within {EXECUTION_START_TIMEOUT:.0f} s "
                               "(the CloudTrail event or the rule did not reach the intake function)")
        time.sleep(POLL)
        execution_arn = _find_execution(sfn, machine_arn, peering_id)
    live = (Live(_progress([], "RUNNING", 0.0), console=console, auto_refresh=False, transient=True)
            if console.is_terminal else None)
    with live or contextlib.nullcontext():  # a terminal: one line, redrawn, gone at the end; piped: nothing
        while True:
            elapsed = time.monotonic() - started
            described = sfn.describe_execution(executionArn=execution_arn)
            if live:
                live.update(_progress(_stages(sfn, execution_arn), described["status"], elapsed, last=3),
                            refresh=True)
            if described["status"] != "RUNNING":
                break
            if elapsed > EXECUTION_TIMEOUT:
                raise TimeoutError(f"the workflow for {peering_id} was still running after {EXECUTION_TIMEOUT:.0f} s")
            time.sleep(POLL)
    # The stages are listed once, in the timeline below.
    console.print(Text.assemble(("workflow ", "bold"), f"{described['status'].lower()} after {elapsed:.1f} s"))
    return execution_arn, described


def aligned(lines: list[str], gap: int = 2) -> list[str]:
    """Tab-separated lines (a table, as `executions show` pipes it) as space-aligned columns: each run
    of consecutive lines with tabs is one table; other lines are kept as they are."""
    out: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if table:
            widths = [max(len(row[i]) for row in table if i < len(row)) for i in range(max(map(len, table)))]
            out.extend("".join(cell.ljust(widths[i] + gap) for i, cell in enumerate(row)).rstrip() for row in table)
            table.clear()

    for line in lines:
        if "\t" in line:
            table.append(line.split("\t"))
        else:
            flush()
            out.append(line)
    flush()
    return out


def _heading(console: Console, title: str) -> None:
    if console.is_terminal:
        console.rule(title)
    else:
        console.print(f"== {title}")


def _show_seed(console: Console, net: seed.SeedNetwork) -> None:
    _heading(console, "The seed network")
    for side, cidr in (("a", "10.6.0.0/16"), ("b", "10.7.0.0/16")):
        v = vars(net)
        console.print(f"  VPC {side.upper()} {v[f'vpc_{side}']} {cidr}: subnet {v[f'subnet_{side}']}, "
                      f"internet gateway {v[f'igw_{side}']}, instance {v[f'instance_{side}']} ({v[f'ip_{side}']})")
    console.print(f"  VPC A's instance has the Elastic IP {net.eip_a} and a default route 0.0.0.0/0 -> {net.igw_a}; "
                  "VPC B has no default route")


def _run_demo(console: Console, emulator: Emulator) -> int:
    ec2, sfn = emulator.client("ec2"), emulator.client("stepfunctions")
    net = seed.build(ec2)
    _show_seed(console, net)
    emulator.redeploy(ProbeSubnetIds=net.subnet_a, ProbeSecurityGroupIds=net.sg_a)
    console.print(f"  the stack's probe function is attached to VPC A: subnet {net.subnet_a}, security group "
                  f"{net.sg_a} (sam deploy --parameter-overrides ProbeSubnetIds=... ProbeSecurityGroupIds=...)")
    _heading(console, "Before")
    _route_lines(console, ec2, "route table of VPC A", net.rtb_a)
    _route_lines(console, ec2, "route table of VPC B", net.rtb_b)
    console.print(_reachability_line(ec2, net))
    _data_plane_lines(console, emulator, net)

    _heading(console, "The peering, tagged for automation")
    peering_id = seed.request_peering(ec2, net, tagged=True)
    console.print(f"  CreateVpcPeeringConnection {net.vpc_a} -> {net.vpc_b} with {seed.TRIGGER_TAG}=true: {peering_id}")
    console.print("  (CloudTrail event -> EventBridge rule -> intake function -> Step Functions)")
    assert emulator.stack is not None
    try:
        execution_arn, described = _watch(console, sfn, emulator.stack.state_machine_arn, peering_id)
    except TimeoutError as e:
        console.print(f"[bold red]failed:[/] {e}.")
        return 1

    _heading(console, "After")
    _route_lines(console, ec2, "route table of VPC A", net.rtb_a)
    _route_lines(console, ec2, "route table of VPC B", net.rtb_b)
    console.print(_reachability_line(ec2, net))
    _data_plane_lines(console, emulator, net)
    tags = _tags(ec2, peering_id)
    status = tags.get(STATUS_TAG, "(no status tag)")
    console.print(f"  {peering_id} {STATUS_TAG} = {status}")
    _heading(console, "The execution, as `peering executions show` prints it")
    aws = executions.Aws(region=emulator.region, endpoint_url=emulator.url)
    detail = executions.detail_from(described, executions.all_events(aws, execution_arn))
    for line in aligned(executions.show_lines(detail)):
        console.print(f"  {line}", markup=False)
    if status in SUCCESS:
        console.print(f"[bold green]ok:[/] the peering is {status}.")
        return 0
    why = tags.get(REASON_TAG) or described.get("cause") or described.get("error") or "no reason was recorded"
    console.print(f"[bold red]failed:[/] the peering ended {status}, not verified: {why}")
    return 1


@app.command()
def demo(
    port: Annotated[int, typer.Option(min=0, max=65535, help="Loopback port; 0 picks a free one.")] = 0,
) -> None:
    """Reproduce the seed scenario with the automation deployed in the emulator, before and after."""
    # Bound to the real stdout now: the functions' output is redirected to stderr while the demo runs.
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    emulator = Emulator(port=port, data_plane="auto")
    try:
        with _quiet_functions():
            url = _start(emulator)
            console.print(f"emulator: {url} (stack {emulator.stack_name} deployed from template.yaml)")
            console.print(emulator.data_plane_note)
            code = _run_demo(console, emulator)
    finally:
        emulator.stop()
    raise typer.Exit(code)
