"""EC2's response records into the project's records (``peering.records``): one parser per record, the only
place that reads EC2's field names. Pure (no call is made here); every adapter of this package uses these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..records import (
    AclEntry,
    Instance,
    Interface,
    NetworkAcl,
    Peering,
    Route,
    RouteTable,
    SecurityGroup,
    SgRule,
    Side,
    Subnet,
    Vpc,
    VpcSide,
)

ROUTE_TARGET_KEYS = (
    "VpcPeeringConnectionId",
    "GatewayId",
    "NatGatewayId",
    "TransitGatewayId",
    "NetworkInterfaceId",
    "InstanceId",
    "EgressOnlyInternetGatewayId",
    "LocalGatewayId",
    "CarrierGatewayId",
    "CoreNetworkArn",
)
ASSOCIATION_GONE_STATES = frozenset({"disassociating", "disassociated", "failing", "failed"})


def associated(state: Any) -> bool:
    """A CIDR association counts unless EC2 says it is going or gone (moto garbles subnets' IPv6 state)."""
    return not (isinstance(state, dict) and state.get("State") in ASSOCIATION_GONE_STATES)


def strictly_associated(state: dict[str, Any] | None) -> bool:
    """A CIDR association that is fully associated (the blocks routes may be planned for)."""
    return (state or {}).get("State", "associated") == "associated"


def tags_of(raw: dict[str, Any]) -> dict[str, str]:
    """An EC2 record's tags (``Tags``, or ``TagSet`` in some shapes) as a dict."""
    return {t["Key"]: t.get("Value", "") for t in raw.get("Tags", raw.get("TagSet", [])) or []}


def vpc_blocks(vpc: dict[str, Any], counts: Callable[[Any], bool] = strictly_associated
               ) -> tuple[list[str], list[str]]:
    """A DescribeVpcs record's IPv4 blocks (primary and secondary) and IPv6 blocks whose association
    ``counts``: by default only those fully associated, the ones routes may be planned for."""
    ipv4 = [a["CidrBlock"] for a in vpc.get("CidrBlockAssociationSet", []) or []
            if a.get("CidrBlock") and counts(a.get("CidrBlockState"))] \
        or ([vpc["CidrBlock"]] if vpc.get("CidrBlock") else [])
    ipv6 = [a["Ipv6CidrBlock"] for a in vpc.get("Ipv6CidrBlockAssociationSet", []) or []
            if a.get("Ipv6CidrBlock") and counts(a.get("Ipv6CidrBlockState"))]
    return ipv4, ipv6


def vpc(raw: dict[str, Any]) -> Vpc:
    """A DescribeVpcs record with the blocks routes may be planned for (fully associated ones)."""
    ipv4, ipv6 = vpc_blocks(raw)
    tags = tags_of(raw)
    return Vpc(vpc_id=raw["VpcId"], cidrs=ipv4, ipv6_cidrs=ipv6, name=tags.get("Name", ""), tags=tags)


def side(role: Side, info: dict[str, Any]) -> VpcSide:
    # CidrBlockSet and Ipv6CidrBlockSet are only a hint (moto omits them, AWS may omit the
    # accepter's until active): the authoritative ranges come from DescribeVpcs on each side.
    return VpcSide(role=role, vpc_id=info.get("VpcId", ""), account_id=info.get("OwnerId", ""),
                   region=info.get("Region", ""))


def peering(raw: dict[str, Any]) -> Peering:
    """A DescribeVpcPeeringConnections record (the sides' ranges are filled in from DescribeVpcs)."""
    return Peering(
        peering_id=raw["VpcPeeringConnectionId"],
        state=(raw.get("Status") or {}).get("Code", "unknown"),
        requester=side("requester", raw.get("RequesterVpcInfo") or {}),
        accepter=side("accepter", raw.get("AccepterVpcInfo") or {}),
        tags=tags_of(raw),
    )


def route(raw: dict[str, Any]) -> Route | None:
    """A route with a CIDR destination; None for a prefix-list route (it never collides with a CIDR route)."""
    destination = raw.get("DestinationCidrBlock") or raw.get("DestinationIpv6CidrBlock")
    if not destination:
        return None
    target = next((raw[k] for k in ROUTE_TARGET_KEYS if raw.get(k)), None)
    return Route(destination=destination, target=target, state=raw.get("State", "active"),
                 origin=raw.get("Origin", "CreateRoute"))


def route_table(raw: dict[str, Any]) -> RouteTable:
    """A DescribeRouteTables record: its CIDR routes, its live associations and its tags."""
    associations = [a for a in raw.get("Associations", []) or [] if associated(a.get("AssociationState"))]
    return RouteTable(
        route_table_id=raw["RouteTableId"],
        vpc_id=raw.get("VpcId", ""),
        main=any(a.get("Main") for a in associations),
        subnet_ids=tuple(a["SubnetId"] for a in associations if a.get("SubnetId")),
        routes=tuple(r for r in map(route, raw.get("Routes", []) or []) if r is not None),
        tags=tags_of(raw),
    )


def subnet(raw: dict[str, Any]) -> Subnet:
    ipv6 = next((a["Ipv6CidrBlock"] for a in raw.get("Ipv6CidrBlockAssociationSet", []) or []
                 if a.get("Ipv6CidrBlock") and associated(a.get("Ipv6CidrBlockState"))), None)
    return Subnet(subnet_id=raw["SubnetId"], vpc_id=raw["VpcId"], cidr=raw.get("CidrBlock", ""), ipv6_cidr=ipv6)


def instance(raw: dict[str, Any]) -> Instance:
    return Instance(instance_id=raw["InstanceId"], vpc_id=raw.get("VpcId", ""),
                    state=(raw.get("State") or {}).get("Name", "unknown"), private_ip=raw.get("PrivateIpAddress"))


def sg_rule(permission: dict[str, Any]) -> SgRule:
    """One IpPermission. Prefix-list peers (PrefixListIds) are not resolved, so they admit nothing here."""
    return SgRule(
        protocol=str(permission.get("IpProtocol", "-1")),
        from_port=permission.get("FromPort"),
        to_port=permission.get("ToPort"),
        cidrs=tuple([r["CidrIp"] for r in permission.get("IpRanges", []) or [] if r.get("CidrIp")]
                    + [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", []) or [] if r.get("CidrIpv6")]),
        group_ids=tuple(p["GroupId"] for p in permission.get("UserIdGroupPairs", []) or [] if p.get("GroupId")),
    )


def security_group(raw: dict[str, Any]) -> SecurityGroup:
    return SecurityGroup(
        group_id=raw["GroupId"],
        vpc_id=raw.get("VpcId", ""),
        name=raw.get("GroupName", ""),
        ingress=tuple(map(sg_rule, raw.get("IpPermissions", []) or [])),
        egress=tuple(map(sg_rule, raw.get("IpPermissionsEgress", []) or [])),
    )


def network_acl(raw: dict[str, Any]) -> NetworkAcl:
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


def interface(raw: dict[str, Any], instance_states: dict[str, str]) -> Interface:
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
