"""EC2 reads for the sweeper and the delete cleanup: tagged pending requests, peerings by id (deleted or
vanished ones included) and route tables across the region. Filters are sent to narrow what AWS
returns and the results are checked again here (moto, and older AWS API versions, ignore some)."""

from __future__ import annotations

from typing import Any

from ..plan import tag_is_true
from ..records import PENDING, Peering, RouteTable
from . import parse
from .ec2 import Ec2
from .errors import translated


def _peerings(ec2: Ec2, filters: list[dict[str, Any]], action: str) -> list[Peering]:
    paginator = ec2.client.get_paginator("describe_vpc_peering_connections")
    with translated(action):
        return [parse.peering(raw)
                for page in paginator.paginate(Filters=filters)
                for raw in page.get("VpcPeeringConnections", []) if raw.get("VpcPeeringConnectionId")]


def tagged_pending_peerings(ec2: Ec2, trigger_tag_key: str) -> list[Peering]:
    """Peerings waiting for acceptance whose trigger tag is true (any case, trimmed)."""
    filters = [{"Name": "status-code", "Values": [PENDING]},
               {"Name": "tag-key", "Values": [trigger_tag_key]}]
    found = _peerings(ec2, filters, "DescribeVpcPeeringConnections (pending, tagged)")
    return [p for p in found
            if p.state == PENDING and tag_is_true(p.tags.get(trigger_tag_key, ""))]


def peerings_by_id(ec2: Ec2, peering_ids: list[str]) -> dict[str, Peering]:
    """The peerings EC2 still describes among ``peering_ids`` (deleted ones are described for a while;
    a filter, unlike ``VpcPeeringConnectionIds``, does not fail on ids that are gone)."""
    if not peering_ids:
        return {}
    filters = [{"Name": "vpc-peering-connection-id", "Values": list(peering_ids)}]
    found = _peerings(ec2, filters, "DescribeVpcPeeringConnections (by id)")
    return {p.peering_id: p for p in found if p.peering_id in peering_ids}


def route_tables(ec2: Ec2, peering_id: str | None = None) -> list[RouteTable]:
    """Every route table of the region (only those with a route to ``peering_id`` when given)."""
    kwargs: dict[str, Any] = {}
    if peering_id:
        kwargs["Filters"] = [{"Name": "route.vpc-peering-connection-id", "Values": [peering_id]}]
    tables: list[RouteTable] = []
    paginator = ec2.client.get_paginator("describe_route_tables")
    with translated("DescribeRouteTables"):
        for page in paginator.paginate(**kwargs):
            for raw in page.get("RouteTables", []):
                table = parse.route_table(raw)
                if peering_id and not any(r.target == peering_id for r in table.routes):
                    continue
                tables.append(table)
    return tables
