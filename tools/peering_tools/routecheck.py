"""The emulated network's route check: can an instance's packets reach another VPC's instance and back?

A deliberately small, pure check over ``DescribeRouteTables`` output, used by ``peering local demo``
to show the seed scenario before and after. It looks at route tables only (longest-prefix match
in the table of each side's subnet, else its VPC's main table); security groups, network ACLs and
the peering's own state are not considered. The full path analysis belongs to the layer's
reachability work, not here.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    """One end of the path: an instance's private address in a subnet of a VPC."""

    label: str  # "VPC A"
    vpc_id: str
    subnet_id: str
    ip: str
    cidr: str  # the VPC's CIDR, named in the explanation


@dataclass(frozen=True)
class Verdict:
    reachable: bool
    reason: str  # one sentence, starting with "reachable:" or "unreachable:"


def table_for(tables: list[dict[str, Any]], vpc_id: str, subnet_id: str) -> dict[str, Any] | None:
    """The table a subnet uses: the one explicitly associated with it, else its VPC's main table."""
    in_vpc = [t for t in tables if t.get("VpcId") == vpc_id]
    for table in in_vpc:
        if any(a.get("SubnetId") == subnet_id for a in table.get("Associations", [])):
            return table
    return next((t for t in in_vpc if any(a.get("Main") for a in t.get("Associations", []))), None)


def best_route(table: dict[str, Any], ip: str) -> dict[str, Any] | None:
    """Longest-prefix match among the table's active IPv4 routes."""
    address = ipaddress.ip_address(ip)
    candidates = [
        (ipaddress.ip_network(r["DestinationCidrBlock"]), r)
        for r in table.get("Routes", [])
        if r.get("DestinationCidrBlock") and r.get("State", "active") == "active"
    ]
    matching = [(net, r) for net, r in candidates if address in net]
    return max(matching, key=lambda pair: pair[0].prefixlen)[1] if matching else None


def _target(route: dict[str, Any]) -> str:
    return (route.get("VpcPeeringConnectionId") or route.get("GatewayId") or route.get("NatGatewayId")
            or route.get("TransitGatewayId") or route.get("NetworkInterfaceId") or "?")


def _one_way(tables: list[dict[str, Any]], src: Endpoint, dst: Endpoint) -> tuple[Verdict, str]:
    table = table_for(tables, src.vpc_id, src.subnet_id)
    if table is None:
        return Verdict(False, f"unreachable: no route table applies to {src.subnet_id} ({src.label})"), ""
    where = f"route table {table['RouteTableId']} of {src.subnet_id} ({src.label})"
    route = best_route(table, dst.ip)
    target = _target(route) if route else ""
    if not target.startswith("pcx-"):
        detail = ""
        if route and ipaddress.ip_address(dst.ip).is_private:
            detail = (f"; its best match {route['DestinationCidrBlock']} goes to {target}, "
                      "which does not carry private addresses between VPCs")
        return Verdict(False, f"unreachable: {where} has no route to {dst.cidr}{detail}"), ""
    return Verdict(True, f"{src.label}'s {table['RouteTableId']} routes {dst.cidr}"), target


def check(tables: list[dict[str, Any]], a: Endpoint, b: Endpoint) -> Verdict:
    """From ``a`` to ``b`` and back: both tables must route the other side through the same peering."""
    there, pcx_there = _one_way(tables, a, b)
    if not there.reachable:
        return there
    back, pcx_back = _one_way(tables, b, a)
    if not back.reachable:
        return Verdict(False, f"{back.reason} (the return path)")
    if pcx_there != pcx_back:
        return Verdict(False, f"unreachable: {a.label} routes through {pcx_there} but {b.label} "
                              f"returns through {pcx_back}")
    return Verdict(True, f"reachable: {a.ip} -> {pcx_there} -> {b.ip} and back "
                         f"({there.reason} and {back.reason} to {pcx_there})")
