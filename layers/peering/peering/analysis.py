"""Path analysis: can a source reach ``ip:port`` through a peering, and if not, what blocks it. Pure.

:func:`analyze` is the one definition of a reachable flow used everywhere (Verify, the emulated network,
``peering diagnose``): the **request path** is open and **its reply path** is open. Security groups are
stateful, so the reply needs no rule of its own; the reply path is the route back and the network ACLs
(stateless) for the replies on the client's ephemeral ports. A connection in the opposite direction
(the destination opening one to the source) is another flow, never part of this one.

The input is a :class:`Snapshot` of ``describe_*`` data (the adapter ``peering.aws.network`` reads it);
no boto3 and no I/O here, so every rule is tested with plain values. :func:`analyze` walks the path
the way VPC networking does and stops at the first component that blocks it:

* ``source``: is the source usable (a known subnet, an address of the destination's family)?
* ``route``: does the source subnet's route table send the destination to the peering?
* ``peering``: is that peering active, and does it join the two VPCs?
* ``route-back``: does the destination subnet's route table send the source back through it?
* ``sg-egress``: do the source's security groups admit the traffic out?
* ``destination``: does a running instance (or an in-use interface) hold the destination address?
* ``sg-ingress``: do the destination's security groups admit it in?
* ``nacl-egress`` / ``nacl-ingress``: do the source's / destination's network ACLs let it out / in?
* ``nacl-return-egress`` / ``nacl-return-ingress``: do the destination's / source's network ACLs let the
  replies out / in, on the client's ephemeral ports? (Between two hosts of one subnet there is no ACL
  check: AWS evaluates network ACLs where traffic enters and leaves a subnet, not within it.)

Every hop carries one plain sentence naming the component (route table, peering, security group,
network ACL) so that the first failed hop's sentence is the explanation a person reads.

Semantics worth knowing:

* Routes: longest-prefix match among routes of the destination's address family; a blackhole route
  that wins drops the traffic. Within one VPC the ``local`` route delivers (more-specific routes that
  override ``local`` towards middleboxes are not modelled).
* Security groups are stateful and allow-only: the union of every rule of every group of the endpoint.
  A rule that references a group admits the members of that group; across a peering this holds only
  when both VPCs are in the same region (AWS does not support it across regions).
* Network ACLs are stateless: rules in rule-number order, first match wins, nothing matching means
  deny (rule ``*``). Replies travel to the client's ephemeral port, which may be anything in
  1024-65535 (AWS's recommendation: Linux uses 32768-60999, Windows 49152-65535, NAT gateways and
  load balancers 1024-65535), so the return checks require that whole range.
* An :class:`Endpoint` without ``ip`` is a whole subnet: every rule must then cover the subnet's
  whole CIDR (a rule for part of it leaves the rest uncovered; a deny for part of it blocks).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from .records import (
    ACTIVE,
    PEERING_ID_PREFIX,
    AclEntry,
    Interface,
    NetworkAcl,
    Peering,
    Route,
    RouteTable,
    SecurityGroup,
    SgRule,
    Subnet,
)

__all__ = ["AclEntry", "Interface", "NetworkAcl", "Peering", "Route", "RouteTable", "SecurityGroup", "SgRule",
           "Snapshot", "Subnet", "analyze"]

Net = ipaddress.IPv4Network | ipaddress.IPv6Network

EPHEMERAL_PORTS = (1024, 65535)
"""The client ports replies go to: AWS recommends NACLs allow this whole range for return traffic."""
IMPLICIT_DENY_RULE = 32767
"""The rule number EC2 shows for a network ACL's final ``*`` deny."""
UP_STATES = frozenset({"running", "in-use"})
"""Interface states (instance state for an instance's interface) in which something can answer."""

PROTOCOL_NUMBERS = {"tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58", "-1": "-1", "all": "-1"}
PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
PORTED = frozenset({"6", "17"})
"""Protocols whose rules carry port ranges (for ICMP the 'port' fields are type and code)."""
ALL_PORTS = (0, 65535)


