"""Routes and DNS: plan each side's routes, create them, remove them again on rollback; allow remote DNS."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .. import plan as planning
from .. import runstore
from ..deps import Deps
from ..errors import AwsCallFailed, InvalidInput, PeeringError, PeeringNotActive, PeeringNotFound
from ..models import (
    AppliedSide,
    ApplyRequest,
    ChunkApplied,
    ChunkFailure,
    DnsResult,
    PlannedRoute,
    RollbackResult,
    RoutePlan,
    SidePlan,
    StoredPlan,
    WorkflowState,
)
from ..records import ACTIONABLE_STATES, SIDES, Route
from .common import inspected

ROUTE_WORKERS = 8
"""CreateRoute calls in flight per side: fast for hundreds of tables, well under EC2's mutation rate limits."""


def plan_routes(deps: Deps, state: WorkflowState) -> StoredPlan:
    """Plan both sides, refuse a plan that could pass a limit (``runstore.guard``), then keep the plan in the run
    store: the state document gets its reference, digest and counts, never the routes."""
    peering = inspected(state)
    tables = {}
    for ec2, group in deps.by_place(peering):
        found = ec2.route_tables([side.vpc_id for side in group])
        for side in group:
            tables[side.role] = [t for t in found if t.vpc_id == side.vpc_id]
    plan = planning.plan_routes(peering, tables, deps.settings.route_table_quota, deps.settings.allow_shadowing)
    store = deps.run_store()
    stored, chunks, manifest = runstore.layout(plan, store.bucket,
                                               runstore.prefix_for(state.execution_arn, state.peering_id))
    document = runstore.canonical(state.model_dump(mode="json", by_alias=True, exclude_none=True))
    runstore.guard(len(document), 2 * deps.settings.max_probe_targets, stored)
    store.put_many(chunks)
    store.put(stored.manifest, [ref.wire() for ref in manifest])
    store.put(runstore.plan_key(stored.prefix), plan)  # last: Rollback reads it; it exists once chunks do
    return stored


def apply_chunk(deps: Deps, request: ApplyRequest) -> ChunkApplied:
    """Create one chunk's planned routes (``peering.runstore``); keep what was done in the run store."""
    stored, chunk = request.plan, request.chunk
    store = deps.run_store(stored.bucket)
    side_plan = store.get(SidePlan, chunk.key) if chunk.key.startswith(stored.prefix) else None
    if side_plan is None or side_plan.side != chunk.side:
        raise InvalidInput(f"The run store has no {chunk.side} chunk {chunk.index} of this run's plan "
                           f"({stored.location}), so no route was created from it.")
    try:
        applied = apply_side(deps, request.peering_id, side_plan)
    except Exception as e:  # the Map Run's failure names no item: the chunk's own sentence is kept for Report
        known = isinstance(e, PeeringError)
        message = str(e) if known else f"The apply-routes stage failed unexpectedly ({type(e).__name__}: {e})."
        store.put(runstore.failed_key(stored.prefix, chunk.side, chunk.index),
                  ChunkFailure(error=type(e).__name__ if known else "Unexpected", message=message))
        raise
    store.put(runstore.applied_key(stored.prefix, chunk.side, chunk.index), applied)
    return ChunkApplied(side=chunk.side, index=chunk.index, created=len(applied.created),
                        already_present=len(applied.already_present))


def apply_side(deps: Deps, peering_id: str, side_plan: SidePlan) -> AppliedSide:
    ec2 = deps.ec2_for(side_plan)
    created: list[PlannedRoute] = []
    present = list(side_plan.present)
    try:
        outcomes = _each_route(lambda r: (r, ec2.create_route(r.route_table_id, r.destination, peering_id)),
                               side_plan.create)
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

    The plan (read from the run store, checked against the digest PlanRoutes left in the state document)
    was checked against the tables before any change: a planned destination had no route then, so a route
    there with this peering as target is this execution's own. Routes already present before the run, and
    routes with any other target, are never touched. Each side's tables are read once, and the routes are
    deleted by a bounded pool, as they were created.
    """
    if state.plan is None:
        return RollbackResult()
    stored = state.plan
    store = deps.run_store(stored.bucket)
    plan = store.get(RoutePlan, runstore.plan_key(stored.prefix))
    if plan is None or runstore.digest(plan) != stored.digest:
        raise AwsCallFailed(f"The route plan in {stored.location} is missing or is not the one this run made, "
                            "so no route was removed.")
    removed: list[PlannedRoute] = []
    left: list[PlannedRoute] = []
    for role in SIDES:
        side_plan = plan.side(role)
        if not side_plan.create:
            continue
        ec2 = deps.ec2_for(side_plan)
        now: dict[tuple[str, str], Route] = {(t.route_table_id, r.destination): r
                                             for t in ec2.route_tables([side_plan.vpc_id]) for r in t.routes}
        mine = [r for r in side_plan.create
                if (found := now.get(_key(r))) is not None and found.target == state.peering_id]
        _each_route(lambda r, ec2=ec2: ec2.delete_route(r.route_table_id, r.destination), mine)
        removed += mine
        taken = set(map(_key, mine))
        left += [r for r in side_plan.create if _key(r) not in taken]
    details = runstore.rollback_key(stored.prefix)
    store.put(details, {"removed": [r.wire() for r in removed], "leftAlone": [r.wire() for r in left]})
    return RollbackResult(removed=len(removed), left_alone=len(left), details=f"s3://{stored.bucket}/{details}")


def _each_route[T](call: Callable[[PlannedRoute], T], routes: list[PlannedRoute]) -> list[T]:
    """``call`` on each route, concurrently in a bounded pool (EC2 has no batch CreateRoute or DeleteRoute;
    botocore backs off on throttling); the results in the routes' order, the first error raised. Each worker
    runs in a copy of this context, so context variables (e.g. tracing) follow the call."""
    with ThreadPoolExecutor(max_workers=ROUTE_WORKERS) as pool:
        futures = [pool.submit(contextvars.copy_context().run, call, route) for route in routes]
        return [future.result() for future in futures]


def _key(route: PlannedRoute) -> tuple[str, str]:
    return route.route_table_id, route.destination


def configure_dns(deps: Deps, state: WorkflowState) -> DnsResult:
    if not deps.settings.enable_dns_resolution:
        return DnsResult(enabled=False, reason="EnableDnsResolution is false.")
    peering = inspected(state)
    done: dict[str, bool] = {}
    for ec2, group in deps.by_place(peering):  # each owner sets its own side, in its own region
        ec2.allow_remote_dns(peering.peering_id, *(side.role for side in group))
        done.update({side.role: True for side in group})
    return DnsResult(enabled=True, sides=done, reason="Each side resolves the other's private DNS names.")
