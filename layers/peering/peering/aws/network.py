"""Network adapter: read what the path analysis needs (``peering.analysis.Snapshot``) from EC2.

One call per ``describe_*`` API and client, filtered by VPC id on the server *and* again here
(moto ignores some filters; a filter typo must not widen the result), paginated, with every
``ClientError`` turned into the project's errors by :func:`peering.aws.ec2.translated`.
Reads only: the IAM actions are listed in :data:`IAM_ACTIONS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..analysis import Snapshot
from ..errors import PeeringNotFound
from ..records import Instance, Interface, NetworkAcl, Peering, RouteTable, SecurityGroup, Subnet
from . import parse
from .ec2 import Ec2
from .errors import translated

IAM_ACTIONS = (
    "ec2:DescribeInstances",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcPeeringConnections",
    "ec2:DescribeVpcs",
)
"""Every EC2 action :func:`read_snapshot` calls (all reads; none supports resource-level scoping)."""


def ec2_actions() -> tuple[str, ...]:
    """The IAM actions this adapter needs, for the template's policy and its test."""
    return IAM_ACTIONS


Source = tuple[Ec2 | Any, Sequence[str]]
"""The EC2 adapter (or a boto3 EC2 client: the tooling's) of one account and region, and the VPC ids to read
through it."""


def _client(ec2: Ec2 | Any) -> Any:
    return ec2.client if isinstance(ec2, Ec2) else ec2


