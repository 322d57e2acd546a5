"""Where moto 5.2.5's EC2 differs from AWS in ways the automation meets, the emulator behaves as AWS does.

Installed by ``peering_tools.emulator.Emulator`` while it runs (``install``/``uninstall``); plain
``mock_aws`` tests keep moto's own behaviour. Each correction patches one private moto seam, and
``tests/emulator/test_ec2_fidelity.py`` fails when a seam moves or when moto itself starts to behave
as AWS (then the correction is no longer needed):

- **Tags on a peering belong to the account and region that set them.** moto serialises a peering's
  tags from the backend that created it (``TaggedEC2Resource.get_tags`` reads ``self.ec2_backend``,
  moto/ec2/models/core.py:9-13), so the accepter's account and region see the requester's tags and
  never their own. Here they come from the backend of the account and region making the call.
- **Overlapping CIDRs fail the request.** moto makes every request ``pending-acceptance``
  (moto/ec2/models/vpc_peering_connections.py:156); AWS gives a request between VPCs whose IPv4 CIDR
  blocks overlap the status ``failed`` (EC2 API reference, CreateVpcPeeringConnection) with the message
  ``FAILED_OVERLAP_MESSAGE``.
- **A route through a peering that is not active is a blackhole.** moto's ``Route.state`` is always
  ``active`` (moto/ec2/models/route_tables.py:261-262); AWS shows ``blackhole`` for a route whose target is
  unavailable — a pending-acceptance peering ("the route will have a state of blackhole ... until the
  VPC peering connection is in the active state", VPC Peering Guide, "Update your route tables for a VPC
  peering connection") and a deleted, rejected, expired or failed one.
- **DryRun is answered.** moto ignores ``DryRun`` on the calls in ``DRY_RUN_CHECKS`` (e.g.
  moto/ec2/responses/route_tables.py:21); AWS checks the request and answers ``DryRunOperation``
  ("Request would have succeeded, but DryRun flag is set.") with nothing changed. Here the request
  gets the same validation moto's real call does (unknown ids, wrong account or region, wrong state,
  a duplicate route), then ``DryRunOperation``. ``CreateTags``/``DeleteTags`` moto answers itself.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable
from typing import Any

from moto.ec2.exceptions import (
    DryRunClientError,
    InvalidParameterValueErrorReplaceRoute,
    InvalidRouteError,
    InvalidVPCPeeringConnectionStateTransitionError,
    OperationNotPermitted2,
    OperationNotPermitted3,
    OperationNotPermitted5,
)
from moto.ec2.models.route_tables import Route
from moto.ec2.models.vpc_peering_connections import VPCPeeringConnection, VPCPeeringConnectionBackend
from moto.ec2.responses import EC2Response
from moto.ec2.utils import generate_route_id

FAILED_OVERLAP_MESSAGE = "Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range"
ACTIVE = "active"

_caller = threading.local()  # (account, region) of the EC2 request this thread is answering


# -- tags per account and region ------------------------------------------------------------------
def _calling_call_action(self: EC2Response) -> Any:
    previous = getattr(_caller, "place", None)
    _caller.place = (self.current_account, self.region)
    try:
        return _saved["call_action"](self)
    finally:
        _caller.place = previous


def _peering_tags(self: VPCPeeringConnection) -> list[dict[str, str]]:
    """The tags the calling account and region set on this peering (moto's creator backend otherwise)."""
    from moto.ec2.models import ec2_backends  # noqa: PLC0415 - the backends dict is only needed per call

    place = getattr(_caller, "place", None)
    backend = ec2_backends[place[0]][place[1]] if place else self.ec2_backend
    return backend.describe_tags(filters={"resource-id": [self.id]})


# -- overlapping CIDRs -----------------------------------------------------------------------------
def ipv4_blocks(vpc: Any) -> list[ipaddress.IPv4Network]:
    """The VPC's associated (or associating) IPv4 CIDR blocks, primary and secondary."""
    blocks = []
    for association in vpc.get_cidr_block_association_set(ipv6=False):
        if association.get("cidr_block_state", {}).get("state") in ("associated", "associating"):
            blocks.append(ipaddress.ip_network(association["cidr_block"], strict=False))
    return blocks


def overlapping(vpc: Any, peer_vpc: Any) -> bool:
    return any(a.overlaps(b) for a in ipv4_blocks(vpc) for b in ipv4_blocks(peer_vpc))


def _creating_peering(self: VPCPeeringConnectionBackend, vpc: Any, peer_vpc: Any,
                      tags: dict[str, str] | None = None) -> VPCPeeringConnection:
    peering = _saved["create_vpc_peering_connection"](self, vpc, peer_vpc, tags)
    if overlapping(vpc, peer_vpc):
        peering._status.code, peering._status.message = "failed", FAILED_OVERLAP_MESSAGE
    return peering


# -- blackhole routes ------------------------------------------------------------------------------
def _route_state(self: Route) -> str:
    peering = self.vpc_pcx
    if peering is not None and peering._status.code != ACTIVE:
        return "blackhole"
    return _saved["Route.state"].fget(self)


# -- DryRun ----------------------------------------------------------------------------------------
def _check_peering_answer(response: EC2Response, verb: str) -> None:
    """What moto's accept/reject checks before changing the state (vpc_peering_connections.py:187-225)."""
    backend = response.ec2_backend
    peering_id = response._get_param("VpcPeeringConnectionId")
    peering = backend.get_vpc_peering_connection(peering_id)
    if peering.vpc.owner_id != peering.peer_vpc.owner_id and backend.account_id != peering.peer_vpc.owner_id:
        raise OperationNotPermitted5(backend.account_id, peering_id, verb)
    if peering.vpc.region != peering.peer_vpc.region and backend.region_name == peering.vpc.region:
        wrong_region = OperationNotPermitted2 if verb == "accept" else OperationNotPermitted3
        raise wrong_region(backend.region_name, peering.id, peering.peer_vpc.region)
    if peering._status.code != "pending-acceptance":
        raise InvalidVPCPeeringConnectionStateTransitionError(peering.id)


def _check_route_targets(response: EC2Response) -> None:
    backend = response.ec2_backend
    if peering_id := response._get_param("VpcPeeringConnectionId"):
        backend.get_vpc_peering_connection(peering_id)
    if gateway_id := response._get_param("GatewayId"):
        if gateway_id.startswith("igw-"):
            backend.get_internet_gateway(gateway_id)
        elif gateway_id.startswith("vgw-"):
            backend.get_vpn_gateway(gateway_id)
    if instance_id := response._get_param("InstanceId"):
        backend.get_instance(instance_id)
    if interface_id := response._get_param("NetworkInterfaceId"):
        backend.get_network_interface(interface_id)


def _destination(response: EC2Response) -> str:
    """The route's key as moto computes it for replace/delete (route_tables.py:546-550, 602-607)."""
    return (response._get_param("DestinationPrefixListId") or response._get_param("DestinationIpv6CidrBlock")
            or response._get_param("DestinationCidrBlock"))


def _check_create_route(response: EC2Response) -> None:
    backend = response.ec2_backend
    table = backend.get_route_table(response._get_param("RouteTableId"))
    if cidr := response._get_param("DestinationCidrBlock"):
        backend._RouteBackend__validate_destination_cidr_block(cidr, table)  # invalid CIDR, duplicate route
    _check_route_targets(response)


def _check_replace_route(response: EC2Response) -> None:
    table = response.ec2_backend.get_route_table(response._get_param("RouteTableId"))
    cidr = _destination(response)
    if generate_route_id(table.id, cidr, response._get_param("DestinationIpv6CidrBlock")) not in table._routes:
        raise InvalidParameterValueErrorReplaceRoute(cidr)
    _check_route_targets(response)


def _check_delete_route(response: EC2Response) -> None:
    table = response.ec2_backend.get_route_table(response._get_param("RouteTableId"))
    cidr = _destination(response)
    if generate_route_id(table.id, cidr) not in table._routes:
        raise InvalidRouteError(table.id, cidr)


def _check_create_peering(response: EC2Response) -> None:
    from moto.ec2.models import ec2_backends  # noqa: PLC0415

    response._parse_tag_specification()
    response.ec2_backend.get_vpc(response._get_param("VpcId"))
    account = response._get_param("PeerOwnerId") or response.current_account
    region = response._get_param("PeerRegion") or response.region
    ec2_backends[account][region].get_vpc(response._get_param("PeerVpcId"))


def _check_peering_exists(response: EC2Response) -> None:
    response.ec2_backend.get_vpc_peering_connection(response._get_param("VpcPeeringConnectionId"))


DRY_RUN_CHECKS: dict[str, Callable[[EC2Response], None]] = {
    "create_route": _check_create_route,
    "replace_route": _check_replace_route,
    "delete_route": _check_delete_route,
    "create_vpc_peering_connection": _check_create_peering,
    "accept_vpc_peering_connection": lambda response: _check_peering_answer(response, "accept"),
    "reject_vpc_peering_connection": lambda response: _check_peering_answer(response, "reject"),
    "delete_vpc_peering_connection": _check_peering_exists,
    "modify_vpc_peering_connection_options": _check_peering_exists,
    "describe_vpc_peering_connections": lambda response: None,  # a read: only permission is checked
    "describe_route_tables": lambda response: None,
}
"""EC2Response method -> the validation its real call does before it changes anything."""


def _answering_dry_run(name: str) -> Callable[[EC2Response], Any]:
    check = DRY_RUN_CHECKS[name]

    def method(self: EC2Response) -> Any:
        if self._get_bool_param("DryRun", False):
            check(self)
            raise DryRunClientError()
        return getattr(super(EC2Response, self), name)()

    method.__name__ = name
    return method


# -- install / uninstall ---------------------------------------------------------------------------
_saved: dict[str, Any] = {}
_lock = threading.Lock()


def installed() -> bool:
    return bool(_saved)


def install() -> None:
    """Patch the seams (idempotent). ``EC2Response.call_action`` is wrapped as it is now: install after
    any other wrapper of it and uninstall before that wrapper is removed."""
    with _lock:
        if _saved:
            return
        _saved["call_action"] = EC2Response.call_action
        _saved["EC2Response.call_action"] = EC2Response.__dict__.get("call_action")
        _saved["create_vpc_peering_connection"] = VPCPeeringConnectionBackend.create_vpc_peering_connection
        _saved["Route.state"] = Route.__dict__["state"]
        EC2Response.call_action = _calling_call_action
        VPCPeeringConnection.get_tags = _peering_tags
        VPCPeeringConnectionBackend.create_vpc_peering_connection = _creating_peering
        Route.state = property(_route_state)
        for name in DRY_RUN_CHECKS:
            setattr(EC2Response, name, _answering_dry_run(name))


def uninstall() -> None:
    """Put every seam back as ``install`` found it."""
    with _lock:
        if not _saved:
            return
        if _saved["EC2Response.call_action"] is None:
            del EC2Response.call_action
        else:
            EC2Response.call_action = _saved["EC2Response.call_action"]
        del VPCPeeringConnection.get_tags
        VPCPeeringConnectionBackend.create_vpc_peering_connection = _saved["create_vpc_peering_connection"]
        Route.state = _saved["Route.state"]
        for name in DRY_RUN_CHECKS:
            delattr(EC2Response, name)
        _saved.clear()


