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

from ..analysis import (
    AclEntry,
    Interface,
    NetworkAcl,
    PeeringInfo,
    RouteInfo,
    RouteTableInfo,
    SecurityGroup,
    SgRule,
    Snapshot,
    Subnet,
)
from ..errors import PeeringNotFound
from .ec2 import ROUTE_TARGET_KEYS, tags_of, translated
from .ec2 import vpc_blocks as ec2_vpc_blocks

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


Source = tuple[Any, Sequence[str]]
"""An EC2 client (one account and region) and the VPC ids to read through it."""


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




GONE_STATES = frozenset({"disassociating", "disassociated", "failing", "failed"})


def _associated(state: Any) -> bool:
    """A CIDR association counts unless EC2 says it is going or gone (moto garbles subnets' IPv6 state)."""
    return not (isinstance(state, dict) and state.get("State") in GONE_STATES)


# -- one record each -------------------------------------------------------------------------------
def subnet_from_api(raw: dict[str, Any]) -> Subnet:
    ipv6 = next((a["Ipv6CidrBlock"] for a in raw.get("Ipv6CidrBlockAssociationSet", []) or []
                 if a.get("Ipv6CidrBlock") and _associated(a.get("Ipv6CidrBlockState"))), None)
    return Subnet(subnet_id=raw["SubnetId"], vpc_id=raw["VpcId"], cidr=raw.get("CidrBlock", ""), ipv6_cidr=ipv6)


def route_table_from_api(raw: dict[str, Any]) -> RouteTableInfo:
    """Prefix-list routes (no CIDR destination) are left out: the analysis matches CIDRs only."""
    associations = [a for a in raw.get("Associations", []) or [] if _associated(a.get("AssociationState"))]
    routes = []
    for route in raw.get("Routes", []) or []:
        destination = route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock")
        if destination:
            target = next((route[k] for k in ROUTE_TARGET_KEYS if route.get(k)), None)
            routes.append(RouteInfo(destination=destination, target=target, state=route.get("State", "active")))
    return RouteTableInfo(
        route_table_id=raw["RouteTableId"],
        vpc_id=raw["VpcId"],
        main=any(a.get("Main") for a in associations),
        subnet_ids=tuple(a["SubnetId"] for a in associations if a.get("SubnetId")),
        routes=tuple(routes),
    )


