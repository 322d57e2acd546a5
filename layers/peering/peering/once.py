"""Exactly one execution per peering: a lease in DynamoDB, taken before an execution starts.

The lease table (template.yaml ``LeaseTable``) holds one item per peering id: the execution that may work
on it, a token unique to that write, and ``expiresAt`` (the table's TTL attribute). Every write is a
conditional write, which DynamoDB applies atomically per item, so of any number of concurrent starters
exactly one takes the lease:

1. **Before starting** (``start_once``, shared by the intake and the sweeper): take the lease for the
   execution about to start (its name is deterministic per trigger, ``<pcx>-<hash of the event id>``),
   then start it. The write succeeds when the peering has no lease, when the lease expired (TTL deletion is
   lazy, so an expired item may still be there), when it is already this execution's (a redelivered
   event), or when it is exactly the lease of a holder found dead (compare-and-swap on its token). A lost
   race returns the holder in the same call (``ReturnValuesOnConditionCheckFailure``): nothing is started.
   A start that fails gives the lease back; a trigger whose execution already ran gives it back too.
2. **Inside the workflow** (``claimed_elsewhere``, the first thing Inspect does): the execution takes the
   same lease for itself. For one started by (1) this is a no-op re-write. It adds safety where (1) was
   bypassed: an execution started by hand (console, CLI), or the belated start of a starter whose lease was
   taken over as dead. Such an execution finds another live holder and ends at once as a no-op (decision
   ``duplicate``, state ``AlreadyHandled``) before it reads, tags or changes anything.
3. **Released** by Report and ReportFailure (``peering.workflow.report``): whatever way a run ends through
   its report, succeeded, failed, rejected or verification failed. A run that ends without its report
   (the report itself failed, it was stopped, it timed out) leaves its lease behind: the next starter finds
   its execution closed (DescribeExecution) and takes the lease over; DynamoDB's TTL removes it otherwise.

Why not Powertools' idempotency utility (``aws_lambda_powertools.utilities.idempotency``, 3.37.0, with its
DynamoDB persistence layer)? It makes one *function call* idempotent: its record is written before the call,
holds the call's result until ``expires_after_seconds`` (``config.py:17``, one hour by default) and is keyed
by ``<prefix>#<md5 of the payload>`` (``persistence/base.py:150``). Its write condition is the same pattern as
here (``persistence/dynamodb.py:210-230``: absent, expired, or an in-progress record past its deadline), but
the lease needs what it does not offer: to live as long as an *execution* (minutes to hours, not one Lambda
call), to be released by another function (Report) and only while still held by that execution (its
``delete_record``, ``persistence/base.py:366``, takes the triggering exception and deletes unconditionally,
``persistence/dynamodb.py:325-327``), and to be taken over from a holder whose execution has ended. Using it
would mean reproducing its hashed key in Report and deleting behind its back, so the lease is its own small
adapter (``peering.aws.lease``) with the same conditional-write technique.
"""

from __future__ import annotations

import contextlib
import time
import uuid

from pydantic import Field

from .aws.executions import StepFunctions
from .aws.lease import LeaseTable
from .errors import PeeringError
from .events import execution_name
from .models import Inspection, Wire, WorkflowState
from .records import PEERING_ID_PATTERN
from .runs import DUPLICATE, LEASE_SECONDS, LIVE, Lease, execution_arn, holder_keeps

ATTEMPTS = 3
"""Writes per claim: a dead holder is replaced by compare-and-swap, which can lose to another starter."""


class StartResult(Wire):
    """What ``start_once`` did for one peering."""

    peering_id: str
    started: bool
    execution_arn: str | None = None
    reason: str = ""


class StartRequest(Wire):
    peering_id: str = Field(pattern=PEERING_ID_PATTERN)
    event_name: str = ""
    event_id: str = ""
    event_time: str = ""


def new_lease(peering_id: str, arn: str, now: int, trigger: str) -> Lease:
    return Lease(peering_id=peering_id, execution_name=arn.rpartition(":")[2], execution_arn=arn,
                 token=uuid.uuid4().hex, acquired_at=now, expires_at=now + LEASE_SECONDS, trigger=trigger)


