"""Which flows a run verifies, and the verdict over them. Pure: no boto3, no I/O.

A *flow* is a source → a destination ``IP:port`` (tcp), or ICMP echo. A flow is **reachable** when its
request path is open **and** its reply path is open: routes back, the network ACLs (stateless) for the
replies on the client's ephemeral ports; security groups are stateful, so the reply needs no rule of
its own. :func:`peering.analysis.analyze` answers exactly that question; the emulated network and
``peering diagnose`` ask it too, so there is one definition.

The flows of a run (:func:`plan_flows`):

* the targets of the peering's ``peering-automation/probe-targets`` tag (``10.7.1.4:22`` tcp,
  ``icmp:10.7.1.4`` ICMP echo), each from the other side of the peering than the VPC holding it (from the
  probe when one runs on that side; a probe sends only tcp, so the analysis alone answers ICMP);
* without that tag, each side's running instances (at most ``MaxProbeTargets``) on ``DefaultProbePort``,
  from the other side: requester → accepter (A → B, the tutorial's direction) is asked by default; the
  tag ``peering-automation/verify-direction`` = ``requester-to-accepter`` | ``accepter-to-requester`` |
  ``both`` chooses the directions asked.

A direction not asked is still analysed: when it is blocked, that is **information** in the verdict,
never a failure. Routing itself is checked both ways by the route plan (each side's tables reach the
other side's blocks); a flow is about hosts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Literal

from .analysis import Endpoint, Interface, PathResult, Snapshot, analyze, endpoint_for_ip, endpoint_for_subnet
from .config import PROBE_TARGETS_TAG
from .errors import InvalidInput
from .models import Flow, NetworkFacts, PathVerdict, ProbeRound, ProbeTarget, Verification
from .plan import DEFAULT_DIRECTION, DIRECTIONS, asked_sources
from .probe import parse_targets
from .records import SIDES, Peering, Side

ICMP_ECHO = 8
ICMPV6_ECHO = 128


def direction_text(peering: Peering, source_side: Side) -> str:
    """'vpc-a (A) → vpc-b (B)' for flows from ``source_side``."""
    def one(side: Side) -> str:
        vpc = peering.side(side)
        return f"{vpc.vpc_id} ({vpc.name})" if vpc.name else vpc.vpc_id

    return f"{one(source_side)} → {one(_other(source_side))}"


def _other(side: Side) -> Side:
    return "accepter" if side == "requester" else "requester"


def side_holding(peering: Peering, facts: NetworkFacts, host: str) -> Side | None:
    """The side whose subnets (else whose VPC blocks) hold ``host``; None when neither does."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    by_vpc = {peering.requester.vpc_id: "requester", peering.accepter.vpc_id: "accepter"}
    for subnet in facts.subnets:
        for cidr in (subnet.cidr, subnet.ipv6_cidr):
            if cidr and subnet.vpc_id in by_vpc:
                net = ipaddress.ip_network(cidr, strict=False)
                if net.version == address.version and address in net:
                    return by_vpc[subnet.vpc_id]  # type: ignore[return-value]
    for role in SIDES:
        for cidr in peering.side(role).all_cidrs:
            net = ipaddress.ip_network(cidr, strict=False)
            if net.version == address.version and address in net:
                return role
    return None


def running_ips(facts: NetworkFacts, vpc_id: str, limit: int) -> list[str]:
    """The private addresses of the VPC's running instances, in address order, at most ``limit``."""
    ips = sorted({i.private_ip for i in facts.instances
                  if i.vpc_id == vpc_id and i.state == "running" and i.private_ip}, key=ipaddress.ip_address)
    return ips[:limit]


def tagged_targets(text: str, limit: int) -> list[tuple[Literal["tcp", "icmp"], ProbeTarget]]:
    """The probe-targets tag: ``host:port`` items (tcp) and ``icmp:host`` items (ICMP echo, which a Lambda
    cannot send: the path analysis alone answers them), comma-separated; the first ``limit`` are kept.
    Raises InvalidInput for an item that is neither."""
    found: list[tuple[Literal["tcp", "icmp"], ProbeTarget]] = []
    for item in (part.strip() for part in text.split(",")):
        if item.lower().startswith("icmp:"):
            host = item[5:].strip().strip("[]")
            try:
                ipaddress.ip_address(host)
            except ValueError:
                raise InvalidInput(f"Probe target {item!r} is not icmp: and an IP address.") from None
            found.append(("icmp", ProbeTarget(host=host, port=0)))
        elif item:
            found += [("tcp", t) for t in parse_targets(item, 1)]
    return found[:limit]


