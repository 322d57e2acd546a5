"""Report: the outcome of a run from its state document, tagged on the peering, notified, and the lease released."""

from __future__ import annotations

import json
from typing import Any

from ..config import REASON_TAG
from ..deps import Deps
from ..errors import PeeringError
from ..models import Status, Summary, WorkflowState
from .common import tag_status


def report(deps: Deps, state: WorkflowState) -> Summary:
    summary = summarize(state)
    peering_exists = state.inspection is not None and state.inspection.peering is not None
    opted_in = state.inspection.opted_in if state.inspection else True
    if opted_in and (peering_exists or state.error is not None):
        try:
            tag_status(deps, state.peering_id, summary.status, state.execution_arn,
                       summary.reason if summary.status in (Status.FAILED, Status.REJECTED) else "")
            if summary.status in (Status.VERIFIED, Status.ROUTED) and _had_reason(state):
                deps.ec2().untag(state.peering_id, [REASON_TAG])  # an earlier failed run's reason is not true now
        except PeeringError as e:  # the peering may be gone: still notify, keep the reason one sentence
            summary = summary.model_copy(update={"status_tag_error": str(e)})
    deps.notify(f"Peering {state.peering_id}: {summary.status.value}", summary.wire())
    deps.metric(f"Peerings{summary.status.value.title().replace('-', '')}", 1)
    release_lease(deps, state)
    return summary


def release_lease(deps: Deps, state: WorkflowState) -> None:
    """Give the peering's lease back (``peering.once``) if this execution still holds it: the run has
    reported, whichever way it ended. A no-op outside Step Functions or without a lease table."""
    leases = deps.leases(required=False)
    if leases is not None and state.execution_arn and ":execution:" in state.execution_arn:
        leases.release(state.peering_id, execution_name=state.execution_arn.rsplit(":", 1)[-1])


def _had_reason(state: WorkflowState) -> bool:
    """Whether the peering carried a reason tag when Inspect read it (left by an earlier failed run)."""
    peering = state.inspection.peering if state.inspection else None
    return peering is not None and REASON_TAG in peering.tags


def failure_sentence(error: Any) -> str:
    """One sentence from a Catch's ``{Error, Cause}``: the Lambda's errorMessage when there is one."""
    cause = error.Cause or ""
    try:
        parsed = json.loads(cause)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        return str(parsed["errorMessage"]).strip()
    if error.Error == "States.Timeout":
        return "A stage timed out."
    return cause.strip() or f"The workflow failed with {error.Error}."


def summarize(state: WorkflowState) -> Summary:
    """The outcome of a run from its state document (pure)."""
    created = [r for side in (state.routes or []) for r in side.created]
    peering = state.inspection.peering if state.inspection else None
    common: dict[str, Any] = {
        "peering_id": state.peering_id,
        "execution_arn": state.execution_arn,
        "requester": peering.requester if peering else None,
        "accepter": peering.accepter if peering else None,
        "routes_created": created,
        "routes_removed": state.rollback.removed if state.rollback else [],
        "dns": state.dns,
        "verification": state.verification,
        "information": state.verification.information if state.verification else [],
    }
    if state.error is not None or state.rollback_error is not None:
        reason = failure_sentence(state.error) if state.error is not None else "The run failed."
        if state.rollback_error is not None:
            reason = (f"{reason.rstrip('.')}. The rollback failed too "
                      f"({failure_sentence(state.rollback_error).rstrip('.')}): routes this run created may remain.")
        return Summary(status=Status.FAILED, stage=state.failed_stage(), reason=reason, **common)
    inspection = state.inspection
    if inspection is not None and inspection.decision == "refuse":
        return Summary(status=Status.REJECTED, stage="inspect", reason=inspection.reason, **common)
    verification = state.verification
    if verification is not None and verification.performed:
        status = Status.VERIFIED if verification.reachable else Status.FAILED
        return Summary(status=status, stage="verify", reason=verification.reason, **common)
    total = len(created) + sum(len(s.already_present) for s in state.routes or [])
    reason = f"Accepted and routed: {total} route(s) point at {state.peering_id}, {len(created)} added by this run."
    return Summary(status=Status.ROUTED, stage=state.stage_reached(), reason=reason, **common)