def _pages(client: Any, operation: str, key: str, action: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item under ``key`` across all pages of ``operation``."""
    with translated(action):
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get(key, [])


def _in_vpcs(client: Any, vpcs: Sequence[str], operation: str, key: str, action: str) -> list[dict[str, Any]]:
    """The items of ``operation`` filtered by VPC on the server, and again here."""
    return [item for item in _pages(client, operation, key, action, Filters=_vpc_filter(vpcs))
            if item.get("VpcId") in vpcs]


def _vpc_filter(vpc_ids: Sequence[str], name: str = "vpc-id") -> list[dict[str, Any]]:
    return [{"Name": name, "Values": list(vpc_ids)}]




# -- the snapshot ----------------------------------------------------------------------------------
def vpc_blocks(raw: dict[str, Any]) -> tuple[str, ...]:
    """The VPC's IPv4 blocks (primary and secondary), then its IPv6 blocks, unless going or gone."""
    ipv4, ipv6 = parse.vpc_blocks(raw, counts=parse.associated)
    return tuple(ipv4 + ipv6)


def _peerings(client: Any, vpc_ids: Sequence[str], peering_ids: Sequence[str]) -> Iterable[Peering]:
    """The asked-for peerings (a NotFound from this side is not an error: the other side may see them),
    else every peering that touches one of ``vpc_ids`` (one query per side of the peering)."""
    if peering_ids:
        try:
            found = list(_pages(client, "describe_vpc_peering_connections", "VpcPeeringConnections",
                                "DescribeVpcPeeringConnections", VpcPeeringConnectionIds=list(peering_ids)))
        except PeeringNotFound:
            return []
        return [parse.peering(p) for p in found if p.get("VpcPeeringConnectionId") in peering_ids]
    if not vpc_ids:
        return []
    found = []
    for side in ("requester-vpc-info.vpc-id", "accepter-vpc-info.vpc-id"):
        found += _pages(client, "describe_vpc_peering_connections", "VpcPeeringConnections",
                        "DescribeVpcPeeringConnections", Filters=_vpc_filter(vpc_ids, side))
    infos = [parse.peering(p) for p in found if p.get("VpcPeeringConnectionId")]
    return [p for p in infos if p.requester.vpc_id in vpc_ids or p.accepter.vpc_id in vpc_ids]


@dataclass(frozen=True)
class Known:
    """Facts the workflow already read in this run; each one given skips its describe call."""

    vpc_names: dict[str, str] | None = None
    vpc_cidrs: dict[str, tuple[str, ...]] | None = None
    peerings: dict[str, Peering] | None = None
    subnets: tuple[Subnet, ...] | None = None
    instance_states: dict[str, str] | None = None


def _instances(client: Any, vpcs: Sequence[str], where: str) -> list[Instance]:
    return [parse.instance(raw) for reservation in _pages(client, "describe_instances", "Reservations",
                                                          f"DescribeInstances{where}", Filters=_vpc_filter(vpcs))
            for raw in reservation.get("Instances", []) if raw.get("VpcId") in vpcs]


def subnets_and_instances(ec2: Ec2 | Any, vpcs: Sequence[str]) -> tuple[list[Subnet], list[Instance]]:
    """The VPCs' subnets and instances (two calls), for the probe's plan and the analysis."""
    client, where = _client(ec2), f" in {', '.join(vpcs)}"
    subnets = [parse.subnet(raw) for raw in _in_vpcs(client, vpcs, "describe_subnets", "Subnets",
                                                     f"DescribeSubnets{where}")]
    return subnets, _instances(client, vpcs, where)


def read_snapshot(sources: Sequence[Source], peering_ids: Sequence[str] = (), known: Known | None = None) -> Snapshot:
    """Subnets, route tables, security groups, network ACLs, interfaces (with instance state), VPC names and
    blocks of every VPC in ``sources``, and the peerings ``peering_ids`` (or, without ids, every peering of
    those VPCs). Records seen through several clients are merged (first one wins). What ``known`` gives is
    taken as given and not read again."""
    known = known or Known()
    subnets: dict[str, Subnet] = {}
    tables: dict[str, RouteTable] = {}
    groups: dict[str, SecurityGroup] = {}
    acls: dict[str, NetworkAcl] = {}
    interfaces: dict[str, Interface] = {}
    peerings: dict[str, Peering] = {}
    names: dict[str, str] = {}
    blocks: dict[str, tuple[str, ...]] = {}
    wanted_peerings = list(dict.fromkeys(peering_ids))
    for ec2, vpc_list in sources:
        client = _client(ec2)
        vpcs = list(dict.fromkeys(vpc_list))
        if vpcs:
            where = f" in {', '.join(vpcs)}"
            if known.vpc_names is None or known.vpc_cidrs is None:
                for raw in _in_vpcs(client, vpcs, "describe_vpcs", "Vpcs", f"DescribeVpcs{where}"):
                    names.setdefault(raw["VpcId"], parse.tags_of(raw).get("Name", ""))
                    blocks.setdefault(raw["VpcId"], vpc_blocks(raw))
            if known.subnets is None:
                for raw in _in_vpcs(client, vpcs, "describe_subnets", "Subnets", f"DescribeSubnets{where}"):
                    subnets.setdefault(raw["SubnetId"], parse.subnet(raw))
            for raw in _in_vpcs(client, vpcs, "describe_route_tables", "RouteTables", f"DescribeRouteTables{where}"):
                tables.setdefault(raw["RouteTableId"], parse.route_table(raw))
            for raw in _in_vpcs(client, vpcs, "describe_security_groups", "SecurityGroups",
                                f"DescribeSecurityGroups{where}"):
                groups.setdefault(raw["GroupId"], parse.security_group(raw))
            for raw in _in_vpcs(client, vpcs, "describe_network_acls", "NetworkAcls", f"DescribeNetworkAcls{where}"):
                acls.setdefault(raw["NetworkAclId"], parse.network_acl(raw))
            states = known.instance_states if known.instance_states is not None else {
                i.instance_id: i.state for i in _instances(client, vpcs, where)}
            for raw in _in_vpcs(client, vpcs, "describe_network_interfaces", "NetworkInterfaces",
                                f"DescribeNetworkInterfaces{where}"):
                interfaces.setdefault(raw["NetworkInterfaceId"], parse.interface(raw, states))
        if known.peerings is None:
            for info in _peerings(client, vpcs, wanted_peerings):
                peerings.setdefault(info.peering_id, info)
    if known.vpc_names is not None and known.vpc_cidrs is not None:
        names, blocks = dict(known.vpc_names), dict(known.vpc_cidrs)
    if known.subnets is not None:
        subnets = {s.subnet_id: s for s in known.subnets}
    if known.peerings is not None:
        peerings = dict(known.peerings)
    return Snapshot(
        subnets=subnets,
        route_tables=tuple(tables.values()),
        security_groups=groups,
        network_acls=tuple(acls.values()),
        interfaces=tuple(interfaces.values()),
        peerings=peerings,
        vpc_names={vpc: name for vpc, name in names.items() if name},
        vpc_cidrs=blocks,
    )
