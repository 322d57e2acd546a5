"""The data plane's layout: what to build for a :class:`peering.analysis.Snapshot`. Pure (no I/O).

The layout is the translation of the EC2 records into Linux networking, kept apart from the code that
makes namespaces so that it can be read and tested without root:

* every interface that can answer (running instance, in-use ENI) is a **host** namespace holding its
  IPv4 addresses on ``eth0``, with a default route to its VPC's router, and its security groups as a
  stateful nftables ruleset (``ct state established,related`` admits replies; new traffic must match a
  rule: a CIDR, or the addresses of the interfaces carrying a referenced group);
* every VPC is a **router** namespace. It reaches each host over a veth named ``s<subnet>h<host>``.
  Each route table is a Linux routing table (``1000 + n``) and each subnet's traffic is looked up in its
  own table by a policy rule ``from <subnet CIDR>``: longest prefix wins, ``local`` routes (one per VPC
  block) deliver to the VPC's hosts and drop other addresses of the block, a blackhole route, a route
  to a peering that is not active and a route to anything else (an internet gateway...) drop, and an
  address no route covers is dropped;
* every **active** peering whose two VPCs are both in the snapshot is a veth between the two routers.
  What arrives over it is delivered only to hosts of that VPC (rule ``iif <link> lookup 100``), never
  forwarded on: peering is not transitive. A pending, rejected, deleted... peering has no link;
* network ACLs are stateless nftables chains on the router's forward hook, applied where traffic
  leaves a subnet (its egress entries) and enters one (its ingress entries), in rule-number order,
  first match wins (allow = go on, deny = drop), ending in the ``*`` deny. Traffic between two hosts
  of one subnet crosses no subnet boundary and meets no ACL (as in a VPC).

IPv6 is not built: IPv6 addresses, routes, rules and entries are left out (see :attr:`Layout.notes`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from peering.analysis import (
    UP_STATES,
    AclEntry,
    Interface,
    NetworkAcl,
    Snapshot,
    protocol_number,
)

HOSTS_TABLE = 100
"""The routing table of a router that delivers to its own VPC's hosts only (used for what arrives over a peering)."""
ROUTE_TABLE_BASE = 1000
HOST_DEV = "eth0"
LISTEN_TAG = "peering-automation/listen"
DEFAULT_LISTEN = (22,)


@dataclass(frozen=True)
class Host:
    key: str
    """The interface id (or a made-up id for the probe's interface)."""
    vpc_id: str
    subnet_id: str
    ips: tuple[str, ...]
    router_dev: str
    ports: tuple[int, ...]
    script: str
    """``ip -batch`` commands run in the host's namespace."""
    ruleset: str
    """nftables ruleset (its security groups)."""


@dataclass(frozen=True)
class PeerLink:
    peering_id: str
    vpc_a: str
    dev_a: str
    vpc_b: str
    dev_b: str


@dataclass(frozen=True)
class Router:
    vpc_id: str
    address: str
    """Its own address (on ``lo``): the hosts' gateway and the peers' next hop, answered by ARP."""
    script: str
    ruleset: str


@dataclass(frozen=True)
class Layout:
    routers: dict[str, Router]
    hosts: dict[str, Host]
    peer_links: tuple[PeerLink, ...]
    notes: tuple[str, ...] = field(default=())

    def host_at(self, ip: str) -> Host | None:
        address = str(ipaddress.ip_address(ip))
        return next((h for h in self.hosts.values() if address in h.ips), None)


def _ipv4(cidr: str) -> ipaddress.IPv4Network | None:
    try:
        net = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return None
    return net if net.version == 4 else None


def parse_listen(value: str | None) -> tuple[int, ...]:
    """The ports of a ``peering-automation/listen`` tag ('22,443'); the default 22 when absent.
    Raises ValueError naming the bad item."""
    if value is None:
        return DEFAULT_LISTEN
    ports = []
    for item in (p.strip() for p in value.split(",")):
        if not item:
            continue
        if not item.isdigit() or not 0 < int(item) < 65536:
            raise ValueError(f"{LISTEN_TAG} item {item!r} is not a TCP port (1-65535).")
        ports.append(int(item))
    return tuple(dict.fromkeys(ports))


