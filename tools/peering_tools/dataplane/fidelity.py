"""The differential test: the path analysis against the kernel, on generated topologies.

For each topology (a :class:`peering.analysis.Snapshot` drawn by :func:`topologies`: 2-3 VPCs with
secondary blocks, several route tables, blackholes, peerings in every state, security groups by CIDR
and by group, network ACLs with deny rules and ephemeral ranges, listening ports) the data plane is
built and every flow — each running instance to every other instance, in its VPC or another, on
tcp/22, 80 and 443 and ICMP echo — is asked twice:

* ``analysis.analyze`` says reachable or names the hop that blocks;
* the kernel: a real TCP connect from the source's namespace. The flow is open when the handshake
  answers (connected, or refused: a reset came back the whole reply path) from **every** client port
  the reply could use. The analysis requires the replies' whole ephemeral range (1024-65535) to pass
  the network ACLs, so the kernel is asked from each piece of that range the topology's ACL entries
  cut it into (both ends of every entry's range and the ports just outside them, plus 1024 and
  65535): ACL verdicts are constant between those points, so this is every client port there is.
  An ICMP echo is open when the echo reply comes back (a ping socket in the source's namespace).

A connect that does not answer within ``timeout`` is asked again with ``retry_timeout`` before it
counts as blocked (a slow machine must not make a disagreement). ``python -m
peering_tools.dataplane.fidelity`` runs many topologies and writes the agreement table
(``make fidelity`` → ``bench/fidelity.md``).
"""

from __future__ import annotations

import argparse
import errno
import resource
import selectors
import socket
import struct
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

from peering.analysis import (
    AclEntry,
    Interface,
    NetworkAcl,
    Peering,
    Route,
    RouteTable,
    SecurityGroup,
    SgRule,
    Snapshot,
    Subnet,
    analyze,
    endpoint_for_ip,
)

from .layout import build_layout
from .plane import DataPlane

PORTS = (22, 80, 443)
ECHO = 0
"""A flow's 'port' for an ICMP echo (ping)."""
EPHEMERAL = (1024, 65535)
TIMEOUT = 0.15
RETRY_TIMEOUT = 3.0
PEERING_STATES = ("active",) * 8 + ("pending-acceptance", "deleted", "rejected", "expired")
SG_PORTS = ((0, 65535), (22, 22), (80, 80), (443, 443), (20, 100), (None, None))
ACL_PORTS = ((22, 22), (80, 80), (0, 65535), (1, 1023), (1024, 65535), (32768, 60999), (49152, 65535),
             (1024, 32767), (22, 443))


@dataclass(frozen=True)
class Topology:
    snapshot: Snapshot
    listen: dict[str, tuple[int, ...]]

    @property
    def flows(self) -> list[tuple[Interface, str, int]]:
        """Each running instance to every other instance (any state, any VPC): tcp on every port of PORTS, and ping."""
        found = []
        for source in self.snapshot.interfaces:
            if source.state != "running":
                continue
            for target in self.snapshot.interfaces:
                if target is not source:
                    found += [(source, target.ips[0], port) for port in (*PORTS, ECHO)]
        return found

    def client_ports(self) -> list[int]:
        """Every piece of the ephemeral range the ACL entries' port ranges cut it into (see the module doc)."""
        low, high = EPHEMERAL
        points = {low, high}
        for acl in self.snapshot.network_acls:
            for entry in acl.entries:
                if entry.from_port is None:
                    continue
                for port in (entry.from_port - 1, entry.from_port, entry.to_port, (entry.to_port or 0) + 1):
                    if port is not None and low <= port <= high:
                        points.add(port)
        return sorted(points)


