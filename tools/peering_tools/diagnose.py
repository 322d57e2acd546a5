"""`peering diagnose <pcx-id>`: the path analysis on demand, hop by hop, against an account or the emulator.

    peering diagnose pcx-0123 [--from IP|subnet-id] [--to IP[:port]] [--endpoint-url URL] [--region R] [--json]

Reads both VPCs of the peering (``peering.aws.network.read_snapshot``; one client per region of the
peering, so an inter-region peering is read from both regions) and runs ``peering.analysis.analyze``
from the source to the destination: the flow is reachable when its **request path** and its **reply path**
are open (each hop says which path it is on; security groups are stateful, so a reply needs no rule of
its own, and a connection the other way is another flow — diagnose it with --from and --to swapped). Defaults:
from the first running instance of the requester VPC to
the first running instance of the accepter VPC on port 22. Output: a Rich table on a terminal, one
tab-separated line per hop when piped, or ``--json``; then the verdict.

Exit codes: 0 reachable, 1 blocked (the blocking component is named), 2 with one line on stderr for
input the command cannot use (bad id, unknown peering, unknown address, unreachable endpoint).
Only the peering's own account is read: the other side of a cross-account peering needs that
account's credentials, and without them the analysis says it cannot see the destination.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from peering.analysis import (
    Endpoint,
    PathResult,
    Snapshot,
    analyze,
    endpoint_for_ip,
    endpoint_for_subnet,
)
from peering.errors import PeeringError, PeeringNotFound
from peering.flows import first_running
from peering.records import PEERING_ID

from .executions import Aws, CliError, cli_errors

DEFAULT_PORT = 22

app = typer.Typer(add_completion=False)
"""A one-command app (runs as ``diagnose PCX-ID ...`` on its own). Mount it in the ``peering`` CLI with
``app.command("diagnose")(diagnose.diagnose_command)``: ``add_typer`` would make it a group."""


# == choosing the endpoints ========================================================================
@dataclass(frozen=True)
class Target:
    ip: str
    port: int

    def __str__(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"


def parse_target(text: str) -> Target:
    """``10.7.1.4:22``, ``10.7.1.4`` (port 22), ``[2600:1f18::5]:443`` or a bare IPv6 address."""
    value = text.strip()
    host, port = value, str(DEFAULT_PORT)
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise CliError(f"--to {text!r} is not IP:port.")
            port = rest[1:]
    elif value.count(":") == 1:
        host, port = value.split(":")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise CliError(f"--to {text!r} is not IP:port (e.g. 10.7.1.4:22).") from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise CliError(f"--to {text!r}: the port must be a number from 1 to 65535.")
    return Target(str(address), int(port))


def default_group(snapshot: Snapshot, vpc_id: str) -> tuple[str, ...]:
    return tuple(g.group_id for g in snapshot.security_groups.values() if g.vpc_id == vpc_id and g.name == "default")


def resolve_source(snapshot: Snapshot, value: str | None, vpc_id: str, groups: list[str]) -> Endpoint:
    """--from: an address of a known interface, a subnet id (with --from-sg, else the VPC's default group),
    or by default the requester VPC's first running instance."""
    if value is None:
        interface = first_running(snapshot, vpc_id)
        if interface is None:
            raise CliError(f"No running instance in the requester VPC {vpc_id}; pass --from IP or subnet-id.")
        endpoint = endpoint_for_ip(snapshot, interface.ips[0])
        assert endpoint is not None
        return endpoint
    value = value.strip()
    if value.startswith("subnet-"):
        subnet = snapshot.subnets.get(value)
        if subnet is None:
            raise CliError(f"Subnet {value} is in neither VPC of the peering.")
        return endpoint_for_subnet(snapshot, value, tuple(groups) or default_group(snapshot, subnet.vpc_id))
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise CliError(f"--from {value!r} is neither an IP address nor a subnet id.") from None
    endpoint = endpoint_for_ip(snapshot, value)
    if endpoint is None:
        raise CliError(f"No network interface in the peering's VPCs has the address {value}.")
    if groups:
        endpoint = Endpoint(endpoint.label, endpoint.subnet_id, tuple(groups), endpoint.ip)
    return endpoint


def check_arguments(source: str | None, target: str | None) -> None:
    """The syntax of --from and --to, checked before anything is read (``CliError`` when malformed)."""
    if target is not None:
        parse_target(target)
    if source is not None and not source.strip().startswith("subnet-"):
        try:
            ipaddress.ip_address(source.strip())
        except ValueError:
            raise CliError(f"--from {source!r} is neither an IP address nor a subnet id.") from None


def resolve_target(snapshot: Snapshot, value: str | None, vpc_id: str) -> Target:
    if value is not None:
        return parse_target(value)
    interface = first_running(snapshot, vpc_id)
    if interface is None:
        raise CliError(f"No running instance in the accepter VPC {vpc_id}; pass --to IP:port.")
    return Target(interface.ips[0], DEFAULT_PORT)


# == reading AWS ===================================================================================
@contextmanager
def project_errors() -> Iterator[None]:
    """The adapters' errors (already one sentence) as CLI errors: exit 2, one line."""
    try:
        yield
    except PeeringError as e:
        raise CliError(str(e)) from e


def diagnose(aws: Aws, peering_id: str, source: str | None, target: str | None,
             source_groups: list[str]) -> tuple[Endpoint, Target, PathResult]:
    """Read the peering and both VPCs, pick the endpoints, analyse."""
    from peering.aws.ec2 import Ec2  # noqa: PLC0415 - boto3 is imported only when a command runs
    from peering.aws.network import read_snapshot  # noqa: PLC0415

    with project_errors():
        try:
            peering = Ec2(aws.client("ec2")).peering(peering_id)
        except PeeringNotFound:
            peering = None
        if peering is None:
            where = f" at {aws.endpoint_url}" if aws.endpoint_url else ""
            raise CliError(f"No peering {peering_id} in {aws.client('ec2').meta.region_name}{where}.")
        by_region: dict[str, list[str]] = {}
        for side in (peering.requester, peering.accepter):
            by_region.setdefault(side.region or aws.client("ec2").meta.region_name, []).append(side.vpc_id)
        sources = [(_ec2_in(aws, region), vpcs) for region, vpcs in by_region.items()]
        snapshot = read_snapshot(sources, [peering_id])
    endpoint = resolve_source(snapshot, source, peering.requester.vpc_id, source_groups)
    destination = resolve_target(snapshot, target, peering.accepter.vpc_id)
    return endpoint, destination, analyze(snapshot, endpoint, destination.ip, destination.port, peering_id)


def _ec2_in(aws: Aws, region: str) -> Any:
    client = aws.client("ec2")
    if client.meta.region_name == region:
        return client
    return Aws(region, aws.endpoint_url).client("ec2")


# == rendering =====================================================================================
def verdict_line(result: PathResult) -> str:
    blocked = result.blocked_by
    return f"reachable: {result.reason}" if blocked is None else f"blocked by {blocked.component}: {result.reason}"


def hop_lines(result: PathResult) -> list[str]:
    """One tab-separated line per hop (verdict, kind, component, sentence, 'request path' or 'reply path'),
    then the verdict."""
    lines = [f"{'pass' if h.passed else 'BLOCK'}\t{h.kind}\t{h.component}\t{h.sentence}\t{h.path}"
             for h in result.hops]
    return [*lines, verdict_line(result)]


def print_rich(title: str, result: PathResult) -> None:
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, title_justify="left", show_lines=False)
    for column in ("#", "PATH", "CHECK", "COMPONENT", "VERDICT", "DETAIL"):
        table.add_column(column, overflow="fold")
    for number, hop in enumerate(result.hops, 1):
        verdict = "[green]pass[/]" if hop.passed else "[bold red]BLOCKED[/]"
        table.add_row(str(number), hop.path, hop.kind, hop.component, verdict, hop.sentence)
    console = Console()
    console.print(table)
    style = "bold green" if result.reachable else "bold red"
    console.print(f"[{style}]{'REACHABLE' if result.reachable else 'BLOCKED'}[/] {result.reason}", highlight=False)


