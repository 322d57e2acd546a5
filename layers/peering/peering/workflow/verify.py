"""Verify: which flows the run checks and where each probe sends them from, one probe attempt, and the verdict."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .. import runstore
from ..deps import Deps
from ..models import NetworkFacts, ProbeRequest, ProbeRound, Verification, WorkflowState
from ..probe import probe_all
from ..records import ACTIVE, SIDES, Instance, Peering, Side
from .common import inspected
from .report import failure_sentence


def prepare_probe(deps: Deps, state: WorkflowState) -> ProbeRound:
    """The run's flows (see ``peering.flows``), and which of them each probe sends from its side: the
    stack's own probe (ProbeSubnetIds) and, for a side without it, the probe tagged
    ``peering-automation/probe-vpc`` for that side's VPC. A probe that does not apply is said, never
    silently passed."""
    from ..flows import plan_flows  # noqa: PLC0415 - the analysis is imported by the stages that use it

    peering = inspected(state)
    settings = deps.settings
    facts = _network_facts(deps, peering)  # read once here, reused by Verify's analysis
    flows = plan_flows(peering, facts, settings.default_probe_port, settings.max_probe_targets)
    base = {"max_attempts": settings.probe_attempts, "timeout_seconds": settings.probe_timeout_seconds}
    wanted = [side for side in SIDES if any(f.asked and f.protocol == "tcp" and f.source_side == side
                                            for f in flows)]
    placements: dict[Side, tuple[str | None, str, tuple[str, ...]]] = {}  # side -> (function, subnet, groups)
    notes: list[str] = []
    if settings.probe_subnet_ids:
        subnet = settings.probe_subnet_ids[0]
        probe_vpc = next((s.vpc_id for s in facts.subnets if s.subnet_id == subnet), None)
        side = next((role for role in SIDES if peering.side(role).vpc_id == probe_vpc), None)
        if side is None:
            probe_vpc = deps.ec2().subnet_vpc(subnet)  # only to name it in the reason
            notes.append(f"The probe runs in {probe_vpc}, which is neither side of {peering.peering_id}, so the "
                         "live probe does not apply.")
        else:
            placements[side] = (settings.probe_function_arn, subnet, settings.probe_security_group_ids)
    else:
        notes.append("No probe is configured (ProbeSubnetIds is empty).")
    for side, found in _tagged_probes(deps, peering, [s for s in wanted if s not in placements]).items():
        inside = [s for s in found.subnet_ids if (s, peering.side(side).vpc_id) in
                  {(f.subnet_id, f.vpc_id) for f in facts.subnets}]
        if inside:  # a tag that names the wrong VPC is not trusted
            placements[side] = (found.function_arn, inside[0], found.security_group_ids)
    runs = []
    for side in SIDES:
        mine = [f for f in flows if f.asked and f.source_side == side and f.protocol == "tcp"]
        if side not in placements or not mine:
            continue
        function, subnet, groups = placements[side]
        runs.append(ProbeRound(applicable=True, reason=f"{len(mine)} target(s) from {mine[0].origin}.",
                               targets=[f.target for f in mine], source_subnet_id=subnet, source_side=side,
                               source_security_group_ids=list(groups), function_name=function, **base))
    common = {**base, "network": _keep_network(deps, state, facts), "flows": flows}
    if not runs:
        if placements and not notes:
            side = next(iter(placements))
            asked = [f for f in flows if f.asked]
            why = (f"the flows asked start in the other VPC ({asked[0].origin})" if asked else
                   f"there is nothing to probe in {peering.peer_of(side).vpc_id} "
                   f"(the running instances of {peering.peer_of(side).vpc_id})")
            notes.append(f"The probe runs in {peering.side(side).vpc_id}, but {why}.")
        return ProbeRound(applicable=False, reason=" ".join(notes) or "No probe applies.", **common)
    first = runs[0]
    reason = " ".join(f"{r.reason[:-1]} (probe in {peering.side(r.source_side).vpc_id})." for r in runs
                      if r.source_side) if len(runs) > 1 else first.reason
    return ProbeRound(applicable=True, reason=reason, targets=[t for r in runs for t in r.targets],
                      source_subnet_id=first.source_subnet_id, source_side=first.source_side,
                      source_security_group_ids=first.source_security_group_ids,
                      function_name=first.function_name, runs=runs, **common)


def _keep_network(deps: Deps, state: WorkflowState, facts: NetworkFacts) -> NetworkFacts | None:
    """Subnets and instances grow with the VPCs: kept in the run store for Verify (None in the state document).
    Without a stored plan (a stage invoked outside a run) they travel in the state as before."""
    if state.plan is None:
        return facts
    deps.run_store(state.plan.bucket).put(runstore.network_key(state.plan.prefix), facts)
    return None


def _kept_network(deps: Deps, state: WorkflowState) -> NetworkFacts | None:
    """The subnets and instances PrepareProbe read: in the state document, or in the run store."""
    probe = state.probe
    if probe is not None and probe.network is not None:
        return probe.network
    if state.plan is None or probe is None:
        return None
    return deps.run_store(state.plan.bucket).get(NetworkFacts, runstore.network_key(state.plan.prefix))


def _tagged_probes(deps: Deps, peering: Peering, sides: list[Side]) -> dict[Side, Any]:
    """The probes tagged for these sides' VPCs: only sides in the stack's own account and region (a probe
    elsewhere could not be invoked by this state machine)."""
    account, region = deps.settings.stack_account_id, deps.region
    here = (account, region)
    local = {side: peering.side(side).vpc_id for side in sides
             if (peering.side(side).account_id or account, peering.side(side).region or region) == here}
    if not local:
        return {}
    found = deps.tagged_probes(list(local.values()))
    return {side: found[vpc] for side, vpc in local.items() if vpc in found}


def _network_facts(deps: Deps, peering: Peering) -> NetworkFacts:
    from ..aws.network import subnets_and_instances  # noqa: PLC0415

    facts = NetworkFacts()
    for ec2, group in deps.by_place(peering):
        subnets, instances = subnets_and_instances(ec2, [side.vpc_id for side in group])
        facts = NetworkFacts(subnets=[*facts.subnets, *subnets], instances=[*facts.instances, *instances])
    return facts


def run_probe(request: ProbeRequest) -> ProbeRequest:
    """One probe attempt (runs inside the VPC; makes no AWS call); the request back with its results."""
    probe = request.probe
    if not probe.applicable:
        return request
    results = probe_all(probe.targets, probe.timeout_seconds)
    return request.model_copy(update={"probe": probe.model_copy(update={
        "attempt": probe.attempt + 1,
        "results": results,
        "all_reachable": bool(results) and all(r.reachable for r in results),
    })})


def verify(deps: Deps, state: WorkflowState) -> Verification:
    """The verdict over the run's flows (``peering.flows.judge``): the probe's results where it ran,
    explained by the path analysis (request and reply path) of every flow."""
    from ..aws.network import read_snapshot  # noqa: PLC0415
    from ..flows import judge, plan_flows  # noqa: PLC0415

    peering = inspected(state)
    probe = state.probe
    sources = [(ec2, [side.vpc_id for side in group]) for ec2, group in deps.by_place(peering)]
    snapshot = read_snapshot(sources, [peering.peering_id], _known(peering, _kept_network(deps, state)))
    flows = probe.flows if probe is not None and probe.flows is not None else plan_flows(
        peering, _facts_of(snapshot), deps.settings.default_probe_port, deps.settings.max_probe_targets)
    failure = failure_sentence(state.probe_error) if state.probe_error is not None else None
    runs = [r.probe for r in state.probe_runs or []]
    return judge(snapshot, peering, flows, probe, failure, runs)


def _known(peering: Peering, facts: NetworkFacts | None) -> Any:
    """What this run already knows for the analysis: the VPCs' blocks and names (Inspect), the peering
    (active: the run got past the activation wait), and subnets and instances when PrepareProbe read them."""
    from ..aws.network import Known  # noqa: PLC0415 - imported with the analysis, by Verify only

    sides = (peering.requester, peering.accepter)
    return Known(
        vpc_names={s.vpc_id: s.name for s in sides},
        vpc_cidrs={s.vpc_id: tuple(s.all_cidrs) for s in sides},
        peerings={peering.peering_id: replace(peering, state=ACTIVE)},
        subnets=tuple(facts.subnets) if facts else None,
        instance_states={i.instance_id: i.state for i in facts.instances} if facts else None,
    )


def _facts_of(snapshot: Any) -> NetworkFacts:
    """Subnets and instances as PrepareProbe records them, from a snapshot (a state without them)."""
    return NetworkFacts(
        subnets=list(snapshot.subnets.values()),
        instances=[Instance(instance_id=i.instance_id, vpc_id=i.vpc_id, state=i.state,
                            private_ip=i.ips[0] if i.ips else None)
                   for i in snapshot.interfaces if i.instance_id])
