"""The workflow's stages: one function per state of the state machine, called by the thin handlers.

Each stage reads what it needs live, decides with the pure functions of ``plan``, and changes
things only through the adapters of ``peering.aws``. Every stage is idempotent: Step Functions may
run it again after a retry, and a second run finds its work done and does nothing more.
"""

from __future__ import annotations

import contextvars
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import plan as planning
from . import runstore
from .aws.clients import Clients
from .aws.ec2 import Ec2
from .aws.lease import LeaseTable
from .aws.network import subnets_and_instances
from .aws.notify import publish
from .aws.store import RunStore
from .config import CONSENT_TAG, EXECUTION_TAG, PROBE_TARGETS_TAG, REASON_TAG, STATUS_TAG, Settings
from .errors import AwsCallFailed, InvalidInput, PeeringError, PeeringNotActive, PeeringNotFound, PeeringNotReady
from .events import PeeringApiCallEvent, trigger_from
from .models import (
    SIDES,
    Acceptance,
    Activation,
    AppliedSide,
    ApplyRequest,
    ChunkApplied,
    DnsResult,
    ErrorInfo,
    Inspection,
    InstanceFact,
    NetworkFacts,
    Peering,
    PlannedRoute,
    ProbeRequest,
    ProbeRound,
    RollbackResult,
    Route,
    RoutePlan,
    Side,
    SideCounts,
    SidePlan,
    Status,
    StoredPlan,
    SubnetFact,
    Summary,
    Verification,
    VpcSide,
    WorkflowState,
)
from .once import claimed_elsewhere, start_once
from .probe import probe_all

MetricSink = Callable[[str, float], None]
ROUTE_WORKERS = 8
"""CreateRoute calls in flight per side: fast for hundreds of tables, well under EC2's mutation rate limits."""


def _no_metric(name: str, value: float) -> None:
    return None


