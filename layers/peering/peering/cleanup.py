"""Cleanup on delete: when a peering is gone, remove the routes this stack made to it, on both sides.

AWS keeps such routes as blackholes. The peering is re-read live (a deleted peering is still
described for a while, with both VPCs, accounts and regions); each side's route tables are read and
changed in that side's own account and region (through the accepter role for another account).

A route is deleted only when all of these hold (anything else is left alone and reported):
- the peering is *described* as deleted, rejected, expired or failed (a peering EC2 does not describe
  is never taken for gone: that may be an eventual-consistency miss);
- the peering carries this stack's tags (its status tag and an execution of this stack's workflow), so
  the routes to it were this stack's to make;
- the side's account is one the stack may work in (AllowedRequesterAccounts / AllowedAccepterAccounts);
- the route's target is exactly this peering, its state is ``blackhole`` and its origin ``CreateRoute``
  (re-read just before the delete), in a table not tagged ``peering-automation/skip=true``.
Nothing is tagged - the peering is gone - and a summary goes to the stack's SNS topic. When a side could
not be cleaned, the function raises after notifying, so Lambda's retries and the OnFailure destination
(and the next sweep) finish the job. Running it twice is a no-op.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from .config import EXECUTION_TAG, SKIP_TAG, STATUS_TAG
from .deps import Deps
from .errors import CleanupIncomplete, PeeringError, PeeringNotFound
from .events import PeeringApiCallEvent
from .models import Wire
from .plan import tag_is_true
from .records import GONE_STATES, PEERING_ID, Peering, Route, RouteTable

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
    """Routes to the peering that stay: in tables tagged peering-automation/skip=true, not a blackhole yet,
    or not made by CreateRoute."""
    problems: list[str] = Field(default_factory=list)
    reason: str


class _Place(Wire):
    """Where to look: one account and region, one VPC."""

    account_id: str
    region: str
    vpc_id: str


# -- pure ------------------------------------------------------------------------------------------
def gone(state: str) -> bool:
    return state in GONE_STATES


def owned(peering: Peering, workflow_name: str | None) -> bool:
    """Whether the stack worked on this peering: it carries the status tag and, when the workflow's name is
    known, an execution tag naming one of that workflow's executions."""
    if STATUS_TAG not in peering.tags:
        return False
    return not workflow_name or f":execution:{workflow_name}:" in peering.tags.get(EXECUTION_TAG, "")


def removable(route: Route, peering_id: str) -> bool:
    """A route the cleanup may delete: to exactly this peering, a blackhole, and made by CreateRoute."""
    return route.target == peering_id and route.state == "blackhole" and route.origin == "CreateRoute"


def routes_to(tables: list[RouteTable], peering_id: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(table, destination)`` pairs whose target is exactly ``peering_id``: (to remove, to leave alone).
    Left alone: routes in tables tagged skip, and routes that are not removable blackholes."""
    remove: list[tuple[str, str]] = []
    keep: list[tuple[str, str]] = []
    for table in tables:
        for route in table.routes:
            if route.target == peering_id:
                pair = (table.route_table_id, route.destination)
                ok = removable(route, peering_id) and not tag_is_true(table.tags.get(SKIP_TAG))
                (remove if ok else keep).append(pair)
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
        text += (f"; {len(kept)} were left alone (tables tagged peering-automation/skip=true, or not a blackhole "
                 "made by CreateRoute)")
    if problems:
        text += f"; {len(problems)} side(s) could not be cleaned: {' '.join(problems)}"
    return text.removesuffix(".") + "."  # a problem's own sentence ends the summary with one period


# -- orchestration ---------------------------------------------------------------------------------
class Cleanup:
    """Removes the routes of gone peerings, with the stack's clients and settings."""

    def __init__(self, deps: Deps):
        self.deps = deps

    def on_delete_event(self, event: Any) -> CleanupResult:
        peering_id, reason = peering_id_from_event(event)
        if peering_id is None:
            return CleanupResult(peering_id="", peering_state="unknown", reason=reason)
        return self.clean(peering_id)

    def clean(self, peering_id: str, peering: Peering | None = None, notify: bool = True,
              raise_on_problem: bool = True) -> CleanupResult:
        """Remove the stack's routes to ``peering_id`` on both sides once it is described as gone; a no-op
        while it is alive, not described, or not the stack's."""
        deps = self.deps
        if peering is None:
            try:
                peering = deps.ec2().peering(peering_id)
            except PeeringNotFound:
                peering = None
        if peering is None:  # an eventual-consistency miss looks the same as a long-gone peering: never delete
            return CleanupResult(peering_id=peering_id, peering_state="not described", reason=(
                f"{peering_id} is not described by EC2, so it is not known to be gone and its routes were left "
                "alone."))
        if not gone(peering.state):
            return CleanupResult(peering_id=peering_id, peering_state=peering.state, reason=(
                f"{peering_id} is {peering.state}, not deleted, so its routes were left alone."))
        if not owned(peering, deps.settings.workflow_name):
            return CleanupResult(peering_id=peering_id, peering_state=peering.state, reason=(
                f"{peering_id} was never handled by this stack (it has no status tag from its workflow), so its "
                "routes were left alone."))
        state = peering.state
        removed: list[RemovedRoute] = []
        kept: list[RemovedRoute] = []
        problems: list[str] = []
        allowed = {*deps.settings.requester_allow_list, *deps.settings.accepter_allow_list}
        for place in self._places(peering):
            if place.account_id not in allowed:
                problems.append(f"Account {place.account_id} is not an allowed account, so its side was not "
                                "touched.")
                continue
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
        deps.metric("RoutesRemovedOnDelete", len(removed))
        if notify:
            deps.notify(f"Peering {peering_id}: {state}, {len(removed)} route(s) removed", result.wire())
        if problems and raise_on_problem:
            raise CleanupIncomplete(result.reason)
        return result

    def _places(self, peering: Peering) -> list[_Place]:
        deps = self.deps
        return [_Place(account_id=side.account_id or deps.settings.stack_account_id,
                       region=side.region or deps.region, vpc_id=side.vpc_id)
                for side in (peering.requester, peering.accepter) if side.vpc_id]

    def _clean_place(self, peering_id: str, place: _Place) -> tuple[list[RemovedRoute], list[RemovedRoute]]:
        ec2 = self.deps.ec2(place.account_id, place.region)
        tables = ec2.route_tables(place.vpc_id)
        vpc_of = {t.route_table_id: t.vpc_id for t in tables}
        remove, keep = routes_to(tables, peering_id)

        def record(table: str, destination: str) -> RemovedRoute:
            return RemovedRoute(account_id=place.account_id, region=place.region, vpc_id=vpc_of[table],
                                route_table_id=table, destination=destination)

        deleted = []
        for table, destination in remove:
            current = ec2.route_target(table, destination)  # re-read: delete only if it still is our blackhole
            if current is not None and removable(current, peering_id):
                ec2.delete_route(table, destination)
                deleted.append((table, destination))
            elif current is not None:
                keep.append((table, destination))
        return [record(*r) for r in deleted], [record(*k) for k in keep]
