"""At most one running execution per peering, however the workflow was started.

Two layers, because neither alone holds on AWS:

1. **Before starting** (``start_once``, shared by the intake and the sweeper): list the state
   machine's RUNNING executions and start none when one already works on the peering. Execution
   names are deterministic per trigger (``<pcx>-<hash of the event id>``), so a redelivered event
   or a retried sweep maps to the same name and Step Functions itself refuses a second start.
2. **Inside the workflow** (``claimed_elsewhere``, the first thing the Inspect stage does): list-then-
   start races (an event and a sweep a few milliseconds apart both see nothing running), so each
   execution checks again once it runs. Of the running executions of one peering, only the earliest
   started (ties broken by ARN) proceeds; every other one ends at once as a no-op (decision
   ``duplicate``, state ``AlreadyHandled``) before it reads, tags or changes anything.

Residual risk, stated plainly: ``ListExecutions`` is eventually consistent, so two executions started
within the listing's lag could each miss the other and both proceed. Every stage is idempotent
(accept, create-route and DNS treat "already done" as success), which bounds the harm to one run
rolling back routes the other made if it fails. A lock with a conditional write (DynamoDB) would
close that window; it was not added to keep the stack free of state it would have to clean up.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .aws.executions import list_runs
from .aws.notify import start_execution
from .events import execution_name
from .models import Inspection, Wire, WorkflowState
from .runs import DUPLICATE, owner_other_than, runs_of, state_machine_of


class StartResult(Wire):
    """What ``start_once`` did for one peering."""

    peering_id: str
    started: bool
    execution_arn: str | None = None
    reason: str = ""


class StartRequest(Wire):
    peering_id: str = Field(pattern=r"^pcx-[0-9a-zA-Z]{1,32}$")
    event_name: str = ""
    event_id: str = ""
    event_time: str = ""


def start_once(sfn: Any, state_machine_arn: str, peering_id: str, trigger: dict[str, str]) -> StartResult:
    """Start the workflow for ``peering_id`` unless an execution of it is already running.

    ``trigger`` holds ``eventName``/``eventId``/``eventTime`` of what asked for the run; the same
    event id always gives the same execution name, so a retried start is the same request.
    """
    request = StartRequest(peering_id=peering_id, event_name=trigger.get("eventName", ""),
                           event_id=trigger.get("eventId", ""), event_time=trigger.get("eventTime", ""))
    running = runs_of(peering_id, list_runs(sfn, state_machine_arn, "RUNNING"))
    name = execution_name(peering_id, request.event_id)
    other = next((run for run in running if run.name != name), None)
    if other is not None:
        return StartResult(peering_id=peering_id, started=False, execution_arn=other.arn,
                           reason=f"Execution {other.name} is already handling {peering_id}.")
    payload = {"peeringId": peering_id, "trigger": {"eventName": request.event_name, "eventId": request.event_id,
                                                    "eventTime": request.event_time}}
    arn = start_execution(sfn, state_machine_arn, name, payload)
    return StartResult(peering_id=peering_id, started=True, execution_arn=arn,
                       reason=f"Started {name} for {peering_id}.")


def claimed_elsewhere(sfn: Any, state: WorkflowState) -> Inspection | None:
    """The Inspect stage's no-op result when an earlier running execution owns this peering, else None.

    Runs before anything is read or tagged, so a duplicate execution changes nothing at all.
    Without an execution ARN (a stage invoked outside Step Functions) there is nothing to compare.
    """
    if not state.execution_arn or ":execution:" not in state.execution_arn:
        return None
    running = list_runs(sfn, state_machine_of(state.execution_arn), "RUNNING")
    owner = owner_other_than(state.execution_arn, state.peering_id, running)
    if owner is None:
        return None
    return Inspection(decision=DUPLICATE, reason=(
        f"Another execution ({owner.name}) is already handling {state.peering_id}, so this one changes nothing."))