# == the command ===================================================================================
@app.command()
def diagnose_command(
    peering_id: Annotated[str, typer.Argument(metavar="PCX-ID", help="The peering connection (pcx-...).")],
    source: Annotated[str | None, typer.Option(
        "--from", help="Source: an IP of an interface, or a subnet id. Default: the requester VPC's first "
                       "running instance.")] = None,
    target: Annotated[str | None, typer.Option(
        "--to", help="Destination IP:port. Default: the accepter VPC's first running instance, port 22.")] = None,
    source_groups: Annotated[list[str] | None, typer.Option(
        "--from-sg", help="Security group(s) of the source (repeatable); for a subnet the default is the "
                          "VPC's default group.")] = None,
    endpoint_url: Annotated[str | None, typer.Option(
        "--endpoint-url", help="Another endpoint than AWS (e.g. the local emulator, http://127.0.0.1:5000).")] = None,
    region: Annotated[str | None, typer.Option(
        "--region", help="AWS region of the peering (default: the usual AWS configuration).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")] = False,
) -> None:
    """Run the path analysis for a peering and print each hop with its verdict.

    Exit 0 when the path is open, 1 when a component blocks it, 2 when the input cannot be used.
    """
    aws = Aws(region, endpoint_url)
    with cli_errors(aws):
        if not PEERING_ID.match(peering_id):
            raise CliError(f"{peering_id!r} is not a peering id (pcx-...).")
        check_arguments(source, target)  # malformed --from/--to before any request
        endpoint, destination, result = diagnose(aws, peering_id, source, target, source_groups or [])
    if as_json:
        typer.echo(json.dumps({"peeringId": peering_id, "from": endpoint.label, "to": str(destination),
                               **result.wire()}, indent=2))
    elif sys.stdout.isatty():
        print_rich(f"{peering_id}: {endpoint.label} -> {destination} (tcp)", result)
    else:
        for line in hop_lines(result):
            typer.echo(line)
    raise typer.Exit(0 if result.reachable else 1)