def claim(sfn: StepFunctions, leases: LeaseTable, lease: Lease, now: int) -> tuple[Lease, str] | None:
    """Take ``lease``; None when taken, else the live lease that keeps the peering and why
    (``runs.holder_keeps``)."""
    replacing: Lease | None = None
    for _ in range(ATTEMPTS):
        holder = leases.acquire(lease, now, replacing)
        if holder is None:
            return None
        replacing = None
        if holder.execution_name:  # else the holder is unknown: write again
            why = holder_keeps(holder, sfn.status(holder.execution_arn), now)
            if why is not None:
                return holder, why
            replacing = holder  # dead: replace exactly this lease (another starter may do so first)
    return lease, f"The lease of {lease.peering_id} changed hands {ATTEMPTS} times while it was being taken."


def start_once(sfn: StepFunctions, leases: LeaseTable, state_machine_arn: str, peering_id: str, trigger: dict[str, str],
               now: int | None = None) -> StartResult:
    """Take the peering's lease for the trigger's execution, then start it; start nothing when another
    execution holds the lease.

    ``trigger`` holds ``eventName``/``eventId``/``eventTime`` of what asked for the run; the same event id
    always gives the same execution name, so a retried start is the same request.
    """
    request = StartRequest(peering_id=peering_id, event_name=trigger.get("eventName", ""),
                           event_id=trigger.get("eventId", ""), event_time=trigger.get("eventTime", ""))
    now = int(time.time()) if now is None else now
    name = execution_name(peering_id, request.event_id)
    arn = execution_arn(state_machine_arn, name)
    lease = new_lease(peering_id, arn, now, request.event_name)
    kept = claim(sfn, leases, lease, now)
    if kept is not None:
        holder, why = kept
        return StartResult(peering_id=peering_id, started=False, reason=why,
                           execution_arn=None if holder is lease else holder.execution_arn)
    payload = {"peeringId": peering_id, "trigger": {"eventName": request.event_name, "eventId": request.event_id,
                                                    "eventTime": request.event_time}}
    try:
        started = sfn.start(state_machine_arn, name, payload)
    except Exception:
        _give_back(leases, lease)
        raise
    if started is None:  # this trigger's execution exists: running (it keeps the lease) or closed (give it back)
        status = sfn.status(arn)
        if status in LIVE:
            return StartResult(peering_id=peering_id, started=False, execution_arn=arn,
                               reason=f"Execution {name} is already handling {peering_id}.")
        _give_back(leases, lease)
        return StartResult(peering_id=peering_id, started=False, execution_arn=arn,
                           reason=f"Execution {name} already ran for this trigger ({(status or 'gone').lower()}).")
    return StartResult(peering_id=peering_id, started=True, execution_arn=started,
                       reason=f"Started {name} for {peering_id}.")


def _give_back(leases: LeaseTable, lease: Lease) -> None:
    """Release the lease this call wrote (by its token); a failure here must not hide the caller's error:
    an unreleased lease of an execution that never started is taken over after ``START_GRACE_SECONDS``."""
    with contextlib.suppress(PeeringError):
        leases.release(lease.peering_id, token=lease.token)


def claimed_elsewhere(sfn: StepFunctions, leases: LeaseTable | None, state: WorkflowState,
                      now: int | None = None) -> Inspection | None:
    """The Inspect stage's no-op result when another live execution holds the peering's lease, else None
    (the lease is then this execution's).

    Runs before anything is read or tagged, so a duplicate execution changes nothing at all. Without an
    execution ARN (a stage invoked outside Step Functions) or a lease table there is nothing to claim.
    """
    if leases is None or not state.execution_arn or ":execution:" not in state.execution_arn:
        return None
    now = int(time.time()) if now is None else now
    trigger = ((state.input or {}).get("trigger") or {}).get("eventName", "")
    kept = claim(sfn, leases, new_lease(state.peering_id, state.execution_arn, now, str(trigger)), now)
    if kept is None:
        return None
    holder, why = kept
    if holder.execution_arn == state.execution_arn:  # contended beyond ATTEMPTS: yield, changing nothing
        return Inspection(decision=DUPLICATE, reason=f"{why[:-1]}, so this execution changes nothing.")
    return Inspection(decision=DUPLICATE, reason=(
        f"Another execution ({holder.execution_name}) is already handling {state.peering_id}, "
        "so this one changes nothing."))