def sg_rule_from_api(permission: dict[str, Any]) -> SgRule:
    """One IpPermission. Prefix-list peers (PrefixListIds) are not resolved, so they admit nothing here."""
    return SgRule(
        protocol=str(permission.get("IpProtocol", "-1")),
        from_port=permission.get("FromPort"),
        to_port=permission.get("ToPort"),
        cidrs=tuple([r["CidrIp"] for r in permission.get("IpRanges", []) or [] if r.get("CidrIp")]
                    + [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", []) or [] if r.get("CidrIpv6")]),
        group_ids=tuple(p["GroupId"] for p in permission.get("UserIdGroupPairs", []) or [] if p.get("GroupId")),
    )


def security_group_from_api(raw: dict[str, Any]) -> SecurityGroup:
    return SecurityGroup(
        group_id=raw["GroupId"],
        vpc_id=raw.get("VpcId", ""),
        name=raw.get("GroupName", ""),
        ingress=tuple(map(sg_rule_from_api, raw.get("IpPermissions", []) or [])),
        egress=tuple(map(sg_rule_from_api, raw.get("IpPermissionsEgress", []) or [])),
    )


def network_acl_from_api(raw: dict[str, Any]) -> NetworkAcl:
    entries = []
    for entry in raw.get("Entries", []) or []:
        cidr = entry.get("CidrBlock") or entry.get("Ipv6CidrBlock")
        if not cidr:
            continue
        ports = entry.get("PortRange") or {}
        entries.append(AclEntry(
            rule_number=int(entry["RuleNumber"]),
            egress=bool(entry.get("Egress")),
            protocol=str(entry.get("Protocol", "-1")),
            allow=entry.get("RuleAction") == "allow",
            cidr=cidr,
            from_port=ports.get("From"),
            to_port=ports.get("To"),
        ))
    return NetworkAcl(
        acl_id=raw["NetworkAclId"],
        vpc_id=raw["VpcId"],
        default=bool(raw.get("IsDefault")),
        subnet_ids=tuple(a["SubnetId"] for a in raw.get("Associations", []) or [] if a.get("SubnetId")),
        entries=tuple(entries),
    )


def interface_from_api(raw: dict[str, Any], instance_states: dict[str, str]) -> Interface:
    """Addresses in order: the primary private IPv4 first, then the other IPv4s, then IPv6.
    ``state`` is the attached instance's state (running, stopped...), else the ENI's status."""
    private = [a["PrivateIpAddress"] for a in raw.get("PrivateIpAddresses", []) or [] if a.get("PrivateIpAddress")]
    primary = raw.get("PrivateIpAddress")
    ipv4 = ([primary] if primary else []) + [ip for ip in private if ip != primary]
    ipv6 = [a["Ipv6Address"] for a in raw.get("Ipv6Addresses", []) or [] if a.get("Ipv6Address")]
    instance_id = (raw.get("Attachment") or {}).get("InstanceId")
    status = raw.get("Status", "in-use")
    return Interface(
        interface_id=raw["NetworkInterfaceId"],
        subnet_id=raw.get("SubnetId", ""),
        vpc_id=raw.get("VpcId", ""),
        ips=tuple(ipv4 + ipv6),
        security_group_ids=tuple(g["GroupId"] for g in raw.get("Groups", []) or [] if g.get("GroupId")),
        instance_id=instance_id,
        state=instance_states.get(instance_id, "unknown") if instance_id else status,
    )


def peering_from_api(raw: dict[str, Any]) -> PeeringInfo:
    requester, accepter = raw.get("RequesterVpcInfo", {}) or {}, raw.get("AccepterVpcInfo", {}) or {}
    return PeeringInfo(
        peering_id=raw["VpcPeeringConnectionId"],
        state=(raw.get("Status") or {}).get("Code", "unknown"),
        requester_vpc=requester.get("VpcId", ""),
        accepter_vpc=accepter.get("VpcId", ""),
        requester_region=requester.get("Region", ""),
        accepter_region=accepter.get("Region", ""),
    )


def vpc_blocks(raw: dict[str, Any]) -> tuple[str, ...]:
    """The VPC's IPv4 blocks (primary and secondary), then its IPv6 blocks, unless going or gone."""
    ipv4, ipv6 = ec2_vpc_blocks(raw, counts=_associated)
    return tuple(ipv4 + ipv6)


# -- the snapshot ----------------------------------------------------------------------------------
def _peerings(client: Any, vpc_ids: Sequence[str], peering_ids: Sequence[str]) -> Iterable[PeeringInfo]:
    """The asked-for peerings (a NotFound from this side is not an error: the other side may see them),
    else every peering that touches one of ``vpc_ids`` (one query per side of the peering)."""
    if peering_ids:
        try:
            found = list(_pages(client, "describe_vpc_peering_connections", "VpcPeeringConnections",
                                "DescribeVpcPeeringConnections", VpcPeeringConnectionIds=list(peering_ids)))
        except PeeringNotFound:
            return []
        return [peering_from_api(p) for p in found if p.get("VpcPeeringConnectionId") in peering_ids]
    if not vpc_ids:
        return []
    found = []
    for side in ("requester-vpc-info.vpc-id", "accepter-vpc-info.vpc-id"):
        found += _pages(client, "describe_vpc_peering_connections", "VpcPeeringConnections",
                        "DescribeVpcPeeringConnections", Filters=_vpc_filter(vpc_ids, side))
    infos = [peering_from_api(p) for p in found if p.get("VpcPeeringConnectionId")]
    return [p for p in infos if p.requester_vpc in vpc_ids or p.accepter_vpc in vpc_ids]


@dataclass(frozen=True)
class Known:
    """Facts the workflow already read in this run; each one given skips its describe call."""

    vpc_names: dict[str, str] | None = None
    vpc_cidrs: dict[str, tuple[str, ...]] | None = None
    peerings: dict[str, PeeringInfo] | None = None
    subnets: tuple[Subnet, ...] | None = None
    instance_states: dict[str, str] | None = None


def subnets_and_instances(client: Any, vpcs: Sequence[str]) -> tuple[list[Subnet], list[dict[str, Any]]]:
    """The VPCs' subnets and raw instance records (two calls), for the probe's plan and the analysis."""
    where = f" in {', '.join(vpcs)}"
    subnets = [subnet_from_api(raw) for raw in _in_vpcs(client, vpcs, "describe_subnets", "Subnets",
                                                         f"DescribeSubnets{where}")]
    instances = [instance for reservation in _pages(client, "describe_instances", "Reservations",
                                                     f"DescribeInstances{where}", Filters=_vpc_filter(vpcs))
                 for instance in reservation.get("Instances", []) if instance.get("VpcId") in vpcs]
    return subnets, instances


def read_snapshot(sources: Sequence[Source], peering_ids: Sequence[str] = (), known: Known | None = None) -> Snapshot:
    """Subnets, route tables, security groups, network ACLs, interfaces (with instance state), VPC names and
    blocks of every VPC in ``sources``, and the peerings ``peering_ids`` (or, without ids, every peering of
    those VPCs). Records seen through several clients are merged (first one wins). What ``known`` gives is
    taken as given and not read again."""
    known = known or Known()
    subnets: dict[str, Subnet] = {}
    tables: dict[str, RouteTableInfo] = {}
    groups: dict[str, SecurityGroup] = {}
    acls: dict[str, NetworkAcl] = {}
    interfaces: dict[str, Interface] = {}
    peerings: dict[str, PeeringInfo] = {}
    names: dict[str, str] = {}
    blocks: dict[str, tuple[str, ...]] = {}
    wanted_peerings = list(dict.fromkeys(peering_ids))
    for client, vpc_list in sources:
        vpcs = list(dict.fromkeys(vpc_list))
        if vpcs:
            where = f" in {', '.join(vpcs)}"
            if known.vpc_names is None or known.vpc_cidrs is None:
                for raw in _in_vpcs(client, vpcs, "describe_vpcs", "Vpcs", f"DescribeVpcs{where}"):
                    names.setdefault(raw["VpcId"], tags_of(raw).get("Name", ""))
                    blocks.setdefault(raw["VpcId"], vpc_blocks(raw))
            if known.subnets is None:
                for raw in _in_vpcs(client, vpcs, "describe_subnets", "Subnets", f"DescribeSubnets{where}"):
                    subnets.setdefault(raw["SubnetId"], subnet_from_api(raw))
            for raw in _in_vpcs(client, vpcs, "describe_route_tables", "RouteTables", f"DescribeRouteTables{where}"):
                tables.setdefault(raw["RouteTableId"], route_table_from_api(raw))
            for raw in _in_vpcs(client, vpcs, "describe_security_groups", "SecurityGroups",
                                f"DescribeSecurityGroups{where}"):
                groups.setdefault(raw["GroupId"], security_group_from_api(raw))
            for raw in _in_vpcs(client, vpcs, "describe_network_acls", "NetworkAcls", f"DescribeNetworkAcls{where}"):
                acls.setdefault(raw["NetworkAclId"], network_acl_from_api(raw))
            states = known.instance_states if known.instance_states is not None else {
                instance["InstanceId"]: (instance.get("State") or {}).get("Name", "unknown")
                for reservation in _pages(client, "describe_instances", "Reservations", f"DescribeInstances{where}",
                                          Filters=_vpc_filter(vpcs))
                for instance in reservation.get("Instances", [])
                if instance.get("VpcId") in vpcs
            }
            for raw in _in_vpcs(client, vpcs, "describe_network_interfaces", "NetworkInterfaces",
                                f"DescribeNetworkInterfaces{where}"):
                interfaces.setdefault(raw["NetworkInterfaceId"], interface_from_api(raw, states))
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
