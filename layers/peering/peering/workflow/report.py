"""Report: the outcome of a run from its state document and its run store, notified, tagged on the peering (last),
and the lease released."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .. import runstore
from ..config import REASON_TAG
from ..deps import Deps
from ..errors import PeeringError
from ..models import AppliedSide, ChunkFailure, ErrorInfo, Status, StoredPlan, Summary, WorkflowState
from ..records import SIDES
from .common import tag_status


def report(deps: Deps, state: WorkflowState) -> Summary:
    """Notify, count, then tag: the status tag is the last thing a run changes, so that it never says
    ``verified`` (or ``routed``) when something after it could still fail the execution. Releasing the lease
    after it cannot fail the run (a lease whose execution ended is taken over: ``peering.once``)."""
    state = _with_chunk_failure(deps, state)
    summary = summarize(state, _route_counts(deps, state))
    deps.notify(f"Peering {state.peering_id}: {summary.status.value}", summary.wire())
    deps.metric(f"Peerings{summary.status.value.title().replace('-', '')}", 1)
    peering_exists = state.inspection is not None and state.inspection.peering is not None
    opted_in = state.inspection.opted_in if state.inspection else True
    if opted_in and (peering_exists or state.error is not None):
        try:
            tag_status(deps, state.peering_id, summary.status, state.execution_arn,
                       summary.reason if summary.status in (Status.FAILED, Status.REJECTED) else "")
            if summary.status in (Status.VERIFIED, Status.ROUTED) and _had_reason(state):
                deps.ec2().untag(state.peering_id, [REASON_TAG])  # an earlier failed run's reason is not true now
        except PeeringError as e:  # the peering may be gone: the run's outcome stands, the summary says why
            summary = summary.model_copy(update={"status_tag_error": str(e)})
    try:
        release_lease(deps, state)
    except PeeringError as e:
        summary = summary.model_copy(update={"lease_error": str(e)})
    return summary


def _chunk_keys(stored: StoredPlan, key_of: Callable[[str, str, int], str]) -> list[str]:
    """One key per chunk of the stored plan (``runstore.applied_key`` or ``runstore.failed_key``)."""
    return [key_of(stored.prefix, role, index) for role in SIDES
            for index in range(-(-stored.side(role).create // stored.chunk_size))]


def _with_chunk_failure(deps: Deps, state: WorkflowState) -> WorkflowState:
    """A failed ApplyRoutes Map says only that an item failed (``States.ExceedToleratedFailureThreshold``); the
    failed chunk's own sentence is in the run store: the report gives that one."""
    stored, error = state.plan, state.error
    if stored is None or error is None or state.routes is not None or not error.Error.startswith("States."):
        return state
    store = deps.run_store(stored.bucket)
    for failed_key, applied_key in zip(_chunk_keys(stored, runstore.failed_key),
                                       _chunk_keys(stored, runstore.applied_key), strict=True):
        failed = store.get(ChunkFailure, failed_key)
        if failed is not None and store.get(AppliedSide, applied_key) is None:
            cause = json.dumps({"errorMessage": failed.message, "errorType": failed.error})
            return state.model_copy(update={"error": ErrorInfo(Error=failed.error, Cause=cause)})
    return state


def _route_counts(deps: Deps, state: WorkflowState) -> tuple[int, int]:
    """(created, already there) over the chunks that were applied, read from the run store."""
    stored = state.plan
    if stored is None:
        return 0, 0
    applied = [a for a in deps.run_store(stored.bucket).get_many(AppliedSide, _chunk_keys(stored, runstore.applied_key))
               if a is not None]
    return (sum(len(a.created) for a in applied),
            sum(stored.side(role).present for role in SIDES) + sum(len(a.already_present) for a in applied))


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


def summarize(state: WorkflowState, routes: tuple[int, int] = (0, 0)) -> Summary:
    """The outcome of a run from its state document and its route counts (created, already there) (pure)."""
    created, present = routes
    peering = state.inspection.peering if state.inspection else None
    common: dict[str, Any] = {
        "peering_id": state.peering_id,
        "execution_arn": state.execution_arn,
        "requester": peering.requester if peering else None,
        "accepter": peering.accepter if peering else None,
        "routes_created": created,
        "routes_already_present": present,
        "routes_removed": state.rollback.removed if state.rollback else 0,
        "details": state.plan.location if state.plan else "",
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
    total = created + present
    reason = f"Accepted and routed: {total} route(s) point at {state.peering_id}, {created} added by this run."
    return Summary(status=Status.ROUTED, stage=state.stage_reached(), reason=reason, **common)