# == the strategy ===================================================================================
@st.composite
def topologies(draw: st.DrawFn) -> Topology:  # noqa: PLR0915 - one topology, drawn top to bottom
    n_vpcs = draw(st.integers(2, 3))
    vpcs = [f"vpc-{i}" for i in range(n_vpcs)]
    blocks = {vpc: [f"10.{10 + i}.0.0/16"] + ([f"10.{20 + i}.0.0/16"] if draw(st.booleans()) else [])
              for i, vpc in enumerate(vpcs)}
    subnets: dict[str, Subnet] = {}
    for i, vpc in enumerate(vpcs):
        for k in range(draw(st.integers(1, 2))):
            block = draw(st.sampled_from(blocks[vpc]))
            second = block.split(".")[1]
            subnets[f"subnet-{i}{k}"] = Subnet(f"subnet-{i}{k}", vpc, f"10.{second}.{k + 1}.0/24")
    # peerings (at most one per pair, as AWS allows one active peering per pair)
    peerings: dict[str, Peering] = {}
    for a in range(n_vpcs):
        for b in range(a + 1, n_vpcs):
            if draw(st.integers(0, 3)) == 3:
                continue
            pcx = f"pcx-{a}{b}"
            region = draw(st.sampled_from(("us-east-1", "us-east-1", "us-east-1", "us-west-2")))
            peerings[pcx] = Peering.between(pcx, draw(st.sampled_from(PEERING_STATES)), vpcs[a], vpcs[b],
                                        "us-east-1", region)
    # instances
    groups_of = {vpc: [f"sg-{i}{k}" for k in range(draw(st.integers(1, 2)))] for i, vpc in enumerate(vpcs)}
    interfaces: list[Interface] = []
    listen: dict[str, tuple[int, ...]] = {}
    for subnet in subnets.values():
        for j in range(draw(st.integers(1, 2))):
            base = subnet.cidr.rsplit(".", 1)[0]
            eni = f"eni-{subnet.subnet_id[7:]}{j}"
            groups = tuple(draw(st.lists(st.sampled_from(groups_of[subnet.vpc_id]), min_size=1, max_size=2,
                                         unique=True)))
            state = draw(st.sampled_from(("running", "running", "running", "running", "stopped")))
            interfaces.append(Interface(eni, subnet.subnet_id, subnet.vpc_id, (f"{base}.{10 + j}",), groups,
                                        f"i-{eni[4:]}", state))
            listen[eni] = tuple(draw(st.lists(st.sampled_from(PORTS), max_size=3, unique=True)))
    # address sets a rule can name
    others = {vpc: [b for other in vpcs if other != vpc for b in blocks[other]] for vpc in vpcs}
    peers = ["0.0.0.0/0", "10.0.0.0/8", "192.168.0.0/16",
             *(b for bs in blocks.values() for b in bs), *(s.cidr for s in subnets.values()),
             *(f"{i.ips[0]}/32" for i in interfaces), *(b.replace(".0.0/16", ".0.0/17") for bs in blocks.values()
                                                         for b in bs)]
    # security groups
    all_groups = [g for gs in groups_of.values() for g in gs]

    def sg_rule() -> SgRule:
        protocol = draw(st.sampled_from(("tcp", "tcp", "-1", "icmp")))
        low, high = draw(st.sampled_from(SG_PORTS)) if protocol == "tcp" else (None, None)
        if protocol == "icmp":  # type: any, echo request, echo reply (which admits no ping)
            low = high = draw(st.sampled_from((-1, 8, 0)))
        if draw(st.integers(0, 3)) == 3:
            return SgRule(protocol, low, high, group_ids=(draw(st.sampled_from(all_groups)),))
        wide = st.sampled_from(["0.0.0.0/0", *(b for bs in blocks.values() for b in bs)])
        chosen = draw(st.lists(st.one_of(wide, st.sampled_from(peers)), min_size=1, max_size=2, unique=True))
        return SgRule(protocol, low, high, cidrs=tuple(chosen))

    security_groups: dict[str, SecurityGroup] = {}
    for vpc in vpcs:
        for group in groups_of[vpc]:
            ingress = tuple(sg_rule() for _ in range(draw(st.integers(1, 3))))
            if draw(st.integers(0, 2)) < 2:  # the peers' range, as people open it for a peering
                ingress += (SgRule("tcp", 0, 65535, ("10.0.0.0/8",)),)
            egress = (SgRule("-1", cidrs=("0.0.0.0/0",)),) if draw(st.integers(0, 2)) < 2 else \
                tuple(sg_rule() for _ in range(draw(st.integers(0, 2))))
            security_groups[group] = SecurityGroup(group, vpc, group, ingress, egress)
    # route tables: the main one and maybe another, local routes for every block, a few more
    route_tables: list[RouteTable] = []
    for i, vpc in enumerate(vpcs):
        mine = [s for s in subnets.values() if s.vpc_id == vpc]
        mine_pcx = [p for p in peerings.values() if vpc in (p.requester.vpc_id, p.accepter.vpc_id)]
        count = draw(st.integers(1, 2))
        chosen = {s.subnet_id: draw(st.integers(0, count - 1)) for s in mine}
        for t in range(count):
            routes = {b: Route(b, "local") for b in blocks[vpc]}
            if draw(st.integers(0, 3)) < 3:  # what the automation plans: every block of each peer to its peering
                for p in mine_pcx:
                    far = p.accepter.vpc_id if p.requester.vpc_id == vpc else p.requester.vpc_id
                    routes.update({b: Route(b, p.peering_id) for b in blocks[far]})
            for _ in range(draw(st.integers(0, 2))):
                destination = draw(st.sampled_from([*others[vpc], "0.0.0.0/0", "10.0.0.0/8",
                                                    *(s.cidr for s in subnets.values() if s.vpc_id != vpc),
                                                    *(b.replace(".0.0/16", ".0.0/17") for b in others[vpc])]))
                if destination in routes:  # a table has one route per destination
                    continue
                kind = draw(st.sampled_from(("pcx", "pcx", "pcx", "igw", "blackhole")))
                if kind == "igw" or not mine_pcx:
                    routes[destination] = Route(destination, f"igw-{i}")
                else:
                    target = draw(st.sampled_from(mine_pcx)).peering_id
                    routes[destination] = Route(destination, target, "blackhole" if kind == "blackhole"
                                                    else "active")
            associated = tuple(s for s, n in chosen.items() if n == t and t > 0)
            route_tables.append(RouteTable(f"rtb-{i}{t}", vpc, t == 0, associated, tuple(routes.values())))
    # network ACLs: the default one (allow all, or not) and maybe a custom one for some subnets
    network_acls: list[NetworkAcl] = []

    def entries() -> tuple[AclEntry, ...]:
        out = []
        for egress in (False, True):
            numbers = draw(st.lists(st.sampled_from(range(10, 200, 10)), min_size=1, max_size=4, unique=True))
            for number in sorted(numbers):
                allow = draw(st.integers(0, 3)) < 3
                protocol = draw(st.sampled_from(("tcp", "tcp", "-1", "icmp")))
                low, high = draw(st.sampled_from(ACL_PORTS)) if protocol == "tcp" else (None, None)
                out.append(AclEntry(number, egress, protocol, allow, draw(st.sampled_from(peers)), low, high))
            if 200 not in numbers and draw(st.booleans()):
                out.append(AclEntry(200, egress, "-1", True, "0.0.0.0/0"))
        return tuple(out)

    allow_all = (AclEntry(100, False, "-1", True, "0.0.0.0/0"), AclEntry(100, True, "-1", True, "0.0.0.0/0"))
    for i, vpc in enumerate(vpcs):
        network_acls.append(NetworkAcl(f"acl-{i}0", vpc, True, (),
                                       allow_all if draw(st.integers(0, 2)) < 2 else entries()))
        mine = [s.subnet_id for s in subnets.values() if s.vpc_id == vpc]
        custom = tuple(s for s in mine if draw(st.booleans()))
        if custom:
            network_acls.append(NetworkAcl(f"acl-{i}1", vpc, False, custom, entries()))
    snapshot = Snapshot(subnets=subnets, route_tables=tuple(route_tables), security_groups=security_groups,
                        network_acls=tuple(network_acls), interfaces=tuple(interfaces), peerings=peerings,
                        vpc_cidrs={vpc: tuple(blocks[vpc]) for vpc in vpcs})
    return Topology(snapshot, listen)


