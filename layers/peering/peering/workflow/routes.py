"""Routes and DNS: plan each side's routes, create them, remove them again on rollback; allow remote DNS."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor

from .. import plan as planning
from ..deps import Deps
from ..errors import PeeringNotActive, PeeringNotFound
from ..models import AppliedSide, DnsResult, PlannedRoute, RollbackResult, RoutePlan, SidePlan, WorkflowState
from ..records import ACTIONABLE_STATES, SIDES
from .common import inspected

ROUTE_WORKERS = 8
"""CreateRoute calls in flight per side: fast for hundreds of tables, well under EC2's mutation rate limits."""


def plan_routes(deps: Deps, state: WorkflowState) -> RoutePlan:
    peering = inspected(state)
    tables = {}
    for ec2, group in deps.by_place(peering):
        found = ec2.route_tables([side.vpc_id for side in group])
        for side in group:
            tables[side.role] = [t for t in found if t.vpc_id == side.vpc_id]
    return planning.plan_routes(peering, tables, deps.settings.route_table_quota, deps.settings.allow_shadowing)


def apply_side(deps: Deps, peering_id: str, side_plan: SidePlan) -> AppliedSide:
    ec2 = deps.ec2_for(side_plan)
    created: list[PlannedRoute] = []
    present = list(side_plan.present)
    def create(route: PlannedRoute) -> bool:
        return ec2.create_route(route.route_table_id, route.destination, peering_id)

    # concurrently, a bounded pool: EC2 has no batch CreateRoute; botocore backs off on throttling
    with ThreadPoolExecutor(max_workers=ROUTE_WORKERS) as pool:
        # each worker runs in a copy of this context (context variables, e.g. tracing, follow the call)
        futures = [(route, pool.submit(contextvars.copy_context().run, create, route))
                   for route in side_plan.create]
        try:
            outcomes = [(route, future.result()) for route, future in futures]
        except PeeringNotFound:
            _fail_if_gone(deps, peering_id, "its routes were being created")
            raise
    for route, made in outcomes:
        (created if made else present).append(route)
    deps.metric("RoutesCreated", len(created))
    return AppliedSide(side=side_plan.side, created=created, already_present=present)


def _fail_if_gone(deps: Deps, peering_id: str, while_doing: str) -> None:
    """A NotFound mid-run means "not visible yet" only while the peering still exists: raise the
    non-retried PeeringNotActive when it was deleted, rejected or expired meanwhile."""
    current = deps.ec2().peering(peering_id)
    if current is None or current.state not in ACTIONABLE_STATES:
        state = current.state if current is not None else "deleted"
        raise PeeringNotActive(f"{peering_id} became {state} while {while_doing}.")


def rollback(deps: Deps, state: WorkflowState) -> RollbackResult:
    """Remove the routes this execution planned to create and that now point at its peering.

    The plan was checked against the tables before any change: a planned destination had no
    route then, so a route there with this peering as target is this execution's own. Routes
    already present before the run, and routes with any other target, are never touched.
    """
    if state.plan is None:
        return RollbackResult()
    removed: list[PlannedRoute] = []
    left: list[PlannedRoute] = []
    for role in SIDES:
        side_plan = state.plan.side(role)
        ec2 = deps.ec2_for(side_plan)
        for route in side_plan.create:
            existing = ec2.route_target(route.route_table_id, route.destination)
            if existing is not None and existing.target == state.peering_id:
                ec2.delete_route(route.route_table_id, route.destination)
                removed.append(route)
            else:
                left.append(route)
    return RollbackResult(removed=removed, left_alone=left)


def configure_dns(deps: Deps, state: WorkflowState) -> DnsResult:
    if not deps.settings.enable_dns_resolution:
        return DnsResult(enabled=False, reason="EnableDnsResolution is false.")
    peering = inspected(state)
    done: dict[str, bool] = {}
    for ec2, group in deps.by_place(peering):  # each owner sets its own side, in its own region
        ec2.allow_remote_dns(peering.peering_id, *(side.role for side in group))
        done.update({side.role: True for side in group})
    return DnsResult(enabled=True, sides=done, reason="Each side resolves the other's private DNS names.")
