"""Cleanup on delete: when a peering is gone, remove the routes that still point at it on both sides.

AWS keeps such routes as blackholes. The peering is re-read live (a deleted peering is still
described for a while, with both VPCs, accounts and regions); each side's route tables are read and
changed in that side's own account and region (through the accepter role for another account).
Only routes whose target is exactly this peering are deleted; tables tagged
``peering-automation/skip=true`` are left alone (IAM enforces it too). Nothing is tagged - the
peering is gone - and a summary goes to the stack's SNS topic. Running it twice is a no-op.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from .aws import inventory
from .aws.notify import publish
from .config import SKIP_TAG
from .errors import PeeringError, PeeringNotFound
from .events import PEERING_ID, PeeringApiCallEvent
from .models import Peering, RouteTable, Wire
from .plan import tag_is_true

GONE_STATES = frozenset({"deleting", "deleted", "rejected", "expired", "failed"})
"""Peering states in which no traffic can flow, so a route to the peering is a blackhole."""
DELETE_CALL = "DeleteVpcPeeringConnection"


class RemovedRoute(Wire):
    account_id: str
    region: str
    vpc_id: str
    route_table_id: str
    destination: str


class CleanupResult(Wire):
    """What the cleanup found and did for one peering; the notification's body."""

    peering_id: str
    peering_state: str
    removed: list[RemovedRoute] = Field(default_factory=list)
    left_alone: list[RemovedRoute] = Field(default_factory=list)
    """Routes to the peering in tables tagged peering-automation/skip=true."""
    problems: list[str] = Field(default_factory=list)
    reason: str


class _Place(Wire):
    """Where to look: one account and region, one VPC (None: every table with a route to the peering)."""

    account_id: str
    region: str
    vpc_id: str | None = None


# -- pure ------------------------------------------------------------------------------------------
def gone(state: str) -> bool:
    return state in GONE_STATES


def routes_to(tables: list[RouteTable], peering_id: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(table, destination)`` pairs whose target is exactly ``peering_id``: (to remove, to leave alone)."""
    remove: list[tuple[str, str]] = []
    keep: list[tuple[str, str]] = []
    for table in tables:
        for route in table.routes:
            if route.target == peering_id:
                pair = (table.route_table_id, route.destination)
                (keep if tag_is_true(table.tags.get(SKIP_TAG)) else remove).append(pair)
    return remove, keep


def peering_id_from_event(event: Any) -> tuple[str | None, str]:
    """The deleted peering named by a ``DeleteVpcPeeringConnection`` CloudTrail event, or None and why not."""
    try:
        detail = PeeringApiCallEvent.model_validate(event).detail
    except ValidationError:
        return None, "The event is not a CloudTrail API call event."
    if detail.event_name != DELETE_CALL or detail.event_source != "ec2.amazonaws.com":
        return None, f"{detail.event_name} from {detail.event_source} is not {DELETE_CALL}."
    if detail.error_code:
        return None, f"The {DELETE_CALL} call failed ({detail.error_code}), so nothing was deleted."
    pcx = (detail.request_parameters or {}).get("vpcPeeringConnectionId")
    if not isinstance(pcx, str) or not PEERING_ID.match(pcx):
        return None, f"The {DELETE_CALL} call names no peering connection."
    return pcx, "deleted"


def _summary_reason(peering_id: str, state: str, removed: list[RemovedRoute], kept: list[RemovedRoute],
                    problems: list[str]) -> str:
    tables = sorted({r.route_table_id for r in removed})
    text = (f"Removed {len(removed)} route(s) to {peering_id} ({state}) from {', '.join(tables)}" if removed
            else f"No route to {peering_id} ({state}) had to be removed")
    if kept:
        text += f"; {len(kept)} in tables tagged peering-automation/skip=true were left alone"
    if problems:
        text += f"; {len(problems)} side(s) could not be cleaned: {' '.join(problems)}"
    return text.rstrip(".") + "."


# -- orchestration ---------------------------------------------------------------------------------
class Cleanup:
    """Removes the routes of gone peerings, with the stack's clients and settings (``service.Workflow``)."""

    def __init__(self, flow: Any):
        self.flow = flow

    def on_delete_event(self, event: Any) -> CleanupResult:
        peering_id, reason = peering_id_from_event(event)
        if peering_id is None:
            return CleanupResult(peering_id="", peering_state="unknown", reason=reason)
        return self.clean(peering_id)

    def clean(self, peering_id: str, peering: Peering | None = None, notify: bool = True) -> CleanupResult:
        """Remove every route to ``peering_id`` on both sides once it is gone; no-op while it is alive."""
        flow = self.flow
        if peering is None:
            try:
                peering = flow.ec2().peering(peering_id)
            except PeeringNotFound:  # described no more: only this account and region can be searched
                peering = None
        if peering is not None and not gone(peering.state):
            return CleanupResult(peering_id=peering_id, peering_state=peering.state, reason=(
                f"{peering_id} is {peering.state}, not deleted, so its routes were left alone."))
        state = peering.state if peering is not None else "gone"
        removed: list[RemovedRoute] = []
        kept: list[RemovedRoute] = []
        problems: list[str] = []
        for place in self._places(peering):
            try:
                done, left = self._clean_place(peering_id, place)
            except PeeringError as e:
                problems.append(str(e))
                continue
            removed += done
            kept += left
        result = CleanupResult(peering_id=peering_id, peering_state=state, removed=removed, left_alone=kept,
                               problems=problems,
                               reason=_summary_reason(peering_id, state, removed, kept, problems))
        flow.metric("RoutesRemovedOnDelete", len(removed))
        if notify and flow.settings.topic_arn:
            sns = flow.clients.client("sns", flow.settings.stack_account_id, flow.region)
            publish(sns, flow.settings.topic_arn, f"Peering {peering_id}: {state}, {len(removed)} route(s) removed",
                    result.wire())
        return result

    def _places(self, peering: Peering | None) -> list[_Place]:
        flow = self.flow
        if peering is None:
            return [_Place(account_id=flow.settings.stack_account_id, region=flow.region)]
        return [_Place(account_id=side.account_id or flow.settings.stack_account_id,
                       region=side.region or flow.region, vpc_id=side.vpc_id)
                for side in (peering.requester, peering.accepter) if side.vpc_id]

    def _clean_place(self, peering_id: str, place: _Place) -> tuple[list[RemovedRoute], list[RemovedRoute]]:
        ec2 = self.flow.ec2(place.account_id, place.region)
        tables = ec2.route_tables(place.vpc_id) if place.vpc_id else inventory.route_tables(ec2.client, peering_id)
        vpc_of = {t.route_table_id: t.vpc_id for t in tables}
        remove, keep = routes_to(tables, peering_id)

        def record(table: str, destination: str) -> RemovedRoute:
            return RemovedRoute(account_id=place.account_id, region=place.region, vpc_id=vpc_of[table],
                                route_table_id=table, destination=destination)

        deleted = []
        for table, destination in remove:
            current = ec2.route_target(table, destination)  # re-read: delete only if it still points at us
            if current is not None and current.target == peering_id:
                ec2.delete_route(table, destination)
                deleted.append((table, destination))
        return [record(*r) for r in deleted], [record(*k) for k in keep]