# == the kernel's answer ============================================================================
Attempt = tuple[str, str, str, int, int]
"""(host key, source ip, destination ip, port or ECHO, client port)."""


def _open_socket(attempt: Attempt, echo_id: int) -> tuple[socket.socket, str | None]:
    """A non-blocking TCP connect, or an ICMP echo request (a ping socket); the socket and an early outcome."""
    _, source, destination, port, client = attempt
    if port == ECHO:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
        sock.bind((source, 0))
        sock.setblocking(False)
        try:  # a request the source's own rules drop fails here (EPERM from the output hook)
            sock.sendto(struct.pack("!BBHHH", 8, 0, 0, echo_id & 0xFFFF, 1) + b"fidelity", (destination, 0))
        except OSError as e:
            return sock, _name(e.errno or 0)
        return sock, None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # no TIME_WAIT
    sock.bind((source, client))
    sock.setblocking(False)
    code = sock.connect_ex((destination, port))
    return sock, (None if code in (0, errno.EINPROGRESS) else _name(code))


def _connect_all(plane: DataPlane, attempts: list[Attempt], timeout: float) -> list[str]:
    """All attempts at once -> 'connected' | 'refused' | 'answered' (echo) | 'timeout' | an errno name.
    Sockets are made in their host's namespace (a socket stays in the namespace it was made in)."""
    sockets: list[socket.socket | None] = [None] * len(attempts)
    outcome = ["timeout"] * len(attempts)
    selector = selectors.DefaultSelector()
    by_host: dict[str, list[int]] = {}
    for n, attempt in enumerate(attempts):
        by_host.setdefault(attempt[0], []).append(n)
    try:
        for key, indexes in by_host.items():
            with plane.hosts[key].inside():
                for n in indexes:
                    sock, early = _open_socket(attempts[n], n)
                    sockets[n] = sock
                    if early is not None:
                        outcome[n] = early
                        continue
                    echo = attempts[n][3] == ECHO
                    selector.register(sock, selectors.EVENT_READ if echo else selectors.EVENT_WRITE, n)
        deadline = time.monotonic() + timeout
        while selector.get_map() and (left := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(left):
                n = key.data
                selector.unregister(key.fileobj)
                sock = sockets[n]
                assert sock is not None
                if attempts[n][3] == ECHO:
                    try:
                        reply = sock.recv(1024)
                        outcome[n] = "answered" if reply[:1] == b"\x00" else f"icmp type {reply[0]}"
                    except OSError as e:
                        outcome[n] = _name(e.errno or 0)
                else:
                    outcome[n] = _name(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
    finally:
        selector.close()
        for sock in sockets:
            if sock is not None:
                sock.close()
    return outcome


def _name(code: int) -> str:
    if code == 0:
        return "connected"
    if code == errno.ECONNREFUSED:
        return "refused"
    return errno.errorcode.get(code, str(code)).lower()


OPEN = frozenset({"connected", "refused", "answered"})


@dataclass
class FlowResult:
    source: str
    destination: str
    port: int
    """The TCP port, or ECHO (0) for an ICMP echo."""
    analysis: bool
    blocked_by: str
    """The analysis' blocking hop kind ('' when reachable)."""
    kernel: bool
    kernel_detail: str
    """The outcome that decided (e.g. 'timeout from client port 1024')."""

    @property
    def agree(self) -> bool:
        return self.analysis == self.kernel

    @property
    def flow(self) -> str:
        return f"{self.source} -> {self.destination} " + ("icmp echo" if self.port == ECHO else f"tcp/{self.port}")


def kernel_and_analysis(topology: Topology, timeout: float = TIMEOUT,
                        retry_timeout: float = RETRY_TIMEOUT) -> list[FlowResult]:
    """Build the topology's data plane, ask every flow of both, free the data plane."""
    snapshot = topology.snapshot
    flows = topology.flows
    clients = topology.client_ports()
    analysis = []
    for source, destination, port in flows:
        endpoint = endpoint_for_ip(snapshot, source.ips[0])
        assert endpoint is not None
        analysis.append(analyze(snapshot, endpoint, destination, 8 if port == ECHO else port,
                                protocol="icmp" if port == ECHO else "tcp"))
    owner: list[int] = []
    attempts: list[Attempt] = []
    for f, (src, dst, port) in enumerate(flows):
        for client in (clients if port != ECHO else [0]):
            owner.append(f)
            attempts.append((src.interface_id, src.ips[0], dst, port, client))
    with DataPlane(build_layout(snapshot, topology.listen)) as plane:
        outcome = _connect_all(plane, attempts, timeout)
        # ask again, slower, what the analysis calls open and the kernel did not answer in time
        recheck = [n for n, o in enumerate(outcome) if o == "timeout" and analysis[owner[n]].reachable]
        if recheck:
            again = _connect_all(plane, [attempts[n] for n in recheck], retry_timeout)
            for n, o in zip(recheck, again, strict=True):
                outcome[n] = o
    closed: dict[int, str] = {}
    first: dict[int, str] = {}
    for n, o in enumerate(outcome):
        first.setdefault(owner[n], o)
        if o not in OPEN and owner[n] not in closed:
            port = attempts[n][3]
            closed[owner[n]] = o if port == ECHO else f"{o} from client port {attempts[n][4]}"
    results = []
    for f, (source, destination, port) in enumerate(flows):
        blocked = analysis[f].blocked_by
        results.append(FlowResult(source.interface_id, destination, port, analysis[f].reachable,
                                  blocked.kind if blocked else "", f not in closed, closed.get(f, first[f])))
    return results


# == the tally and its table ========================================================================
@dataclass
class Tally:
    topologies: int = 0
    distinct: set[int] = field(default_factory=set)
    flows: int = 0
    agree: int = 0
    open_both: int = 0
    blocked_by: Counter[str] = field(default_factory=Counter)
    """Flows both call blocked, by the analysis' blocking hop."""
    disagree: Counter[str] = field(default_factory=Counter)
    """Disagreements by the analysis' blocking hop ('reachable' when the analysis said open)."""
    examples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    by_protocol: Counter[tuple[str, bool, bool]] = field(default_factory=Counter)
    """Flows by (protocol, analysis open, kernel open)."""

    def seen(self, topology: Topology) -> bool:
        """Whether an equal topology was already tallied (hypothesis can draw one twice)."""
        return hash(repr(topology.snapshot)) in self.distinct

    def add(self, topology: Topology, results: list[FlowResult]) -> None:
        self.topologies += 1
        self.distinct.add(hash(repr(topology.snapshot)))
        for r in results:
            self.flows += 1
            self.by_protocol["icmp echo" if r.port == ECHO else "tcp", r.analysis, r.kernel] += 1
            if r.agree:
                self.agree += 1
                if r.analysis:
                    self.open_both += 1
                else:
                    self.blocked_by[r.blocked_by] += 1
            else:
                component = r.blocked_by or "reachable"
                self.disagree[component] += 1
                if len(self.examples) < 20:
                    self.examples.append(f"{r.flow}: analysis "
                                         f"{'reachable' if r.analysis else 'blocked at ' + r.blocked_by}, "
                                         f"kernel {'open' if r.kernel else r.kernel_detail}")

    def markdown(self, command: str) -> str:
        disagree = self.flows - self.agree
        lines = [
            "# Fidelity: the path analysis against the kernel",
            "",
            f"Written by `{command}` (`make fidelity`): {self.topologies} distinct generated topologies, "
            "each built as the emulator's data plane (network namespaces, veths, policy routing, nftables), "
            "and every flow asked of `analysis.analyze` and of the kernel: a real TCP connect from every piece "
            "of the ephemeral range, or a real ICMP echo (see `tools/peering_tools/dataplane/fidelity.py`). "
            f"Wall time {self.seconds:.0f} s.",
            "",
            "| flows | agree | disagree | open (both) | blocked (both) |",
            "| ---: | ---: | ---: | ---: | ---: |",
            f"| {self.flows} | {self.agree} | {disagree} | {self.open_both} | {self.agree - self.open_both} |",
            "",
            "By protocol (analysis / kernel):",
            "",
            "| protocol | open / open | blocked / blocked | open / blocked | blocked / open |",
            "| --- | ---: | ---: | ---: | ---: |",
            *(f"| {proto} | {self.by_protocol[proto, True, True]} | {self.by_protocol[proto, False, False]} | "
              f"{self.by_protocol[proto, True, False]} | {self.by_protocol[proto, False, True]} |"
              for proto in ("tcp", "icmp echo")),
            "",
            "Flows both call blocked, by the hop the analysis names:",
            "",
            "| component | flows |",
            "| --- | ---: |",
            *(f"| {kind} | {count} |" for kind, count in sorted(self.blocked_by.items(), key=lambda kv: -kv[1])),
            "",
            "Disagreements, by the analysis' verdict:",
            "",
            "| component | flows |",
            "| --- | ---: |",
            *(f"| {kind} | {count} |" for kind, count in sorted(self.disagree.items(), key=lambda kv: -kv[1])),
            *(["| (none) | 0 |"] if not self.disagree else []),
            "",
        ]
        if self.examples:
            lines += ["Examples:", "", *(f"* {e}" for e in self.examples), ""]
        return "\n".join(lines + SCOPE)


SCOPE = [
    "## Scope, and where AWS and Linux differ",
    "",
    "* **Ephemeral ports.** The client picks the port replies go to, and the range depends on the client: "
    "many Linux kernels use 32768-61000, Lambda functions, NAT gateways and Elastic Load Balancing 1024-65535 "
    "(AWS VPC User Guide, \"Ephemeral ports\"). The analysis requires the network ACLs to pass replies to the whole "
    "1024-65535, so the kernel is asked from every piece of that range the topology's ACL entries cut it into; "
    "the emulator's probe namespace uses 1024-65535 as a Lambda function does.",
    "* **Refused is open.** A TCP reset travelled the whole reply path, so a port nothing listens on counts as "
    "reachable at the network level, as the analysis (which assumes a listener) says.",
    "* **Within one subnet** no network ACL applies: \"We evaluate the network ACL rules when traffic enters and "
    "leaves the subnet, not as it is routed within a subnet\" (AWS VPC User Guide, network ACL basics). The "
    "analysis applied them there until this comparison found it (fixed in `analysis.py`).",
    "* **Not generated:** overlapping CIDRs between VPCs that are not peered with each other, IPv6, prefix lists "
    "and middlebox routes (modelled by neither side), UDP.",
    "",
]


def raise_file_limit() -> None:
    """Thousands of sockets at once: the soft limit of open files up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run(count: int, seed: int = 0) -> Tally:
    """``count`` distinct topologies from the strategy (hypothesis, derandomized by ``seed``), tallied."""
    from hypothesis import HealthCheck, Phase, given, settings  # noqa: PLC0415
    from hypothesis import seed as hypothesis_seed

    tally = Tally()
    raise_file_limit()
    started = time.monotonic()

    @hypothesis_seed(seed)
    @settings(max_examples=count * 3 // 2, phases=[Phase.generate], database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(topologies())
    def one(topology: Topology) -> None:
        if tally.topologies >= count or tally.seen(topology):
            return  # enough, or drawn before: only distinct topologies are run and counted
        tally.add(topology, kernel_and_analysis(topology))
        if tally.topologies % 100 == 0:
            print(f"fidelity: {tally.topologies}/{count} topologies, {tally.flows - tally.agree} disagreements "
                  f"({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)

    one()
    tally.seconds = time.monotonic() - started
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m peering_tools.dataplane.fidelity",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--topologies", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write the markdown table here")
    args = parser.parse_args(argv)
    from .netns import unavailable  # noqa: PLC0415

    why = unavailable()
    if why:
        print(f"fidelity: cannot build the data plane here: {why}.", file=sys.stderr)
        return 2
    tally = run(args.topologies, args.seed)
    command = f"python -m peering_tools.dataplane.fidelity --topologies {args.topologies} --seed {args.seed}"
    text = tally.markdown(command)
    if args.out:
        args.out.write_text(text)
    print(text)
    print(f"fidelity: {tally.topologies} topologies, {tally.flows} flows, {tally.agree} agree, "
          f"{tally.flows - tally.agree} disagree ({tally.seconds:.0f} s)")
    return 0 if tally.agree == tally.flows else 1


if __name__ == "__main__":
    sys.exit(main())
