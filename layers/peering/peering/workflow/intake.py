"""Intake: an EventBridge event (a CloudTrail-recorded EC2 call) -> at most one execution per peering."""

from __future__ import annotations

from typing import Any

from ..deps import Deps
from ..events import PeeringApiCallEvent, trigger_from
from ..once import start_once


def start_from_event(deps: Deps, event: PeeringApiCallEvent) -> dict[str, Any]:
    """Start the workflow for each peering the event names, through ``once.start_once``."""
    trigger = trigger_from(event, deps.settings.trigger_tag_key, deps.settings.allowed_taggers,
                           deps.settings.max_peerings_per_event)
    started, skipped = [], []
    request = {"eventName": trigger.event_name, "eventId": trigger.event_id, "eventTime": trigger.event_time}
    leases = deps.leases() if trigger.peering_ids else None
    sfn = deps.sfn()
    for peering_id in trigger.peering_ids:  # exactly one execution per peering: see peering.once
        result = start_once(sfn, leases, deps.settings.state_machine_arn or "", peering_id, request)
        if result.started:
            started.append(result.execution_arn)
        else:
            skipped.append(result.wire())
    return {"started": started, "skipped": skipped, "refused": trigger.refused, "reason": trigger.reason}
