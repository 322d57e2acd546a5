"""One frozen type per AWS record the workflow reads: VPC, peering, VPC side, route table, route, subnet, instance,
network interface, probe placement, security group and network ACL; and the peering id pattern and peering states.

The adapters of ``peering.aws`` parse the responses into these, once (``peering.aws.parse``); planning
(``peering.plan``), the path analysis (``peering.analysis``) and the stages read them directly. They are plain
dataclasses: where one travels in the state document (the inspected peering, the network facts), pydantic
validates and serializes it with the stage model's camelCase aliases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Side = Literal["requester", "accepter"]
SIDES: tuple[Side, Side] = ("requester", "accepter")

# -- identifiers -----------------------------------------------------------------------------------
PEERING_ID_PREFIX = "pcx-"
PEERING_ID_PATTERN = r"^pcx-[0-9a-zA-Z]{1,32}$"
"""A VPC peering connection id (what the workflow accepts as ``peeringId``)."""
PEERING_ID = re.compile(PEERING_ID_PATTERN)
EXECUTION_NAME = re.compile(f"^({PEERING_ID_PATTERN[1:-1]})-")
"""An execution of the workflow is named ``<pcx>-<hash>``: the peering id is its first group."""

# -- peering states (DescribeVpcPeeringConnections Status.Code) -------------------------------------
INITIATING = "initiating-request"
PENDING = "pending-acceptance"
PROVISIONING = "provisioning"
ACTIVE = "active"
ACCEPTED_STATES = frozenset({PROVISIONING, ACTIVE})
"""Accepted: nothing is left to accept."""
WAITING_STATES = frozenset({PENDING, PROVISIONING})
"""Not active yet, and it may still become so."""
ACTIONABLE_STATES = frozenset({PENDING, PROVISIONING, ACTIVE})
"""States the workflow can work with (anything else is gone or failed)."""
GONE_STATES = frozenset({"deleted", "rejected", "expired", "failed"})
"""Described states in which no traffic can flow, so a route to the peering is a blackhole (``deleting`` is
not yet one)."""


# -- the VPC and the peering ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Vpc:
    """A VPC's associated address blocks (primary and secondary IPv4, then IPv6), its Name tag and its tags."""

    vpc_id: str
    cidrs: list[str] = field(default_factory=list)
    ipv6_cidrs: list[str] = field(default_factory=list)
    name: str = ""
    tags: dict[str, str] = field(default_factory=dict)


# -- the peering -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class VpcSide:
    """One side of a peering: which VPC, whose account, which region, which address ranges."""

    role: Side
    vpc_id: str
    account_id: str
    region: str
    cidrs: list[str] = field(default_factory=list)
    ipv6_cidrs: list[str] = field(default_factory=list)
    name: str = ""
    accept_from: list[str] | None = None
    """The entries of the VPC's ``peering-automation/accept-from`` tag ([] when absent); None until read."""

    @property
    def all_cidrs(self) -> list[str]:
        return [*self.cidrs, *self.ipv6_cidrs]


@dataclass(frozen=True, slots=True)
class Peering:
    """A peering connection as read live from EC2 (the sides' ranges are filled in from DescribeVpcs)."""

    peering_id: str
    state: str
    requester: VpcSide
    accepter: VpcSide
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def between(cls, peering_id: str, state: str, requester_vpc: str, accepter_vpc: str, requester_region: str = "",
                accepter_region: str = "") -> Peering:
        """A peering known only by its VPCs and regions (what the path analysis reads)."""
        return cls(peering_id, state, VpcSide("requester", requester_vpc, "", requester_region),
                   VpcSide("accepter", accepter_vpc, "", accepter_region))

    def side(self, role: Side) -> VpcSide:
        return self.requester if role == "requester" else self.accepter

    def peer_of(self, role: Side) -> VpcSide:
        return self.accepter if role == "requester" else self.requester

    @property
    def same_region(self) -> bool:
        return self.requester.region == self.accepter.region

    def joins(self, vpc: str, other: str) -> bool:
        return {vpc, other} == {self.requester.vpc_id, self.accepter.vpc_id}


# -- routing ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Route:
    """A route with a CIDR destination (prefix-list routes are left out: they never collide with one)."""

    destination: str
    target: str | None = None
    state: str = "active"
    origin: str = "CreateRoute"
    """How the route got there: ``CreateRouteTable`` (local), ``CreateRoute`` or ``EnableVgwRoutePropagation``."""


@dataclass(frozen=True, slots=True)
class RouteTable:
    route_table_id: str
    vpc_id: str
    main: bool = False
    subnet_ids: tuple[str, ...] = ()
    """Explicitly associated subnets (a subnet without one uses its VPC's main table)."""
    routes: tuple[Route, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)


# -- where hosts live ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Subnet:
    subnet_id: str
    vpc_id: str
    cidr: str
    ipv6_cidr: str | None = None


@dataclass(frozen=True, slots=True)
class Instance:
    instance_id: str
    vpc_id: str
    state: str
    private_ip: str | None = None


@dataclass(frozen=True, slots=True)
class Interface:
    """A network interface; ``state`` is its instance's state when attached to one, else the ENI's."""

    interface_id: str
    subnet_id: str
    vpc_id: str
    ips: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    instance_id: str | None = None
    state: str = "in-use"


@dataclass(frozen=True, slots=True)
class Placement:
    """A Lambda function (a probe) and where it is attached: its VPC, subnets and security groups."""

    function_arn: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


# -- filters ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SgRule:
    """One IP permission: a protocol, a port range (None: all) and the peers it admits."""

    protocol: str
    from_port: int | None = None
    to_port: int | None = None
    cidrs: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SecurityGroup:
    group_id: str
    vpc_id: str
    name: str
    ingress: tuple[SgRule, ...] = ()
    egress: tuple[SgRule, ...] = ()


@dataclass(frozen=True, slots=True)
class AclEntry:
    """One network ACL entry; ports None means all ports (EC2 omits PortRange for protocol -1)."""

    rule_number: int
    egress: bool
    protocol: str
    allow: bool
    cidr: str
    from_port: int | None = None
    to_port: int | None = None


@dataclass(frozen=True, slots=True)
class NetworkAcl:
    acl_id: str
    vpc_id: str
    default: bool
    subnet_ids: tuple[str, ...]
    entries: tuple[AclEntry, ...]
