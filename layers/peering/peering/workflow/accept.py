"""Accept the pending request, then wait until the peering is active."""

from __future__ import annotations

from ..deps import Deps
from ..errors import PeeringNotActive
from ..models import Acceptance, Activation, Status, WorkflowState
from ..records import ACCEPTED_STATES, ACTIVE, WAITING_STATES
from .common import inspected, tag_status


def accept(deps: Deps, state: WorkflowState) -> Acceptance:
    """Accept the request Inspect found pending. Not read again: if it changed meanwhile, EC2 says so
    (InvalidStateTransition), and a retried accept that already succeeded is recognised by the adapter."""
    peering = inspected(state)
    if peering.state in ACCEPTED_STATES:
        return Acceptance(accepted_now=False, peering_state=peering.state)
    new_state = deps.ec2_for(peering.accepter).accept(peering.peering_id)
    tag_status(deps, peering.peering_id, Status.ACCEPTED, state.execution_arn, peering=peering)
    deps.metric("PeeringsAccepted", 1)
    return Acceptance(accepted_now=True, peering_state=new_state)


def check_active(deps: Deps, state: WorkflowState) -> Activation:
    attempt = (state.activation.attempt if state.activation else 0) + 1
    peering = deps.read_peering(state.peering_id)
    if peering.state == ACTIVE:
        return Activation(state="active", attempt=attempt, peering_state=peering.state)
    if peering.state not in WAITING_STATES:
        raise PeeringNotActive(f"{peering.peering_id} became {peering.state} before it was active.")
    if attempt >= deps.settings.max_activation_checks:
        raise PeeringNotActive(
            f"{peering.peering_id} was still {peering.state} after {attempt} checks, so no route was added."
        )
    return Activation(state="waiting", attempt=attempt, peering_state=peering.state)