# == the snapshot ==================================================================================
@dataclass(frozen=True)
class Snapshot:
    """Everything the analysis reads, as the adapter found it. Lookups are indexed on first use."""

    subnets: dict[str, Subnet] = field(default_factory=dict)
    route_tables: tuple[RouteTable, ...] = ()
    security_groups: dict[str, SecurityGroup] = field(default_factory=dict)
    network_acls: tuple[NetworkAcl, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    peerings: dict[str, Peering] = field(default_factory=dict)
    vpc_names: dict[str, str] = field(default_factory=dict)
    vpc_cidrs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Every associated block (primary, secondary, IPv6) per VPC: sentences name the block that holds an
    address ('no route to 10.7.0.0/16'); without it they name the address."""

    @cached_property
    def _explicit_tables(self) -> dict[str, RouteTable]:
        return {s: t for t in self.route_tables for s in t.subnet_ids}

    @cached_property
    def _main_tables(self) -> dict[str, RouteTable]:
        return {t.vpc_id: t for t in self.route_tables if t.main}

    @cached_property
    def _explicit_acls(self) -> dict[str, NetworkAcl]:
        return {s: a for a in self.network_acls for s in a.subnet_ids}

    @cached_property
    def _default_acls(self) -> dict[str, NetworkAcl]:
        return {a.vpc_id: a for a in self.network_acls if a.default}

    @cached_property
    def _interfaces_by_ip(self) -> dict[str, Interface]:
        found: dict[str, Interface] = {}
        for interface in self.interfaces:
            for ip in interface.ips:
                found.setdefault(_canonical(ip), interface)
        return found

    def route_table_of(self, subnet_id: str) -> RouteTable | None:
        """The subnet's explicitly associated table, else its VPC's main table."""
        table = self._explicit_tables.get(subnet_id)
        subnet = self.subnets.get(subnet_id)
        return table or (self._main_tables.get(subnet.vpc_id) if subnet else None)

    def network_acl_of(self, subnet_id: str) -> NetworkAcl | None:
        """The subnet's explicitly associated ACL, else its VPC's default ACL."""
        acl = self._explicit_acls.get(subnet_id)
        subnet = self.subnets.get(subnet_id)
        return acl or (self._default_acls.get(subnet.vpc_id) if subnet else None)

    def interface_at(self, ip: str) -> Interface | None:
        try:
            return self._interfaces_by_ip.get(_canonical(ip))
        except ValueError:
            return None

    def subnet_holding(self, ip: str, prefer_vpcs: tuple[str, ...] = ()) -> Subnet | None:
        """The subnet whose CIDR (IPv4 or IPv6) holds ``ip``; with overlapping VPCs, one in ``prefer_vpcs``."""
        address = ipaddress.ip_address(ip)
        holding = [s for s in self.subnets.values()
                   if any(c and _contains(_net(c), address) for c in (s.cidr, s.ipv6_cidr))]
        holding.sort(key=lambda s: (s.vpc_id not in prefer_vpcs, s.subnet_id))
        return holding[0] if holding else None

    def vpc_label(self, vpc_id: str) -> str:
        """'VPC B' from the Name tag 'B', the Name itself when it says VPC already, else the id."""
        name = self.vpc_names.get(vpc_id, "").strip()
        if not name:
            return vpc_id
        return name if "vpc" in name.lower() else f"VPC {name}"

    def block_holding(self, net: Net, vpc_id: str | None) -> str:
        """The VPC block that holds ``net`` (what a route should name), else ``net`` itself."""
        for cidr in self.vpc_cidrs.get(vpc_id, ()) if vpc_id else ():
            block = _net(cidr)
            if block.version == net.version and net.subnet_of(block):
                return str(block)
        return str(net.network_address) if net.num_addresses == 1 else str(net)


# == endpoints and results =========================================================================
@dataclass(frozen=True, slots=True)
class Endpoint:
    """One end of a path: a host (``ip`` set) or a whole subnet (``ip`` None) with its security groups."""

    label: str
    subnet_id: str
    security_group_ids: tuple[str, ...]
    ip: str | None = None


REPLY_KINDS = frozenset({"route-back", "nacl-return-egress", "nacl-return-ingress"})
"""The hops of the reply path (the route back, the network ACLs for the replies); every other hop is on the
request path. Security groups are stateful: they have no reply hop."""


@dataclass(frozen=True, slots=True)
class Hop:
    kind: str
    component: str
    passed: bool
    sentence: str

    @property
    def path(self) -> str:
        """'request path' or 'reply path'."""
        return "reply path" if self.kind in REPLY_KINDS else "request path"


@dataclass(frozen=True)
class PathResult:
    """The hops checked, in path order, ending at the first that blocks (if any)."""

    reachable: bool
    hops: tuple[Hop, ...]
    summary: str = ""
    """The sentence for a reachable path (what it goes through)."""

    @property
    def blocked_by(self) -> Hop | None:
        return next((h for h in self.hops if not h.passed), None)

    @property
    def reason(self) -> str:
        blocked = self.blocked_by
        return blocked.sentence if blocked else self.summary

    def wire(self) -> dict[str, Any]:
        blocked = self.blocked_by
        return {
            "reachable": self.reachable,
            "reason": self.reason,
            "blockedBy": blocked.component if blocked else None,
            "hops": [{"kind": h.kind, "path": h.path, "component": h.component, "passed": h.passed,
                      "sentence": h.sentence}
                     for h in self.hops],
        }


def interface_label(interface: Interface, ip: str) -> str:
    return f"instance {interface.instance_id} ({ip})" if interface.instance_id else f"{interface.interface_id} ({ip})"


def endpoint_for_ip(snapshot: Snapshot, ip: str) -> Endpoint | None:
    """The host holding ``ip`` (from the snapshot's interfaces), or None when no interface has it."""
    interface = snapshot.interface_at(ip)
    if interface is None:
        return None
    address = _canonical(ip)
    return Endpoint(interface_label(interface, address), interface.subnet_id, interface.security_group_ids, address)


def endpoint_for_subnet(snapshot: Snapshot, subnet_id: str, security_group_ids: tuple[str, ...] = ()) -> Endpoint:
    """Anything in ``subnet_id`` carrying these security groups (e.g. a Lambda's VpcConfig).

    Raises ValueError when the snapshot does not know the subnet.
    """
    subnet = snapshot.subnets.get(subnet_id)
    if subnet is None:
        raise ValueError(f"Subnet {subnet_id} is not in the snapshot.")
    return Endpoint(f"subnet {subnet_id} ({subnet.cidr})", subnet_id, tuple(security_group_ids))


# == helpers =======================================================================================
@lru_cache(maxsize=1 << 16)
def _net(cidr: str) -> Net:
    return ipaddress.ip_network(cidr.strip(), strict=False)


def _canonical(ip: str) -> str:
    return str(ipaddress.ip_address(ip.strip()))


def _contains(net: Net, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return net.version == address.version and address in net


def _overlap(a: Net, b: Net) -> Net | None:
    """The common part of two CIDRs (one holds the other, or they are disjoint)."""
    if a.version != b.version:
        return None
    if a.subnet_of(b):
        return a
    if b.subnet_of(a):
        return b
    return None


def _minus(net: Net, other: Net) -> list[Net]:
    """``net`` without ``other`` as CIDRs."""
    common = _overlap(net, other)
    if common is None:
        return [net]
    if common == net:
        return []
    return list(net.address_exclude(common))


def protocol_number(protocol: str) -> str:
    """'tcp' -> '6', '6' -> '6', '-1'/'all' -> '-1'. Raises ValueError for an unknown name."""
    key = str(protocol).strip().lower()
    if key in PROTOCOL_NUMBERS:
        return PROTOCOL_NUMBERS[key]
    if key.isdigit():
        return key
    raise ValueError(f"Unknown protocol {protocol!r}: use tcp, udp, icmp, icmpv6 or a protocol number.")


def flow_text(protocol: str, ports: tuple[int, int] | None) -> str:
    """'tcp/22', 'tcp/1024-65535', 'icmp'."""
    number = protocol_number(protocol)
    name = PROTOCOL_NAMES.get(number, f"protocol {number}")
    if number not in PORTED or ports is None:
        return name
    low, high = ports
    return f"{name}/{low}" if low == high else f"{name}/{low}-{high}"


def _port_range(protocol: str, low: int | None, high: int | None) -> tuple[int, int]:
    """A rule's port range; all ports when the protocol has none or the rule leaves them open."""
    if protocol not in PORTED or low is None or low < 0:
        return ALL_PORTS
    return (low, high if high is not None and high >= 0 else low)


def _place(net: Net) -> str:
    return str(net.network_address) if net.num_addresses == 1 else str(net)


def _groups_text(snapshot: Snapshot, group_ids: tuple[str, ...] | list[str]) -> str:
    def one(group_id: str) -> str:
        group = snapshot.security_groups.get(group_id)
        return f"{group_id} ({group.name})" if group and group.name else group_id

    words = ", ".join(one(g) for g in group_ids)
    return f"security group {words}" if len(group_ids) == 1 else f"security groups {words}"


# == security groups ===============================================================================
@dataclass(frozen=True, slots=True)
class _SgVerdict:
    admitted: bool
    by: str = ""
    """What admitted it ('its rule for 10.6.0.0/16'), or what is left uncovered."""
    note: str = ""
    """Why a group reference that looked relevant did not count."""


def _sg_rule_matches(rule: SgRule, protocol: str, port: int) -> bool:
    rule_protocol = protocol_number(rule.protocol)
    if rule_protocol == "-1":
        return True
    if rule_protocol != protocol:
        return False
    if protocol in PORTED:
        low, high = _port_range(protocol, rule.from_port, rule.to_port)
        return low <= port <= high
    # ICMP: from_port is the type, -1/None any type; ``port`` is the type asked for
    return rule.from_port is None or rule.from_port < 0 or rule.from_port == port


def _sg_admits(snapshot: Snapshot, group_ids: tuple[str, ...], egress: bool, protocol: str, port: int,
               peer: Net, peer_groups: tuple[str, ...], references_apply: bool, across: str) -> _SgVerdict:
    """Whether the union of the groups' rules admits the flow from/to every address of ``peer``."""
    remaining = [peer]
    note = ""
    for group_id in group_ids:
        group = snapshot.security_groups.get(group_id)
        if group is None:
            continue
        for rule in group.egress if egress else group.ingress:
            if not _sg_rule_matches(rule, protocol, port):
                continue
            referenced = [g for g in rule.group_ids if g in peer_groups]
            if referenced:
                if references_apply:
                    return _SgVerdict(True, f"its rule referencing {referenced[0]}")
                note = note or (f"its rule referencing {referenced[0]} does not apply across the inter-region "
                                f"peering {across}")
            elif rule.group_ids and not note:
                note = f"{_place(peer)} is not in {', '.join(rule.group_ids)}, the group its rule references"
            for cidr in rule.cidrs:
                rule_net = _net(cidr)
                if rule_net.version != peer.version:
                    continue
                if any(_overlap(part, rule_net) for part in remaining):
                    remaining = [piece for part in remaining for piece in _minus(part, rule_net)]
                    if not remaining:
                        return _SgVerdict(True, f"its rule for {cidr}")
    left = "" if remaining == [peer] else f"{', '.join(map(str, sorted(remaining)))} is not covered"
    return _SgVerdict(False, left, note)


# == network ACLs ==================================================================================
Box = tuple[Net, int, int]
"""A set of flows: peer addresses x destination ports."""


@dataclass(frozen=True, slots=True)
class _AclVerdict:
    allowed: bool
    rules: tuple[int, ...]
    """The allow rules that admitted it, or the one rule that denies (32767 for ``*``)."""
    denied: tuple[Box, ...] = ()
    """The flows denied: what the deciding deny rule catches, or everything no allow rule reached."""


def _box_minus(box: Box, net: Net, low: int, high: int) -> list[Box]:
    peer, a, b = box
    common = _overlap(peer, net)
    if common is None or high < a or low > b:
        return [box]
    pieces: list[Box] = [(rest, a, b) for rest in _minus(peer, net)]
    if a < low:
        pieces.append((common, a, low - 1))
    if high < b:
        pieces.append((common, high + 1, b))
    return pieces


def _acl_admits(acl: NetworkAcl, egress: bool, protocol: str, peer: Net, ports: tuple[int, int]) -> _AclVerdict:
    """Rule-number order, first match wins, every flow of ``peer`` x ``ports`` must meet an allow first."""
    remaining: list[Box] = [(peer, *ports)]
    used: list[int] = []
    for entry in sorted((e for e in acl.entries if e.egress == egress), key=lambda e: e.rule_number):
        entry_protocol = protocol_number(entry.protocol)
        if entry_protocol not in ("-1", protocol):
            continue
        entry_net = _net(entry.cidr)
        if entry_net.version != peer.version:
            continue
        low, high = _port_range(entry_protocol, entry.from_port, entry.to_port)
        hits = tuple((common, max(a, low), min(b, high)) for part, a, b in remaining
                     if (common := _overlap(part, entry_net)) is not None and low <= b and high >= a)
        if not hits:
            continue
        if not entry.allow:
            return _AclVerdict(False, (entry.rule_number,), hits)
        used.append(entry.rule_number)
        remaining = [piece for box in remaining for piece in _box_minus(box, entry_net, low, high)]
        if not remaining:
            return _AclVerdict(True, tuple(used))
    return _AclVerdict(False, (IMPLICIT_DENY_RULE,), tuple(remaining))


# == the analysis ==================================================================================
class _Walk:
    """The hops of one analysis, collected in order; ``block`` ends the walk."""

    def __init__(self) -> None:
        self.hops: list[Hop] = []

    def ok(self, kind: str, component: str, sentence: str) -> None:
        self.hops.append(Hop(kind, component, True, sentence))

    def block(self, kind: str, component: str, sentence: str) -> PathResult:
        self.hops.append(Hop(kind, component, False, sentence))
        return PathResult(False, tuple(self.hops))


@dataclass(frozen=True, slots=True)
class _Side:
    """One end of the path as the checks need it: subnet, address set, groups, words."""

    subnet: Subnet
    peer: Net
    """The address (as /32 or /128) or the whole subnet CIDR."""
    groups: tuple[str, ...]
    label: str

    @property
    def place(self) -> str:
        return _place(self.peer)


def _source_side(snapshot: Snapshot, source: Endpoint, version: int) -> _Side | str:
    """The source in the destination's address family, or why there is none."""
    subnet = snapshot.subnets.get(source.subnet_id)
    if subnet is None:
        return f"source subnet {source.subnet_id} of {source.label} is not in the snapshot."
    family = "IPv6" if version == 6 else "IPv4"
    if source.ip is None:
        cidr = subnet.ipv6_cidr if version == 6 else subnet.cidr
        if not cidr:
            return f"subnet {subnet.subnet_id} of {source.label} has no {family} block."
        return _Side(subnet, _net(cidr), source.security_group_ids, source.label)
    address = ipaddress.ip_address(source.ip)
    if address.version != version:
        interface = snapshot.interface_at(source.ip)
        same = [ip for ip in (interface.ips if interface else ()) if ipaddress.ip_address(ip).version == version]
        if not same:
            return f"{source.label} has no {family} address to reach a {family} destination from."
        address = ipaddress.ip_address(same[0])
    return _Side(subnet, ipaddress.ip_network(address), source.security_group_ids, source.label)


def _route_hop(walk: _Walk, snapshot: Snapshot, kind: str, side: Subnet, to: Net, to_vpc: str | None,
               want: str | None) -> str | PathResult:
    """Check ``side``'s route table for ``to``; returns the peering it uses, 'local', or the blocked result."""
    table = snapshot.route_table_of(side.subnet_id)
    where = f"{side.subnet_id} ({snapshot.vpc_label(side.vpc_id)})"
    if table is None:
        return walk.block(kind, side.subnet_id, f"subnet {where} has no route table in the snapshot.")
    head = f"route table {table.route_table_id} of {where}"
    back = " back" if kind == "route-back" else ""
    if to_vpc == side.vpc_id:
        walk.ok(kind, table.route_table_id, f"{head} delivers {_place(to)} through its local route (same VPC).")
        return "local"
    best: Route | None = None
    best_length = -1
    containing: list[Route] = []
    inner: list[Route] = []
    for route in table.routes:
        try:
            route_net = _net(route.destination)
        except ValueError:
            continue
        if route_net.version != to.version:
            continue
        if to.subnet_of(route_net):
            containing.append(route)
            if route_net.prefixlen > best_length:
                best, best_length = route, route_net.prefixlen
        elif route_net.subnet_of(to):
            inner.append(route)  # only for a subnet-wide endpoint: more specific, takes part of its addresses
    uncovered = [to]
    for net in (_net(r.destination) for r in inner):
        uncovered = [piece for part in uncovered for piece in _minus(part, net)]
    # the routes that decide: every more specific one, and the best containing one for what they leave
    deciding = [*inner, *([best] if best is not None and uncovered else [])]
    expected = want or "a peering connection"

    def usable(route: Route) -> bool:
        target = route.target or ""
        return route.state != "blackhole" and target.startswith(PEERING_ID_PREFIX) and (want is None or target == want)

    for route in deciding:
        if usable(route):
            continue
        which = "its best match" if route is best else "its route for part of it,"
        if route.state == "blackhole":
            return walk.block(kind, table.route_table_id, (
                f"{head} drops traffic{back} to {_place(to)}: {which} {route.destination} is a blackhole "
                f"route{f' (its target {route.target} no longer exists)' if route.target else ''}."))
        target = route.target or "an unknown target"
        beaten = next((r for r in containing if r is not route and usable(r)), None) if route is best else None
        if beaten is not None:
            return walk.block(kind, table.route_table_id, (
                f"{head} sends {_place(to)}{back} to {target} through its more specific route {route.destination}, "
                f"which beats the route {beaten.destination} to {beaten.target}."))
        return walk.block(kind, table.route_table_id, (
            f"{head} has no route{back} to {snapshot.block_holding(to, to_vpc)} through {expected}: {which} "
            f"{route.destination} sends {_place(to)} to {target}."))
    if not deciding:
        return walk.block(kind, table.route_table_id,
                          f"{head} has no route{back} to {snapshot.block_holding(to, to_vpc)}.")
    if uncovered and best is None:
        return walk.block(kind, table.route_table_id, (
            f"{head} has no route{back} to {', '.join(map(str, sorted(uncovered)))}, part of {_place(to)}."))
    chosen = best if best in deciding else deciding[0]
    via = ", ".join(r.destination for r in deciding)
    walk.ok(kind, table.route_table_id, f"{head} sends {_place(to)}{back} to {chosen.target} (route {via}).")
    return chosen.target or ""


def analyze(snapshot: Snapshot, source: Endpoint, destination_ip: str, port: int, peering_id: str | None = None,
            protocol: str = "tcp") -> PathResult:
    """Whether ``source`` reaches ``destination_ip:port`` (``protocol``) and, if not, the first hop that blocks.

    With ``peering_id`` the routes must target that peering; without it, any peering the routes name
    is checked. ``port`` is the ICMP type for icmp (8 for echo). See the module docstring for the hops.
    """
    walk = _Walk()
    number = protocol_number(protocol)
    flow = flow_text(number, (port, port))
    address = ipaddress.ip_address(destination_ip)
    destination_net = ipaddress.ip_network(address)
    src = _source_side(snapshot, source, address.version)
    if isinstance(src, str):
        return walk.block("source", source.subnet_id, src)
    peering = snapshot.peerings.get(peering_id or "")
    prefer = tuple(v for v in (peering.requester.vpc_id, peering.accepter.vpc_id) if v != src.subnet.vpc_id) \
        if peering else ()
    interface = snapshot.interface_at(destination_ip)
    dst_subnet = (snapshot.subnets.get(interface.subnet_id) if interface else None) \
        or snapshot.subnet_holding(destination_ip, (*prefer, src.subnet.vpc_id))
    dst_vpc = dst_subnet.vpc_id if dst_subnet else (prefer[0] if prefer else None)

    # (a) route out, (b) the peering, (c) route back
    via = _route_hop(walk, snapshot, "route", src.subnet, destination_net, dst_vpc, peering_id)
    if isinstance(via, PathResult):
        return via
    crossing: Peering | None = None
    if via != "local":
        crossing = snapshot.peerings.get(via)
        if crossing is None:
            return walk.block("peering", via, f"peering {via} is not in the snapshot (not visible to this account).")
        if crossing.state != ACTIVE:
            return walk.block("peering", via, f"peering {via} is {crossing.state}, not active.")
        far = crossing.accepter.vpc_id if crossing.requester.vpc_id == src.subnet.vpc_id else crossing.requester.vpc_id
        if src.subnet.vpc_id not in (crossing.requester.vpc_id, crossing.accepter.vpc_id) or (
                dst_vpc is not None and not crossing.joins(src.subnet.vpc_id, dst_vpc)):
            return walk.block("peering", via, (
                f"peering {via} joins {snapshot.vpc_label(crossing.requester.vpc_id)} and "
                f"{snapshot.vpc_label(crossing.accepter.vpc_id)}, not {snapshot.vpc_label(src.subnet.vpc_id)} and "
                f"{snapshot.vpc_label(dst_vpc or '?')}."))
        regions = "in one region" if crossing.same_region else \
            f"across regions {crossing.requester.region} and {crossing.accepter.region}"
        walk.ok("peering", via, f"peering {via} between {snapshot.vpc_label(crossing.requester.vpc_id)} and "
                                f"{snapshot.vpc_label(crossing.accepter.vpc_id)} is active ({regions}).")
        dst_vpc = dst_vpc or far
    if dst_subnet is None:
        return walk.block("destination", destination_ip,
                          f"{destination_ip} is in no subnet of {snapshot.vpc_label(dst_vpc or '?')} in the snapshot.")
    back = _route_hop(walk, snapshot, "route-back", dst_subnet, src.peer, src.subnet.vpc_id,
                      via if crossing else None)
    if isinstance(back, PathResult):
        return back

    # (d) source security groups out, the host, (e) destination security groups in
    references_apply = crossing is None or crossing.same_region
    across = crossing.peering_id if crossing else ""
    dst_groups = interface.security_group_ids if interface else ()
    dst_label = interface_label(interface, destination_ip) if interface else destination_ip
    if not src.groups:
        return walk.block("sg-egress", src.subnet.subnet_id, f"{src.label} has no security group, so nothing "
                                                             f"admits {flow} out to {destination_ip}.")
    verdict = _sg_admits(snapshot, src.groups, True, number, port, destination_net, dst_groups, references_apply,
                         across)
    groups = _groups_text(snapshot, src.groups)
    if not verdict.admitted:
        verb = "does" if len(src.groups) == 1 else "do"
        extra = f" ({verdict.note})" if verdict.note else ""
        return walk.block("sg-egress", ",".join(src.groups),
                          f"{groups} of {src.label} {verb} not admit {flow} to {destination_ip}{extra}.")
    verb = "admits" if len(src.groups) == 1 else "admit"
    walk.ok("sg-egress", ",".join(src.groups), f"{groups} of {src.label} {verb} {flow} to {destination_ip} "
                                               f"({verdict.by}).")
    if interface is None:
        return walk.block("destination", dst_subnet.subnet_id, (
            f"no network interface in {dst_subnet.subnet_id} ({snapshot.vpc_label(dst_subnet.vpc_id)}) has the "
            f"address {destination_ip}."))
    if interface.state not in UP_STATES:
        return walk.block("destination", interface.instance_id or interface.interface_id,
                          f"{dst_label} is {interface.state}, so nothing answers there.")
    walk.ok("destination", interface.instance_id or interface.interface_id, f"{dst_label} is {interface.state}.")
    verdict = _sg_admits(snapshot, dst_groups, False, number, port, src.peer, src.groups, references_apply, across)
    groups = _groups_text(snapshot, dst_groups) if dst_groups else "no security group"
    if not verdict.admitted:
        verb = "do" if len(dst_groups) > 1 else "does"  # "no security group ... does not admit"
        whole = "all of " if src.peer.num_addresses > 1 else ""
        detail = "; ".join(d for d in (verdict.by, verdict.note) if d)
        return walk.block("sg-ingress", ",".join(dst_groups) or interface.interface_id, (
            f"{groups} of {dst_label} {verb} not admit {flow} from {whole}{src.place}"
            f"{f' ({detail})' if detail else ''}."))
    verb = "admits" if len(dst_groups) == 1 else "admit"
    walk.ok("sg-ingress", ",".join(dst_groups), f"{groups} of {dst_label} {verb} {flow} from {src.place} "
                                                f"({verdict.by}).")

    # (f)-(h) network ACLs: out, in, and the replies both ways -- where traffic leaves and enters a subnet:
    # AWS does not evaluate them as traffic is routed within one subnet
    service = (port, port) if number in PORTED else ALL_PORTS
    replies = EPHEMERAL_PORTS if number in PORTED else ALL_PORTS
    checks = (
        ("nacl-egress", src.subnet, True, destination_net, service, False),
        ("nacl-ingress", dst_subnet, False, src.peer, service, False),
        ("nacl-return-egress", dst_subnet, True, src.peer, replies, True),
        ("nacl-return-ingress", src.subnet, False, destination_net, replies, True),
    )
    if src.subnet.subnet_id == dst_subnet.subnet_id:
        checks = ()
        walk.ok("nacl", src.subnet.subnet_id, f"network ACLs do not apply within subnet {src.subnet.subnet_id} "
                                              f"({snapshot.vpc_label(src.subnet.vpc_id)}): the traffic stays in it.")
    for kind, subnet, egress, other, ports, is_reply in checks:
        acl = snapshot.network_acl_of(subnet.subnet_id)
        where = f"{subnet.subnet_id} ({snapshot.vpc_label(subnet.vpc_id)})"
        if acl is None:
            return walk.block(kind, subnet.subnet_id, f"subnet {where} has no network ACL in the snapshot.")
        head = f"network ACL {acl.acl_id} of {where}"
        direction = f"out to {_place(other)}" if egress else f"in from {_place(other)}"
        what = flow_text(number, ports if number in PORTED else None)
        acl_verdict = _acl_admits(acl, egress, number, other, ports)
        rules = ", ".join(f"rule {n}" for n in acl_verdict.rules)  # rule * (32767) only denies: see cause
        if acl_verdict.allowed:
            traffic = f"replies {direction} on {what}" if is_reply else f"{what} {direction}"
            walk.ok(kind, acl.acl_id, f"{head} allows {traffic} ({rules}).")
            continue
        denied = acl_verdict.denied
        cause = rules if acl_verdict.rules != (IMPLICIT_DENY_RULE,) else "no rule allows it, so rule * denies it"
        ports_text = ", ".join(sorted({f"{low}-{high}" if low != high else str(low) for _, low, high in denied},
                                      key=lambda text: int(text.split("-")[0])))
        nets = sorted({box[0] for box in denied})  # one address family per check: in address order
        peer_part = "" if nets == [other] else f" (for {', '.join(map(_place, nets))})"
        if is_reply:
            part = f"{PROTOCOL_NAMES[number]}/{ports_text}" if number in PORTED else what
            why = (", but replies go to the client's ephemeral port, anywhere in 1024-65535" if number in PORTED
                   else "")
            return walk.block(kind, acl.acl_id, (f"{head} does not let replies {direction} on {part}{peer_part} "
                                                 f"({cause}){why}."))
        return walk.block(kind, acl.acl_id, f"{head} denies {flow} {direction}{peer_part} ({cause}).")

    through = f"through {crossing.peering_id}" if crossing else f"within {snapshot.vpc_label(src.subnet.vpc_id)}"
    summary = (f"{dst_label} is reachable on {flow} from {src.label} {through}: the request path and its reply "
               "path are open (routes, security groups, network ACLs).")
    return PathResult(True, tuple(walk.hops), summary)