def plan_flows(peering: Peering, facts: NetworkFacts, default_port: int, max_targets: int) -> list[Flow]:
    """Every flow of the run, asked first (see the module docstring). Raises InvalidInput for a bad
    probe-targets tag."""
    tagged = peering.tags.get(PROBE_TARGETS_TAG, "").strip()
    flows: list[Flow] = []
    for protocol, target in tagged_targets(tagged, max_targets) if tagged else []:
        holder = side_holding(peering, facts, target.host)
        source: Side = _other(holder) if holder else "requester"
        flows.append(Flow(source_side=source, target=target, protocol=protocol,
                          origin=f"the {PROBE_TARGETS_TAG} tag"))
    covered = {f.source_side for f in flows}
    chosen = asked_sources(peering.tags)
    asked = set(chosen) if chosen is not None else (set() if tagged else set(DIRECTIONS[DEFAULT_DIRECTION]))
    for source in SIDES:
        if source in covered:
            continue
        destination = peering.side(_other(source))
        origin = f"the running instances of {destination.vpc_id}"
        flows += [Flow(source_side=source, target=ProbeTarget(host=ip, port=default_port), asked=source in asked,
                       origin=origin)
                  for ip in running_ips(facts, destination.vpc_id, max_targets)]
    return sorted(flows, key=lambda f: not f.asked)


# == the verdict ===================================================================================
def first_running(snapshot: Snapshot, vpc_id: str) -> Interface | None:
    """The running instance's interface in the VPC with the lowest instance id (stable across runs): the
    source of a side's flows when no probe runs there, and ``peering diagnose``'s default endpoints."""
    running = [i for i in snapshot.interfaces if i.vpc_id == vpc_id and i.instance_id and i.state == "running"
               and i.ips]
    return min(running, key=lambda i: (i.instance_id or "", i.interface_id), default=None)


def source_endpoint(snapshot: Snapshot, peering: Peering, side: Side, probe: ProbeRound | None) -> Endpoint | None:
    """Where a side's flows start: its probe (subnet and security groups), else its first running instance."""
    if probe is not None and probe.applicable and probe.source_side == side and probe.source_subnet_id:
        return endpoint_for_subnet(snapshot, probe.source_subnet_id, tuple(probe.source_security_group_ids))
    interface = first_running(snapshot, peering.side(side).vpc_id)
    return endpoint_for_ip(snapshot, interface.ips[0]) if interface else None


def probe_runs(plan: ProbeRound | None, runs: Sequence[ProbeRound] = ()) -> dict[Side, ProbeRound]:
    """Each side's probe round: the rounds the probes returned, else the plan's (without results yet)."""
    chosen = list(runs) or (plan.runs if plan is not None and plan.runs else
                            [plan] if plan is not None and plan.applicable else [])
    return {r.source_side: r for r in chosen if r.applicable and r.source_side}


def analyze_flow(snapshot: Snapshot, source: Endpoint, flow: Flow, peering_id: str) -> PathResult:
    """The flow's request and reply path (ICMP echo: type 8, or ICMPv6 echo, type 128, to an IPv6 address)."""
    if flow.protocol == "icmp":
        v6 = ipaddress.ip_address(flow.target.host).version == 6
        return analyze(snapshot, source, flow.target.host, ICMPV6_ECHO if v6 else ICMP_ECHO, peering_id,
                       "icmpv6" if v6 else "icmp")
    return analyze(snapshot, source, flow.target.host, flow.target.port, peering_id, "tcp")


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith(".") else f"{text}."


def _verdict(result: PathResult, source: str, flow: Flow) -> PathVerdict:
    destination = str(flow.target) if flow.protocol == "tcp" else f"{flow.target.host} (icmp echo)"
    return PathVerdict(source=source, destination=destination, reachable=result.reachable,
                       reason=_sentence(result.reason), hops=[h.sentence for h in result.hops], asked=flow.asked)