# -- security groups: stateful rules on the host -------------------------------------------------------
def _match(protocol: str, low: int | None, high: int | None) -> str | None:
    """The nft match for a rule's protocol and ports ('' = everything); None for what IPv4 never carries."""
    number = protocol_number(protocol)
    if number == "-1":
        return ""
    if number == "58":
        return None
    if number in ("6", "17"):
        name = "tcp" if number == "6" else "udp"
        if low is None or low < 0:
            return f"meta l4proto {name}"
        high = high if high is not None and high >= 0 else low
        if (low, high) == (0, 65535):
            return f"meta l4proto {name}"
        return f"meta l4proto {name} th dport {low}-{high}" if low != high else f"meta l4proto {name} th dport {low}"
    if number == "1":
        if low is None or low < 0:
            return "meta l4proto icmp"
        return f"meta l4proto icmp icmp type {low}"
    return f"meta l4proto {number}"


def _group_members(snapshot: Snapshot, group_id: str, vpc_id: str, linked: set[frozenset[str]]) -> list[str]:
    """IPv4 addresses of the up interfaces carrying ``group_id`` that a rule of a group in ``vpc_id`` can name:
    interfaces in the same VPC, or across an active same-region peering (not across regions)."""
    found = []
    for interface in snapshot.interfaces:
        if group_id not in interface.security_group_ids or interface.state not in UP_STATES:
            continue
        if interface.vpc_id != vpc_id and frozenset((interface.vpc_id, vpc_id)) not in linked:
            continue
        found += [f"{ip}/32" for ip in interface.ips if _ipv4(ip)]
    return found


def _sg_lines(snapshot: Snapshot, interface: Interface, egress: bool, linked: set[frozenset[str]]) -> list[str]:
    peer = "daddr" if egress else "saddr"
    lines = []
    for group_id in interface.security_group_ids:
        group = snapshot.security_groups.get(group_id)
        if group is None:
            continue
        for rule in group.egress if egress else group.ingress:
            match = _match(rule.protocol, rule.from_port, rule.to_port)
            if match is None:
                continue
            peers = [c for c in rule.cidrs if _ipv4(c)]
            for referenced in rule.group_ids:
                peers += _group_members(snapshot, referenced, group.vpc_id, linked)
            for cidr in dict.fromkeys(str(_ipv4(c)) for c in peers):
                lines.append(f"ip {peer} {cidr} {match} accept".replace("  ", " "))
    return lines


def security_group_ruleset(snapshot: Snapshot, interface: Interface, linked: set[frozenset[str]]) -> str:
    """Security groups are stateful and allow-only: replies pass, new traffic needs a rule, the rest drops."""
    ingress = _sg_lines(snapshot, interface, False, linked)
    egress = _sg_lines(snapshot, interface, True, linked)
    return "\n".join([
        "table inet sg {",
        "  chain input {",
        "    type filter hook input priority 0; policy drop;",
        "    iif lo accept",
        "    ct state established,related accept",
        *(f"    {line}" for line in ingress),
        "  }",
        "  chain output {",
        "    type filter hook output priority 0; policy drop;",
        "    oif lo accept",
        "    ct state established,related accept",
        *(f"    {line}" for line in egress),
        "  }",
        "}",
        "",
    ])


# -- network ACLs: stateless chains on the router ------------------------------------------------------
def _acl_line(entry: AclEntry) -> str | None:
    net = _ipv4(entry.cidr)
    if net is None:
        return None
    number = protocol_number(entry.protocol)
    if number == "1":
        match = "meta l4proto icmp"  # like the analysis: an ICMP entry matches every type
    else:
        match = _match(entry.protocol, entry.from_port, entry.to_port)
        if match is None:
            return None
    peer = "daddr" if entry.egress else "saddr"
    verdict = "return" if entry.allow else "drop"
    return f"ip {peer} {net} {match} {verdict}".replace("  ", " ")


