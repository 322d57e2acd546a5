"""Inspect: read the peering and both VPCs live; refuse, or decide what comes next (accept, await, route)."""

from __future__ import annotations

from dataclasses import replace

from .. import plan as planning
from .. import runstore
from ..config import CONSENT_TAG, PROBE_TARGETS_TAG
from ..deps import Deps
from ..errors import PeeringError, PeeringNotReady
from ..models import Inspection, Status, WorkflowState
from ..once import claimed_elsewhere
from ..records import INITIATING, PENDING, PROVISIONING, Peering
from .common import sentence, tag_status


def inspect(deps: Deps, state: WorkflowState) -> Inspection:
    # first: a duplicate run reads and changes nothing
    duplicate = claimed_elsewhere(deps.sfn(), deps.leases(required=False), state)
    if duplicate is not None:
        return duplicate
    peering = deps.read_peering(state.peering_id)
    if peering.state == INITIATING:
        raise PeeringNotReady(f"{peering.peering_id} is still initiating-request; it will be checked again.")
    opted_in = deps.settings.trigger_tag_key in peering.tags
    reason = planning.pre_read_refusal(peering, deps.settings)  # tag, state, accounts: before any VPC read
    if reason is None:
        peering = _with_cidrs(deps, peering)
        reason = planning.refusal(peering, deps.settings)  # then consent, address ranges, overlap
    if reason is None:
        reason = _probe_target_refusal(peering)
    if reason is not None:
        return Inspection(decision="refuse", reason=reason, peering=peering, opted_in=opted_in)
    decision = {PENDING: "accept", PROVISIONING: "await"}.get(peering.state, "route")
    inspection = Inspection(decision=decision, reason=f"{peering.peering_id} is {peering.state}.",
                            peering=peering, opted_in=opted_in)
    document = runstore.canonical({**state.model_dump(mode="json", by_alias=True, exclude_none=True),
                                   "inspection": inspection.wire()})
    runstore.guard(len(document), 2 * deps.settings.max_probe_targets)  # before the first change
    tag_status(deps, peering.peering_id, Status.IN_PROGRESS, state.execution_arn, peering=peering)
    return inspection


def _with_cidrs(deps: Deps, peering: Peering) -> Peering:
    sides = {}
    for ec2, group in deps.by_place(peering):
        found = ec2.vpcs([side.vpc_id for side in group])
        for side in group:
            vpc = found[side.vpc_id]
            sides[side.role] = replace(side, cidrs=vpc.cidrs, ipv6_cidrs=vpc.ipv6_cidrs, name=vpc.name,
                                       accept_from=planning.consent_entries(vpc.tags.get(CONSENT_TAG)))
    return replace(peering, **sides)


def _probe_target_refusal(peering: Peering) -> str | None:
    """Probe targets named by the peering's tag must lie inside one of its two VPCs (the VPC-attached probe
    is never aimed anywhere else); a malformed tag is refused here too, before anything changes."""
    from ..flows import tagged_targets  # noqa: PLC0415 - the analysis is imported by the stages that use it

    tagged = peering.tags.get(PROBE_TARGETS_TAG, "").strip()
    if not tagged:
        return None
    try:
        hosts = [t.host for _, t in tagged_targets(tagged, 10_000)]  # host:port and icmp:host items
    except PeeringError as e:
        return sentence(f"The {PROBE_TARGETS_TAG} tag is not usable: {str(e).rstrip('.')}")
    bad = planning.targets_outside(hosts, peering)
    if bad:
        return (f"The {PROBE_TARGETS_TAG} tag names {', '.join(bad)}, outside both VPCs of {peering.peering_id}; "
                "the probe is only aimed inside the peered VPCs, so nothing was changed.")
    return None
