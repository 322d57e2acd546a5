"""EC2 adapter: peering, VPC and route-table reads and the few mutations the workflow makes."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..errors import AwsCallFailed, PeeringNotActive
from ..records import ACCEPTED_STATES, Peering, Route, RouteTable, Side, Vpc
from . import parse
from .errors import error_code, translated


class Ec2:
    """One EC2 client (one account, one region) behind the calls the workflow needs."""

    def __init__(self, client: Any):
        self.client = client

    # reads -------------------------------------------------------------------------------------
    def peering(self, peering_id: str) -> Peering | None:
        """The peering by id, or None when EC2 does not know it (check the state for deleted ones)."""
        with translated("DescribeVpcPeeringConnections", peering_id):
            found = self.client.describe_vpc_peering_connections(VpcPeeringConnectionIds=[peering_id])
        match = [p for p in found.get("VpcPeeringConnections", []) if p.get("VpcPeeringConnectionId") == peering_id]
        if not match:
            return None
        return parse.peering(match[0])

    def vpcs(self, vpc_ids: list[str]) -> dict[str, Vpc]:
        """Each VPC by id, in one DescribeVpcs call: every associated IPv4 block (primary and secondary) and
        IPv6 block, and its tags."""
        with translated(f"DescribeVpcs for {', '.join(vpc_ids)}"):
            found = self.client.describe_vpcs(VpcIds=list(vpc_ids)).get("Vpcs", [])
        result = {}
        for vpc_id in vpc_ids:
            vpc = next((v for v in found if v.get("VpcId") == vpc_id), None)
            if vpc is None:
                raise AwsCallFailed(f"VPC {vpc_id} was not found.")
            result[vpc_id] = parse.vpc(vpc)
        return result


    def route_tables(self, vpc_id: str | list[str]) -> list[RouteTable]:
        """The route tables of one or several VPCs, in one paginated DescribeRouteTables."""
        vpc_ids = [vpc_id] if isinstance(vpc_id, str) else list(vpc_id)
        tables: list[RouteTable] = []
        paginator = self.client.get_paginator("describe_route_tables")
        with translated(f"DescribeRouteTables for {', '.join(vpc_ids)}"):
            for page in paginator.paginate(Filters=[{"Name": "vpc-id", "Values": vpc_ids}]):
                for raw in page.get("RouteTables", []):
                    if raw.get("VpcId") not in vpc_ids:
                        continue
                    tables.append(parse.route_table(raw))
        return tables

    def route_target(self, route_table_id: str, destination: str) -> Route | None:
        """The route for exactly ``destination`` in the table, if any."""
        with translated(f"DescribeRouteTables for {route_table_id}"):
            found = self.client.describe_route_tables(RouteTableIds=[route_table_id]).get("RouteTables", [])
        for raw in found:
            if raw.get("RouteTableId") != route_table_id:
                continue
            for route in parse.route_table(raw).routes:
                if route.destination == destination:
                    return route
        return None

    def subnet_vpc(self, subnet_id: str) -> str:
        with translated(f"DescribeSubnets for {subnet_id}"):
            subnets = self.client.describe_subnets(SubnetIds=[subnet_id]).get("Subnets", [])
        match = [s["VpcId"] for s in subnets if s.get("SubnetId") == subnet_id]
        if not match:
            raise AwsCallFailed(f"Probe subnet {subnet_id} was not found.")
        return match[0]

    # mutations ---------------------------------------------------------------------------------
    def accept(self, peering_id: str) -> str:
        """Accept; returns the new state. An accept whose first response was lost and that botocore
        retried gets ``InvalidStateTransition``: that is success when the peering is now accepted."""
        try:
            result = self.client.accept_vpc_peering_connection(VpcPeeringConnectionId=peering_id)
        except ClientError as e:
            if error_code(e) == "InvalidStateTransition":
                current = self.peering(peering_id)
                if current is not None and current.state in ACCEPTED_STATES:
                    return current.state
                state = current.state if current is not None else "deleted"
                raise PeeringNotActive(f"{peering_id} is {state}, so it cannot be accepted.") from e
            with translated("AcceptVpcPeeringConnection", peering_id):
                raise
        return result.get("VpcPeeringConnection", {}).get("Status", {}).get("Code", "unknown")

    def create_route(self, route_table_id: str, destination: str, peering_id: str) -> bool:
        """Create the route; False when it was already there with this peering as target.

        ``RouteAlreadyExists`` from a concurrent run is success only if the route points at us;
        otherwise it surfaces as the AWS error (the planner had seen no such route).
        """
        key = "DestinationIpv6CidrBlock" if ":" in destination else "DestinationCidrBlock"
        try:
            self.client.create_route(
                RouteTableId=route_table_id, VpcPeeringConnectionId=peering_id, **{key: destination}
            )
            return True
        except ClientError as e:
            if error_code(e) == "RouteAlreadyExists":
                existing = self.route_target(route_table_id, destination)
                if existing is not None and existing.target == peering_id:
                    return False
            with translated(f"CreateRoute {destination} in {route_table_id}", peering_id):
                raise

    def delete_route(self, route_table_id: str, destination: str) -> None:
        key = "DestinationIpv6CidrBlock" if ":" in destination else "DestinationCidrBlock"
        try:
            self.client.delete_route(RouteTableId=route_table_id, **{key: destination})
        except ClientError as e:
            if error_code(e) in {"InvalidRoute.NotFound", "InvalidRouteTableID.NotFound"}:
                return  # already gone: deleting is idempotent
            with translated(f"DeleteRoute {destination} in {route_table_id}"):
                raise

    def allow_remote_dns(self, peering_id: str, *roles: Side) -> None:
        """Allow DNS resolution from the remote VPC for the given sides, in one call (one owner, one region)."""
        options = {"AllowDnsResolutionFromRemoteVpc": True}
        keys = {"requester": "RequesterPeeringConnectionOptions", "accepter": "AccepterPeeringConnectionOptions"}
        with translated(f"ModifyVpcPeeringConnectionOptions ({' and '.join(roles)})", peering_id):
            self.client.modify_vpc_peering_connection_options(
                VpcPeeringConnectionId=peering_id, **{keys[role]: options for role in roles})

    def tag(self, resource_id: str, tags: dict[str, str]) -> None:
        with translated(f"CreateTags on {resource_id}", resource_id):
            self.client.create_tags(
                Resources=[resource_id], Tags=[{"Key": k, "Value": v[:256]} for k, v in tags.items()]
            )

    def untag(self, resource_id: str, keys: list[str]) -> None:
        """Remove tags by key (whatever their value); removing a tag that is not there is no error."""
        with translated(f"DeleteTags on {resource_id}", resource_id):
            self.client.delete_tags(Resources=[resource_id], Tags=[{"Key": k} for k in keys])