def _acl_chain(name: str, acl: NetworkAcl | None, egress: bool) -> list[str]:
    entries = sorted((e for e in (acl.entries if acl else ()) if e.egress == egress), key=lambda e: e.rule_number)
    lines = [line for line in map(_acl_line, entries) if line]
    return [f"  chain {name} {{", *(f"    {line}" for line in lines), "    drop", "  }"]


# -- routers -----------------------------------------------------------------------------------------
def _router_address(index: int) -> str:
    return f"169.254.{255 - index // 250}.{index % 250 + 1}"


def build_layout(snapshot: Snapshot, listen: dict[str, tuple[int, ...]] | None = None) -> Layout:
    """The namespaces, links, routes and rulesets for ``snapshot``. ``listen`` maps an interface id to
    the TCP ports something listens on there (default: :data:`DEFAULT_LISTEN`)."""
    listen = listen or {}
    notes: list[str] = []
    vpcs = sorted({s.vpc_id for s in snapshot.subnets.values()}
                  | {t.vpc_id for t in snapshot.route_tables} | set(snapshot.vpc_cidrs))
    address = {vpc: _router_address(i) for i, vpc in enumerate(vpcs)}
    subnet_index = {sid: i for i, sid in enumerate(sorted(snapshot.subnets))}

    # peerings: active, both VPCs built, one link per pair (AWS allows one active peering per pair)
    links: list[PeerLink] = []
    linked_pairs: set[frozenset[str]] = set()
    same_region_pairs: set[frozenset[str]] = set()
    for n, peering in enumerate(sorted(snapshot.peerings.values(), key=lambda p: p.peering_id)):
        pair = frozenset((peering.requester.vpc_id, peering.accepter.vpc_id))
        if peering.state != "active" or len(pair) != 2 or not pair <= set(vpcs) or pair in linked_pairs:
            continue
        linked_pairs.add(pair)
        if peering.same_region:
            same_region_pairs.add(pair)
        links.append(PeerLink(peering.peering_id, peering.requester.vpc_id, f"p{n}", peering.accepter.vpc_id, f"p{n}"))
    link_of = {(link.peering_id, vpc): dev for link in links
               for vpc, dev in ((link.vpc_a, link.dev_a), (link.vpc_b, link.dev_b))}
    peer_vpc = {(link.peering_id, link.vpc_a): link.vpc_b for link in links} | \
               {(link.peering_id, link.vpc_b): link.vpc_a for link in links}

    # hosts
    hosts: dict[str, Host] = {}
    for n, interface in enumerate(snapshot.interfaces):
        if interface.state not in UP_STATES or interface.subnet_id not in subnet_index:
            continue
        ips = tuple(str(ipaddress.ip_address(ip)) for ip in interface.ips if ipaddress.ip_address(ip).version == 4)
        if len(ips) < len(interface.ips):
            notes.append(f"{interface.interface_id}: IPv6 addresses are not built")
        if not ips:
            continue
        gateway = address[interface.vpc_id]
        script = "\n".join([
            "link set lo up", f"link set {HOST_DEV} up",
            *(f"addr add {ip}/32 dev {HOST_DEV}" for ip in ips),
            f"route add default via {gateway} dev {HOST_DEV} onlink src {ips[0]}",
            "",
        ])
        hosts[interface.interface_id] = Host(
            key=interface.interface_id, vpc_id=interface.vpc_id, subnet_id=interface.subnet_id, ips=ips,
            router_dev=f"s{subnet_index[interface.subnet_id]}h{n}",
            ports=tuple(listen.get(interface.interface_id, DEFAULT_LISTEN)), script=script,
            ruleset=security_group_ruleset(snapshot, interface, same_region_pairs))

    routers: dict[str, Router] = {}
    for vpc in vpcs:
        routers[vpc] = _router(snapshot, vpc, address, hosts, links, link_of, peer_vpc, subnet_index, notes)
    return Layout(routers=routers, hosts=hosts, peer_links=tuple(links), notes=tuple(dict.fromkeys(notes)))