class Workflow:
    """The stages, bound to the stack's settings and a way to get clients per account and region."""

    def __init__(self, settings: Settings, clients: Clients | None = None, region: str | None = None,
                 metric: MetricSink = _no_metric):
        self.settings = settings
        self.clients = clients or Clients(settings)
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        self.metric = metric

    # plumbing ----------------------------------------------------------------------------------
    def ec2(self, account_id: str | None = None, region: str | None = None) -> Ec2:
        return Ec2(self.clients.client("ec2", account_id or self.settings.stack_account_id, region or self.region))

    def sfn(self) -> Any:
        """Step Functions in the stack's own account and region."""
        return self.clients.client("stepfunctions", self.settings.stack_account_id, self.region)

    def leases(self, required: bool = True) -> LeaseTable | None:
        """The lease table (``peering.once``) in the stack's own account and region; None when the function has
        no LEASE_TABLE setting and ``required`` is false (a stage invoked outside the stack)."""
        if not self.settings.lease_table:
            if required:
                raise InvalidInput("The function has no LEASE_TABLE setting; redeploy the stack.")
            return None
        client = self.clients.client("dynamodb", self.settings.stack_account_id, self.region)
        return LeaseTable(client, self.settings.lease_table)

    def run_store(self, bucket: str | None = None) -> RunStore:
        """The run store (``peering.runstore``): the stack's RunBucket in its own account and region."""
        bucket = bucket or self.settings.run_bucket
        if not bucket:
            raise InvalidInput("The function has no RUN_BUCKET setting; redeploy the stack.")
        return RunStore(self.clients.client("s3", self.settings.stack_account_id, self.region), bucket)

    def ec2_for(self, side: VpcSide | SidePlan | SideCounts) -> Ec2:
        return self.ec2(side.account_id or None, side.region or None)

    def by_place(self, peering: Peering) -> list[tuple[Ec2, list[VpcSide]]]:
        """The two sides grouped by (account, region): one client, and one call per API, for each group."""
        groups: dict[tuple[str, str], list[VpcSide]] = {}
        for role in SIDES:
            side = peering.side(role)
            groups.setdefault((side.account_id or self.settings.stack_account_id, side.region or self.region),
                              []).append(side)
        return [(self.ec2_for(sides[0]), sides) for sides in groups.values()]

    def read_peering(self, peering_id: str) -> Peering:
        peering = self.ec2().peering(peering_id)
        if peering is None:
            raise PeeringNotFound(f"Peering {peering_id} was not found in {self.region}.")
        return peering

    def tag_status(self, peering_id: str, status: Status, execution_arn: str | None, reason: str = "",
                   peering: Peering | None = None) -> None:
        """Tag the peering in the stack's region. Tags exist only in the region that set them, and the
        IAM conditions on accept, routes and DNS read the status tag where each call is made: for a
        cross-region peering in this account, the accepter region's view is tagged too (while working)."""
        tags = {STATUS_TAG: status.value}
        if execution_arn:
            tags[EXECUTION_TAG] = execution_arn
        if reason:
            tags[REASON_TAG] = reason
        self.ec2().tag(peering_id, tags)
        accepter = peering.accepter if peering is not None else None
        if accepter is not None and accepter.account_id == self.settings.stack_account_id \
                and accepter.region and accepter.region != self.region:
            self.ec2_for(accepter).tag(peering_id, {STATUS_TAG: status.value})

    # intake: EventBridge -> executions ---------------------------------------------------------
    def start_from_event(self, event: PeeringApiCallEvent, sfn_client: Any) -> dict[str, Any]:
        trigger = trigger_from(event, self.settings.trigger_tag_key, self.settings.allowed_taggers,
                               self.settings.max_peerings_per_event)
        started, skipped = [], []
        request = {"eventName": trigger.event_name, "eventId": trigger.event_id, "eventTime": trigger.event_time}
        leases = self.leases() if trigger.peering_ids else None
        for peering_id in trigger.peering_ids:  # exactly one execution per peering: see peering.once
            result = start_once(sfn_client, leases, self.settings.state_machine_arn or "", peering_id, request)
            if result.started:
                started.append(result.execution_arn)
            else:
                skipped.append(result.wire())
        return {"started": started, "skipped": skipped, "refused": trigger.refused, "reason": trigger.reason}

    # inspect -----------------------------------------------------------------------------------
    def inspect(self, state: WorkflowState) -> Inspection:
        # first: a duplicate run reads and changes nothing
        duplicate = claimed_elsewhere(self.sfn(), self.leases(required=False), state)
        if duplicate is not None:
            return duplicate
        peering = self.read_peering(state.peering_id)
        if peering.state == "initiating-request":
            raise PeeringNotReady(f"{peering.peering_id} is still initiating-request; it will be checked again.")
        opted_in = self.settings.trigger_tag_key in peering.tags
        reason = planning.pre_read_refusal(peering, self.settings)  # tag, state, accounts: before any VPC read
        if reason is None:
            peering = self._with_cidrs(peering)
            reason = planning.refusal(peering, self.settings)  # then consent, address ranges, overlap
        if reason is None:
            reason = _probe_target_refusal(peering)
        if reason is not None:
            return Inspection(decision="refuse", reason=reason, peering=peering, opted_in=opted_in)
        decision = {"pending-acceptance": "accept", "provisioning": "await"}.get(peering.state, "route")
        inspection = Inspection(decision=decision, reason=f"{peering.peering_id} is {peering.state}.",
                                peering=peering, opted_in=opted_in)
        document = runstore.canonical({**state.model_dump(mode="json", by_alias=True, exclude_none=True),
                                       "inspection": inspection.wire()})
        runstore.guard(len(document), 2 * self.settings.max_probe_targets)  # before the first change
        self.tag_status(peering.peering_id, Status.IN_PROGRESS, state.execution_arn, peering=peering)
        return inspection

    def _with_cidrs(self, peering: Peering) -> Peering:
        sides = {}
        for ec2, group in self.by_place(peering):
            found = ec2.vpcs([side.vpc_id for side in group])
            for side in group:
                ipv4, ipv6, tags = found[side.vpc_id]
                sides[side.role] = side.model_copy(update={
                    "cidrs": ipv4, "ipv6_cidrs": ipv6, "name": tags.get("Name", ""),
                    "accept_from": planning.consent_entries(tags.get(CONSENT_TAG))})
        return peering.model_copy(update=sides)

    # accept and wait ---------------------------------------------------------------------------
    def accept(self, state: WorkflowState) -> Acceptance:
        """Accept the request Inspect found pending. Not read again: if it changed meanwhile, EC2 says so
        (InvalidStateTransition), and a retried accept that already succeeded is recognised by the adapter."""
        peering = _inspected(state)
        if peering.state in ("active", "provisioning"):
            return Acceptance(accepted_now=False, peering_state=peering.state)
        new_state = self.ec2_for(peering.accepter).accept(peering.peering_id)
        self.tag_status(peering.peering_id, Status.ACCEPTED, state.execution_arn, peering=peering)
        self.metric("PeeringsAccepted", 1)
        return Acceptance(accepted_now=True, peering_state=new_state)

    def check_active(self, state: WorkflowState) -> Activation:
        attempt = (state.activation.attempt if state.activation else 0) + 1
        peering = self.read_peering(state.peering_id)
        if peering.state == "active":
            return Activation(state="active", attempt=attempt, peering_state=peering.state)
        if peering.state not in ("pending-acceptance", "provisioning"):
            raise PeeringNotActive(f"{peering.peering_id} became {peering.state} before it was active.")
        if attempt >= self.settings.max_activation_checks:
            raise PeeringNotActive(
                f"{peering.peering_id} was still {peering.state} after {attempt} checks, so no route was added."
            )
        return Activation(state="waiting", attempt=attempt, peering_state=peering.state)

    # routes ------------------------------------------------------------------------------------
    def plan_routes(self, state: WorkflowState) -> StoredPlan:
        """Plan both sides, refuse a plan that could pass a limit (``runstore.guard``), then keep the plan in the run
        store: the state document gets its reference, digest and counts, never the routes."""
        peering = _inspected(state)
        tables = {}
        for ec2, group in self.by_place(peering):
            found = ec2.route_tables([side.vpc_id for side in group])
            for side in group:
                tables[side.role] = [t for t in found if t.vpc_id == side.vpc_id]
        plan = planning.plan_routes(peering, tables, self.settings.route_table_quota, self.settings.allow_shadowing)
        store = self.run_store()
        stored, chunks, manifest = runstore.layout(plan, store.bucket,
                                                   runstore.prefix_for(state.execution_arn, state.peering_id))
        document = runstore.canonical(state.model_dump(mode="json", by_alias=True, exclude_none=True))
        runstore.guard(len(document), 2 * self.settings.max_probe_targets, stored)
        store.put_many(chunks)
        store.put(stored.manifest, [ref.wire() for ref in manifest])
        store.put(runstore.plan_key(stored.prefix), plan)  # last: Rollback reads it; it exists once chunks do
        return stored

    def apply_chunk(self, request: ApplyRequest) -> ChunkApplied:
        """Create one chunk's planned routes (``peering.runstore``); keep what was done in the run store."""
        stored, chunk = request.plan, request.chunk
        store = self.run_store(stored.bucket)
        side_plan = store.get_model(SidePlan, chunk.key) if chunk.key.startswith(stored.prefix) else None
        if side_plan is None or side_plan.side != chunk.side:
            raise InvalidInput(f"The run store has no {chunk.side} chunk {chunk.index} of this run's plan "
                               f"({stored.location}), so no route was created from it.")
        try:
            applied = self.apply_side(request.peering_id, side_plan)
        except Exception as e:  # the Map Run's failure names no item: the chunk's own sentence is kept for Report
            message = str(e) if isinstance(e, PeeringError) else (
                f"The apply-routes stage failed unexpectedly ({type(e).__name__}: {e}).")
            store.put(runstore.failed_key(stored.prefix, chunk.side, chunk.index),
                      {"error": type(e).__name__ if isinstance(e, PeeringError) else "Unexpected", "message": message})
            raise
        store.put(runstore.applied_key(stored.prefix, chunk.side, chunk.index), applied)
        return ChunkApplied(side=chunk.side, index=chunk.index, created=len(applied.created),
                            already_present=len(applied.already_present))

    def apply_side(self, peering_id: str, side_plan: SidePlan) -> AppliedSide:
        ec2 = self.ec2_for(side_plan)
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
                self._fail_if_gone(peering_id, "its routes were being created")
                raise
        for route, made in outcomes:
            (created if made else present).append(route)
        self.metric("RoutesCreated", len(created))
        return AppliedSide(side=side_plan.side, created=created, already_present=present)

    def _fail_if_gone(self, peering_id: str, while_doing: str) -> None:
        """A NotFound mid-run means "not visible yet" only while the peering still exists: raise the
        non-retried PeeringNotActive when it was deleted, rejected or expired meanwhile."""
        current = self.ec2().peering(peering_id)
        if current is None or current.state not in ("active", "provisioning", "pending-acceptance"):
            state = current.state if current is not None else "deleted"
            raise PeeringNotActive(f"{peering_id} became {state} while {while_doing}.")

    def rollback(self, state: WorkflowState) -> RollbackResult:
        """Remove the routes this execution planned to create and that now point at its peering.

        The plan (read from the run store, checked against the digest PlanRoutes left in the state document)
        was checked against the tables before any change: a planned destination had no route then, so a route
        there with this peering as target is this execution's own. Routes already present before the run, and
        routes with any other target, are never touched. Each side's tables are read once.
        """
        if state.plan is None:
            return RollbackResult()
        stored = state.plan
        store = self.run_store(stored.bucket)
        plan = store.get_model(RoutePlan, runstore.plan_key(stored.prefix))
        if plan is None or runstore.digest(plan) != stored.digest:
            raise AwsCallFailed(f"The route plan in {stored.location} is missing or is not the one this run made, "
                                "so no route was removed.")
        removed: list[PlannedRoute] = []
        left: list[PlannedRoute] = []
        for role in SIDES:
            side_plan = plan.side(role)
            if not side_plan.create:
                continue
            ec2 = self.ec2_for(side_plan)
            now: dict[tuple[str, str], Route] = {(t.route_table_id, r.destination): r
                                                  for t in ec2.route_tables([side_plan.vpc_id]) for r in t.routes}
            mine = [r for r in side_plan.create
                    if (found := now.get((r.route_table_id, r.destination))) is not None
                    and found.target == state.peering_id]
            with ThreadPoolExecutor(max_workers=ROUTE_WORKERS) as pool:
                futures = [pool.submit(contextvars.copy_context().run, ec2.delete_route, r.route_table_id,
                                       r.destination) for r in mine]
                for future in futures:
                    future.result()
            removed += mine
            taken = set(map(_key, mine))
            left += [r for r in side_plan.create if _key(r) not in taken]
        details = runstore.rollback_key(stored.prefix)
        store.put(details, {"removed": [r.wire() for r in removed], "leftAlone": [r.wire() for r in left]})
        return RollbackResult(removed=len(removed), left_alone=len(left), details=f"s3://{stored.bucket}/{details}")

    # dns and verify ----------------------------------------------------------------------------
    def configure_dns(self, state: WorkflowState) -> DnsResult:
        if not self.settings.enable_dns_resolution:
            return DnsResult(enabled=False, reason="EnableDnsResolution is false.")
        peering = _inspected(state)
        done: dict[str, bool] = {}
        for ec2, group in self.by_place(peering):  # each owner sets its own side, in its own region
            ec2.allow_remote_dns(peering.peering_id, *(side.role for side in group))
            done.update({side.role: True for side in group})
        return DnsResult(enabled=True, sides=done, reason="Each side resolves the other's private DNS names.")

    def prepare_probe(self, state: WorkflowState) -> ProbeRound:
        """The run's flows (see ``peering.flows``), and which of them each probe sends from its side: the
        stack's own probe (ProbeSubnetIds) and, for a side without it, the probe tagged
        ``peering-automation/probe-vpc`` for that side's VPC. A probe that does not apply is said, never
        silently passed."""
        from .flows import plan_flows  # noqa: PLC0415 - the analysis is imported by the stages that use it

        peering = _inspected(state)
        settings = self.settings
        facts = self._network_facts(peering)  # read once here, reused by Verify's analysis
        flows = plan_flows(peering, facts, settings.default_probe_port, settings.max_probe_targets)
        base = {"max_attempts": settings.probe_attempts, "timeout_seconds": settings.probe_timeout_seconds}
        wanted = [side for side in SIDES if any(f.asked and f.protocol == "tcp" and f.source_side == side
                                                for f in flows)]
        placements: dict[Side, tuple[str | None, str, tuple[str, ...]]] = {}  # side -> (function, subnet, groups)
        notes: list[str] = []
        if settings.probe_subnet_ids:
            subnet = settings.probe_subnet_ids[0]
            probe_vpc = next((s.vpc_id for s in facts.subnets if s.subnet_id == subnet), None)
            side = next((role for role in SIDES if peering.side(role).vpc_id == probe_vpc), None)
            if side is None:
                probe_vpc = self.ec2().subnet_vpc(subnet)  # only to name it in the reason
                notes.append(f"The probe runs in {probe_vpc}, which is neither side of {peering.peering_id}, so the "
                             "live probe does not apply.")
            else:
                placements[side] = (settings.probe_function_arn, subnet, settings.probe_security_group_ids)
        else:
            notes.append("No probe is configured (ProbeSubnetIds is empty).")
        for side, found in self._tagged_probes(peering, [s for s in wanted if s not in placements]).items():
            inside = [s for s in found.subnet_ids if (s, peering.side(side).vpc_id) in
                      {(f.subnet_id, f.vpc_id) for f in facts.subnets}]
            if inside:  # a tag that names the wrong VPC is not trusted
                placements[side] = (found.function_arn, inside[0], found.security_group_ids)
        runs = []
        for side in SIDES:
            mine = [f for f in flows if f.asked and f.source_side == side and f.protocol == "tcp"]
            if side not in placements or not mine:
                continue
            function, subnet, groups = placements[side]
            runs.append(ProbeRound(applicable=True, reason=f"{len(mine)} target(s) from {mine[0].origin}.",
                                   targets=[f.target for f in mine], source_subnet_id=subnet, source_side=side,
                                   source_security_group_ids=list(groups), function_name=function, **base))
        common = {**base, "network": self._keep_network(state, facts), "flows": flows}
        if not runs:
            if placements and not notes:
                side = next(iter(placements))
                asked = [f for f in flows if f.asked]
                why = (f"the flows asked start in the other VPC ({asked[0].origin})" if asked else
                       f"there is nothing to probe in {peering.peer_of(side).vpc_id} "
                       f"(the running instances of {peering.peer_of(side).vpc_id})")
                notes.append(f"The probe runs in {peering.side(side).vpc_id}, but {why}.")
            return ProbeRound(applicable=False, reason=" ".join(notes) or "No probe applies.", **common)
        first = runs[0]
        reason = " ".join(f"{r.reason[:-1]} (probe in {peering.side(r.source_side).vpc_id})." for r in runs
                          if r.source_side) if len(runs) > 1 else first.reason
        return ProbeRound(applicable=True, reason=reason, targets=[t for r in runs for t in r.targets],
                          source_subnet_id=first.source_subnet_id, source_side=first.source_side,
                          source_security_group_ids=first.source_security_group_ids,
                          function_name=first.function_name, runs=runs, **common)

    def _keep_network(self, state: WorkflowState, facts: NetworkFacts) -> NetworkFacts | None:
        """Subnets and instances grow with the VPCs: kept in the run store for Verify (None in the state document).
        Without a stored plan (a stage invoked outside a run) they travel in the state as before."""
        if state.plan is None:
            return facts
        self.run_store(state.plan.bucket).put(runstore.network_key(state.plan.prefix), facts)
        return None

    def _kept_network(self, state: WorkflowState) -> NetworkFacts | None:
        probe = state.probe
        if probe is not None and probe.network is not None:
            return probe.network
        if state.plan is None or probe is None:
            return None
        return self.run_store(state.plan.bucket).get_model(NetworkFacts, runstore.network_key(state.plan.prefix))

    def _tagged_probes(self, peering: Peering, sides: list[Side]) -> dict[Side, Any]:
        """The probes tagged for these sides' VPCs: only sides in the stack's own account and region (a probe
        elsewhere could not be invoked by this state machine)."""
        from .aws.probes import tagged_probes  # noqa: PLC0415

        account, region = self.settings.stack_account_id, self.region
        here = (account, region)
        local = {side: peering.side(side).vpc_id for side in sides
                 if (peering.side(side).account_id or account, peering.side(side).region or region) == here}
        if not local:
            return {}
        found = tagged_probes(self.clients.client("resourcegroupstaggingapi", account, region),
                              self.clients.client("lambda", account, region), list(local.values()))
        return {side: found[vpc] for side, vpc in local.items() if vpc in found}

    def _network_facts(self, peering: Peering) -> NetworkFacts:
        subnets: list[SubnetFact] = []
        instances: list[InstanceFact] = []
        for ec2, group in self.by_place(peering):
            found_subnets, raw_instances = subnets_and_instances(ec2.client, [side.vpc_id for side in group])
            subnets += [SubnetFact(subnet_id=s.subnet_id, vpc_id=s.vpc_id, cidr=s.cidr, ipv6_cidr=s.ipv6_cidr)
                        for s in found_subnets]
            instances += [InstanceFact(instance_id=i["InstanceId"], vpc_id=i["VpcId"],
                                       state=(i.get("State") or {}).get("Name", "unknown"),
                                       private_ip=i.get("PrivateIpAddress")) for i in raw_instances]
        return NetworkFacts(subnets=subnets, instances=instances)

    def run_probe(self, request: ProbeRequest) -> ProbeRequest:
        """One probe attempt (runs inside the VPC; makes no AWS call); the request back with its results."""
        probe = request.probe
        if not probe.applicable:
            return request
        results = probe_all(probe.targets, probe.timeout_seconds)
        return request.model_copy(update={"probe": probe.model_copy(update={
            "attempt": probe.attempt + 1,
            "results": results,
            "all_reachable": bool(results) and all(r.reachable for r in results),
        })})

    def verify(self, state: WorkflowState) -> Verification:
        """The verdict over the run's flows (``peering.flows.judge``): the probe's results where it ran,
        explained by the path analysis (request and reply path) of every flow."""
        from .aws.network import read_snapshot  # noqa: PLC0415
        from .flows import judge, plan_flows  # noqa: PLC0415

        peering = _inspected(state)
        probe = state.probe
        sources = [(ec2.client, [side.vpc_id for side in group]) for ec2, group in self.by_place(peering)]
        snapshot = read_snapshot(sources, [peering.peering_id], _known(peering, self._kept_network(state)))
        flows = probe.flows if probe is not None and probe.flows is not None else plan_flows(
            peering, _facts_of(snapshot), self.settings.default_probe_port, self.settings.max_probe_targets)
        failure = failure_sentence(state.probe_error) if state.probe_error is not None else None
        runs = [r.probe for r in state.probe_runs or []]
        return judge(snapshot, peering, flows, probe, failure, runs)

    # report ------------------------------------------------------------------------------------
    def report(self, state: WorkflowState) -> Summary:
        """Notify, count, then tag: the status tag is the last thing a run changes, so that it never says
        ``verified`` (or ``routed``) when something after it could still fail the execution. Releasing the lease
        after it cannot fail the run (a lease whose execution ended is taken over: ``peering.once``)."""
        state = self._with_chunk_failure(state)
        summary = summarize(state, self._route_counts(state))
        if self.settings.topic_arn:
            sns = self.clients.client("sns", self.settings.stack_account_id, self.region)
            publish(sns, self.settings.topic_arn, f"Peering {state.peering_id}: {summary.status.value}",
                    summary.wire())
        self.metric(f"Peerings{summary.status.value.title().replace('-', '')}", 1)
        peering_exists = state.inspection is not None and state.inspection.peering is not None
        opted_in = state.inspection.opted_in if state.inspection else True
        if opted_in and (peering_exists or state.error is not None):
            try:
                self.tag_status(state.peering_id, summary.status, state.execution_arn,
                                summary.reason if summary.status in (Status.FAILED, Status.REJECTED) else "")
                if summary.status in (Status.VERIFIED, Status.ROUTED) and _had_reason(state):
                    self.ec2().untag(state.peering_id, [REASON_TAG])  # an earlier failed run's reason is not true now
            except PeeringError as e:  # the peering may be gone: the run's outcome stands, the summary says why
                summary = summary.model_copy(update={"status_tag_error": str(e)})
        try:
            self.release_lease(state)
        except PeeringError as e:
            summary = summary.model_copy(update={"lease_error": str(e)})
        return summary

    def _with_chunk_failure(self, state: WorkflowState) -> WorkflowState:
        """A failed ApplyRoutes Map says only that an item failed (``States.ExceedToleratedFailureThreshold``); the
        failed chunk's own sentence is in the run store: the report gives that one."""
        stored, error = state.plan, state.error
        if stored is None or error is None or state.routes is not None or not error.Error.startswith("States."):
            return state
        store = self.run_store(stored.bucket)
        for role in SIDES:
            for index in range(-(-stored.side(role).create // stored.chunk_size)):
                failed = store.get(runstore.failed_key(stored.prefix, role, index))
                if failed and store.get(runstore.applied_key(stored.prefix, role, index)) is None:
                    cause = json.dumps({"errorMessage": failed["message"], "errorType": failed["error"]})
                    return state.model_copy(update={"error": ErrorInfo(Error=failed["error"], Cause=cause)})
        return state

    def _route_counts(self, state: WorkflowState) -> tuple[int, int]:
        """(created, already there) over the chunks that were applied, read from the run store."""
        stored = state.plan
        if stored is None:
            return 0, 0
        keys = [runstore.applied_key(stored.prefix, role, index) for role in SIDES
                for index in range(-(-stored.side(role).create // stored.chunk_size))]
        applied = [a for a in self.run_store(stored.bucket).get_models(AppliedSide, keys) if a is not None]
        return (sum(len(a.created) for a in applied),
                sum(stored.side(role).present for role in SIDES) + sum(len(a.already_present) for a in applied))

    def release_lease(self, state: WorkflowState) -> None:
        """Give the peering's lease back (``peering.once``) if this execution still holds it: the run has
        reported, whichever way it ended. A no-op outside Step Functions or without a lease table."""
        leases = self.leases(required=False)
        if leases is not None and state.execution_arn and ":execution:" in state.execution_arn:
            leases.release(state.peering_id, execution_name=state.execution_arn.rsplit(":", 1)[-1])


def _probe_target_refusal(peering: Peering) -> str | None:
    """Probe targets named by the peering's tag must lie inside one of its two VPCs (the VPC-attached probe
    is never aimed anywhere else); a malformed tag is refused here too, before anything changes."""
    from .flows import tagged_targets  # noqa: PLC0415 - the analysis is imported by the stages that use it

    tagged = peering.tags.get(PROBE_TARGETS_TAG, "").strip()
    if not tagged:
        return None
    try:
        hosts = [t.host for _, t in tagged_targets(tagged, 10_000)]  # host:port and icmp:host items
    except PeeringError as e:
        return _sentence(f"The {PROBE_TARGETS_TAG} tag is not usable: {str(e).rstrip('.')}")
    bad = planning.targets_outside(hosts, peering)
    if bad:
        return (f"The {PROBE_TARGETS_TAG} tag names {', '.join(bad)}, outside both VPCs of {peering.peering_id}; "
                "the probe is only aimed inside the peered VPCs, so nothing was changed.")
    return None


def _key(route: PlannedRoute) -> tuple[str, str]:
    return route.route_table_id, route.destination


def _inspected(state: WorkflowState) -> Peering:
    if state.inspection is None or state.inspection.peering is None:
        raise PeeringNotActive(f"{state.peering_id} was not inspected before this stage; the run is incomplete.")
    return state.inspection.peering


def _had_reason(state: WorkflowState) -> bool:
    """Whether the peering carried a reason tag when Inspect read it (left by an earlier failed run)."""
    peering = state.inspection.peering if state.inspection else None
    return peering is not None and REASON_TAG in peering.tags


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith(".") else f"{text}."


def _known(peering: Peering, facts: NetworkFacts | None) -> Any:
    """What this run already knows for the analysis: the VPCs' blocks and names (Inspect), the peering
    (active: the run got past the activation wait), and subnets and instances when PrepareProbe read them."""
    from .analysis import PeeringInfo, Subnet  # noqa: PLC0415 - imported with the analysis, by Verify only
    from .aws.network import Known  # noqa: PLC0415

    sides = (peering.requester, peering.accepter)
    info = PeeringInfo(peering_id=peering.peering_id, state="active", requester_vpc=peering.requester.vpc_id,
                       accepter_vpc=peering.accepter.vpc_id, requester_region=peering.requester.region,
                       accepter_region=peering.accepter.region)
    return Known(
        vpc_names={s.vpc_id: s.name for s in sides},
        vpc_cidrs={s.vpc_id: tuple(s.all_cidrs) for s in sides},
        peerings={peering.peering_id: info},
        subnets=tuple(Subnet(s.subnet_id, s.vpc_id, s.cidr, s.ipv6_cidr) for s in facts.subnets) if facts else None,
        instance_states={i.instance_id: i.state for i in facts.instances} if facts else None,
    )


def _facts_of(snapshot: Any) -> NetworkFacts:
    """Subnets and instances as PrepareProbe records them, from a snapshot (a state without them)."""
    return NetworkFacts(
        subnets=[SubnetFact(subnet_id=s.subnet_id, vpc_id=s.vpc_id, cidr=s.cidr, ipv6_cidr=s.ipv6_cidr)
                 for s in snapshot.subnets.values()],
        instances=[InstanceFact(instance_id=i.instance_id, vpc_id=i.vpc_id, state=i.state,
                                private_ip=i.ips[0] if i.ips else None)
                   for i in snapshot.interfaces if i.instance_id])


def failure_sentence(error: Any) -> str:
    """One sentence from a Catch's ``{Error, Cause}``: the Lambda's errorMessage when there is one."""
    cause = error.Cause or ""
    try:
        parsed = json.loads(cause)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        return str(parsed["errorMessage"]).strip()
    if error.Error == "States.Timeout":
        return "A stage timed out."
    return cause.strip() or f"The workflow failed with {error.Error}."


def summarize(state: WorkflowState, routes: tuple[int, int] = (0, 0)) -> Summary:
    """The outcome of a run from its state document and its route counts (created, already there) (pure)."""
    created, present = routes
    peering = state.inspection.peering if state.inspection else None
    common: dict[str, Any] = {
        "peering_id": state.peering_id,
        "execution_arn": state.execution_arn,
        "requester": peering.requester if peering else None,
        "accepter": peering.accepter if peering else None,
        "routes_created": created,
        "routes_already_present": present,
        "routes_removed": state.rollback.removed if state.rollback else 0,
        "details": state.plan.location if state.plan else "",
        "dns": state.dns,
        "verification": state.verification,
        "information": state.verification.information if state.verification else [],
    }
    if state.error is not None or state.rollback_error is not None:
        reason = failure_sentence(state.error) if state.error is not None else "The run failed."
        if state.rollback_error is not None:
            reason = (f"{reason.rstrip('.')}. The rollback failed too "
                      f"({failure_sentence(state.rollback_error).rstrip('.')}): routes this run created may remain.")
        return Summary(status=Status.FAILED, stage=state.failed_stage(), reason=reason, **common)
    inspection = state.inspection
    if inspection is not None and inspection.decision == "refuse":
        return Summary(status=Status.REJECTED, stage="inspect", reason=inspection.reason, **common)
    verification = state.verification
    if verification is not None and verification.performed:
        status = Status.VERIFIED if verification.reachable else Status.FAILED
        return Summary(status=status, stage="verify", reason=verification.reason, **common)
    total = created + present
    reason = f"Accepted and routed: {total} route(s) point at {state.peering_id}, {created} added by this run."
    return Summary(status=Status.ROUTED, stage=state.stage_reached(), reason=reason, **common)