def _is_probed(flow: Flow, by_side: dict[Side, ProbeRound]) -> bool:
    """Whether a live probe sent this flow (an asked tcp flow from a side with a probe)."""
    run = by_side.get(flow.source_side)
    return run is not None and flow.asked and flow.protocol == "tcp" and flow.target in run.targets


def judge(snapshot: Snapshot, peering: Peering, flows: Sequence[Flow], plan: ProbeRound | None,
          probe_failure: str | None = None, runs: Sequence[ProbeRound] = ()) -> Verification:
    """The verdict over the run's flows: the probes' results for the flows they sent (``runs``: each probe's
    last round; the plan's own round when there is only that), the path analysis for every flow (explaining
    a probe's miss, deciding the rest). Unasked flows only add information."""
    by_side = probe_runs(plan, runs)
    sources = {side: source_endpoint(snapshot, peering, side, by_side.get(side)) for side in SIDES}
    analysed: list[tuple[Flow, PathVerdict]] = []
    unanalysable: list[Flow] = []
    for flow in flows:
        source = sources[flow.source_side]
        if source is None:
            if flow.asked:
                unanalysable.append(flow)
            continue
        analysed.append((flow, _verdict(analyze_flow(snapshot, source, flow, peering.peering_id), source.label, flow)))
    paths = [p for _, p in analysed]
    information = [_sentence(f"Not asked, for information: {p.source} → {p.destination} is blocked: "
                             f"{p.reason.rstrip('.')}") for p in paths if not p.asked and not p.reachable]
    probed = bool(by_side)
    results = [r for side in SIDES if side in by_side for r in by_side[side].results]
    done = {"performed": True, "probe_applicable": probed, "paths": paths, "information": information}

    if probed:
        if probe_failure is not None:
            return Verification(reachable=False, reason=_sentence(f"The probe function failed ({probe_failure})"),
                                **done)
        done["probe_results"] = results
        failed = next((r for r in results if not r.reachable), None)
        if failed is not None or any(not r.results for r in by_side.values()):
            explained = next((p for f, p in analysed if _is_probed(f, by_side) and failed is not None
                              and f.target == failed.target), None)
            if explained is not None and not explained.reachable:
                reason = explained.reason
            elif failed is None:
                reason = "A probe returned no result."
            else:
                reason = (f"The probe could not reach {failed.target} ({failed.error}) although the path analysis "
                          "finds nothing blocking; check the host's own firewall and that something listens there.")
            return Verification(reachable=False, reason=_sentence(reason), **done)
    by_analysis = [p for f, p in analysed if f.asked and not _is_probed(f, by_side)]
    blocked = next((p for p in by_analysis if not p.reachable), None)
    if blocked is not None:
        return Verification(reachable=False, reason=blocked.reason, **done)
    prefix = "" if probed or plan is None else f"{plan.reason} "
    if unanalysable:
        first = unanalysable[0]
        vpc = peering.side(first.source_side).vpc_id
        return Verification(performed=False, paths=paths, information=information, reason=_sentence(
            f"{prefix}Nothing to analyse from {vpc} to {first.target}: {vpc} has no running instance and no probe; "
            "the routes are in place"))
    if not any(f.asked for f, _ in analysed):
        return Verification(performed=False, paths=paths, information=information, reason=_sentence(
            f"{prefix}Nothing to verify: {_nothing_asked(peering)}; the routes are in place"))
    parts = []
    for side, run in by_side.items():
        reached = ", ".join(f"{r.target} ({r.latency_ms} ms)" for r in run.results)
        where = sources[side].label if sources[side] else "its subnet"
        parts.append(f"The probe in {where} reached {reached} through {peering.peering_id}.")
    if by_analysis:
        listed = ", ".join(f"{p.source} → {p.destination}" for p in by_analysis)
        parts.append(f"{prefix}The path analysis finds the request and reply paths open through "
                     f"{peering.peering_id} for {listed}.")
    return Verification(reachable=True, reason=_sentence(" ".join(parts)), **done)


def _nothing_asked(peering: Peering) -> str:
    chosen = asked_sources(peering.tags) or DIRECTIONS[DEFAULT_DIRECTION]
    empty = [peering.side(_other(side)).vpc_id for side in chosen]
    return f"{' and '.join(empty)} {'has' if len(empty) == 1 else 'have'} no running instance"