def _router(snapshot: Snapshot, vpc: str, address: dict[str, str], hosts: dict[str, Host],
            links: list[PeerLink], link_of: dict[tuple[str, str], str], peer_vpc: dict[tuple[str, str], str],
            subnet_index: dict[str, int], notes: list[str]) -> Router:
    mine = [h for h in hosts.values() if h.vpc_id == vpc]
    blocks = [str(net) for c in snapshot.vpc_cidrs.get(vpc, ()) if (net := _ipv4(c))]
    lines = ["link set lo up", f"addr add {address[vpc]}/32 dev lo"]
    lines += [f"link set {h.router_dev} up" for h in mine]
    my_links = [(link.peering_id, link_of[(link.peering_id, vpc)]) for link in links
                if vpc in (link.vpc_a, link.vpc_b)]
    lines += [f"link set {dev} up" for _, dev in my_links]

    def delivered(table: int, block: str) -> list[str]:
        """A local route: this VPC's hosts in ``block``, every other address of it dropped."""
        net = ipaddress.ip_network(block)
        out = [f"route replace {ip}/32 dev {h.router_dev} table {table}"
               for h in mine for ip in h.ips if ipaddress.ip_address(ip) in net]
        return [*out, f"route replace blackhole {block} table {table}"]

    for block in blocks:
        lines += delivered(HOSTS_TABLE, block)
    lines.append(f"route replace blackhole default table {HOSTS_TABLE}")
    for _, dev in my_links:
        lines.append(f"rule add iif {dev} lookup {HOSTS_TABLE} pref 100")

    tables = sorted((t for t in snapshot.route_tables if t.vpc_id == vpc), key=lambda t: t.route_table_id)
    number_of = {t.route_table_id: ROUTE_TABLE_BASE + i for i, t in enumerate(tables)}
    for table in tables:
        number = number_of[table.route_table_id]
        local = set(blocks)
        routes: dict[str, str] = {}
        for route in table.routes:
            net = _ipv4(route.destination)
            if net is None:
                continue
            if route.target == "local":
                local.add(str(net))
                continue
            dev = link_of.get((route.target or "", vpc))
            if route.state == "blackhole" or dev is None:
                routes[str(net)] = f"route replace blackhole {net} table {number}"
            else:
                far = address[peer_vpc[(route.target or "", vpc)]]
                routes[str(net)] = f"route replace {net} via {far} dev {dev} onlink table {number}"
        for block in sorted(local):
            if block in routes:
                notes.append(f"{table.route_table_id}: a route for {block} replaces its local route")
                continue
            lines += delivered(number, block)
        lines += routes.values()
        lines.append(f"route add blackhole default table {number} metric 65535")
    for subnet_id in sorted(s for s, sub in snapshot.subnets.items() if sub.vpc_id == vpc):
        table = snapshot.route_table_of(subnet_id)
        net = _ipv4(snapshot.subnets[subnet_id].cidr)
        if table is not None and net is not None:
            lines.append(f"rule add from {net} lookup {number_of[table.route_table_id]} pref "
                         f"{200 + subnet_index[subnet_id]}")
    lines.append("")

    # network ACLs where traffic leaves and enters each subnet of this VPC
    chains: list[str] = []
    forward = ["  chain forward {", "    type filter hook forward priority 0; policy accept;"]
    for subnet_id in sorted(s for s, sub in snapshot.subnets.items() if sub.vpc_id == vpc):
        index = subnet_index[subnet_id]
        acl = snapshot.network_acl_of(subnet_id)
        chains += _acl_chain(f"s{index}_out", acl, True) + _acl_chain(f"s{index}_in", acl, False)
        forward.append(f'    iifname "s{index}h*" oifname "s{index}h*" accept')
    for subnet_id in sorted(s for s, sub in snapshot.subnets.items() if sub.vpc_id == vpc):
        forward.append(f'    iifname "s{subnet_index[subnet_id]}h*" jump s{subnet_index[subnet_id]}_out')
    for subnet_id in sorted(s for s, sub in snapshot.subnets.items() if sub.vpc_id == vpc):
        forward.append(f'    oifname "s{subnet_index[subnet_id]}h*" jump s{subnet_index[subnet_id]}_in')
    forward.append("  }")
    ruleset = "\n".join(["table inet nacl {", *chains, *forward, "}", ""])
    return Router(vpc_id=vpc, address=address[vpc], script="\n".join(lines), ruleset=ruleset)
