"""Intake: an EventBridge event (a CloudTrail-recorded EC2 call) -> at most one execution per peering."""

from __future__ import annotations

from typing import Any

from ..deps import Deps
from ..errors import InvalidInput
from ..events import PeeringApiCallEvent, trigger_from
from ..once import start_once


def start_from_event(deps: Deps, event: PeeringApiCallEvent) -> dict[str, Any]:
    """Start the workflow for each peering the event names, through ``once.start_once``."""
    trigger = trigger_from(event, deps.settings.trigger_tag_key, deps.settings.allowed_taggers,
                           deps.settings.max_peerings_per_event)
    started, skipped = [], []
    request = {"eventName": trigger.event_name, "eventId": trigger.event_id, "eventTime": trigger.event_time}
    machine = deps.settings.state_machine_arn or ""
    if trigger.peering_ids and not machine:  # refused before a lease is written
        raise InvalidInput("The intake has no STATE_MACHINE_ARN setting; redeploy the stack.")
    leases = deps.leases() if trigger.peering_ids else None
    sfn = deps.sfn()
    for peering_id in trigger.peering_ids:  # exactly one execution per peering: see peering.once
        result = start_once(sfn, leases, machine, peering_id, request)
        if result.started:
            started.append(result.execution_arn)
        else:
            skipped.append(result.wire())
    return {"started": started, "skipped": skipped, "refused": trigger.refused, "reason": trigger.reason}
