"""What several stage groups share: the inspected peering, the status tags, one-sentence text."""

from __future__ import annotations

from ..config import EXECUTION_TAG, REASON_TAG, STATUS_TAG
from ..deps import Deps
from ..errors import PeeringNotActive
from ..models import Status, WorkflowState
from ..records import Peering


def tag_status(deps: Deps, peering_id: str, status: Status, execution_arn: str | None, reason: str = "",
               peering: Peering | None = None) -> None:
    """Tag the peering in the stack's region. Tags exist only in the region that set them, and the
    IAM conditions on accept, routes and DNS read the status tag where each call is made: for a
    cross-region peering in this account, the accepter region's view is tagged too (while working)."""
    tags = {STATUS_TAG: status.value}
    if execution_arn:
        tags[EXECUTION_TAG] = execution_arn
    if reason:
        tags[REASON_TAG] = reason
    deps.ec2().tag(peering_id, tags)
    accepter = peering.accepter if peering is not None else None
    if accepter is not None and accepter.account_id == deps.settings.stack_account_id \
            and accepter.region and accepter.region != deps.region:
        deps.ec2_for(accepter).tag(peering_id, {STATUS_TAG: status.value})


def inspected(state: WorkflowState) -> Peering:
    if state.inspection is None or state.inspection.peering is None:
        raise PeeringNotActive(f"{state.peering_id} was not inspected before this stage; the run is incomplete.")
    return state.inspection.peering


def sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith(".") else f"{text}."
