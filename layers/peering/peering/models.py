"""Typed values that cross the state machine: each stage's input and output.

Keys are camelCase on the wire (what the ASL's JSONPath expressions and the execution history
show) and snake_case in Python.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from .records import ACTIVE, PEERING_ID_PATTERN, Instance, Peering, Side, Subnet, VpcSide


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    def wire(self) -> dict:
        """The JSON-ready dict a handler returns."""
        return self.model_dump(mode="json", by_alias=True)


class Status(StrEnum):
    """Values of the ``peering-automation/status`` tag."""

    IN_PROGRESS = "in-progress"
    ACCEPTED = "accepted"
    ROUTED = "routed"
    VERIFIED = "verified"
    FAILED = "failed"
    REJECTED = "rejected"


class Inspection(Wire):
    """Output of the inspect stage: what was found and what to do about it."""

    decision: Literal["accept", "await", "route", "refuse", "duplicate"]
    reason: str
    peering: Peering | None = None
    opted_in: bool = False
    """Whether the peering carries the trigger tag key at all (only then do we tag it)."""


class Activation(Wire):
    state: Literal["active", "waiting"]
    attempt: int
    peering_state: str


class PlannedRoute(Wire):
    route_table_id: str
    destination: str


class ShadowedRoute(Wire):
    """A planned route whose destination overlaps an existing route with another target."""

    route_table_id: str
    destination: str
    existing_destination: str
    existing_target: str


class SidePlan(Wire):
    """What one side's route tables need: routes to create and routes already in place."""

    side: Side
    vpc_id: str
    account_id: str
    region: str
    create: list[PlannedRoute] = Field(default_factory=list)
    present: list[PlannedRoute] = Field(default_factory=list)
    skipped_tables: list[str] = Field(default_factory=list)
    shadowed: list[ShadowedRoute] = Field(default_factory=list)
    """Overlaps with other routes, planned anyway because AllowShadowing is true."""


class RoutePlan(Wire):
    peering_id: str
    requester: SidePlan
    accepter: SidePlan

    def side(self, role: Side) -> SidePlan:
        return self.requester if role == "requester" else self.accepter


class AppliedSide(Wire):
    """One chunk of one side, applied: kept in the run store (``peering.runstore``), never in the state."""

    side: Side
    created: list[PlannedRoute] = Field(default_factory=list)
    already_present: list[PlannedRoute] = Field(default_factory=list)


class SideCounts(Wire):
    """One side of a stored plan, counted: where its tables are and how many routes of each kind it holds."""

    side: Side
    vpc_id: str
    account_id: str
    region: str
    create: int = 0
    present: int = 0
    skipped_tables: int = 0
    shadowed: int = 0


class StoredPlan(Wire):
    """What PlanRoutes leaves in the state document: where the whole plan is kept (``peering.runstore``), its
    digest and its counts - never the routes themselves, so the document stays small whatever the VPCs' size."""

    peering_id: str
    bucket: str
    prefix: str
    digest: str
    """sha256 of the stored plan: Rollback refuses a stored plan that is not this one."""
    chunks: int
    chunk_size: int
    manifest: str
    """The key of the chunk list (``[ChunkRef]``): the ApplyRoutes Map reads its items from it (ItemReader)."""
    requester: SideCounts
    accepter: SideCounts

    def side(self, role: Side) -> SideCounts:
        return self.requester if role == "requester" else self.accepter

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


class ChunkRef(Wire):
    """One item of the ApplyRoutes Map: a bounded slice of one side's routes to create."""

    side: Side
    index: int
    key: str


class ChunkApplied(Wire):
    """What one ApplyRoutes invocation returns: counts only (the routes are in the run store)."""

    side: Side
    index: int
    created: int
    already_present: int


class AppliedRoutes(Wire):
    """The ApplyRoutes Map's result in the state document (``ResultSelector``): how many chunks were applied."""

    chunks: int


class ChunkFailure(Wire):
    """Why one chunk failed, in the run store: a failed Distributed Map names no item, so Report reads this."""

    error: str
    message: str


class DnsResult(Wire):
    enabled: bool
    sides: dict[str, bool] = Field(default_factory=dict)
    reason: str = ""


class ProbeTarget(Wire):
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class Flow(Wire):
    """What a run verifies: from a side's source (its probe, else its first running instance) to ``target``.

    Reachable means the request path is open and its reply path is open (``peering.analysis.analyze``).
    ``asked`` flows decide the verdict; the others (the reverse direction nobody asked for) are only
    reported, as information, when they are blocked.
    """

    source_side: Side
    target: ProbeTarget
    protocol: Literal["tcp", "icmp"] = "tcp"
    asked: bool = True
    origin: str = ""
    """Where the flow comes from, in words ('the peering-automation/probe-targets tag')."""


class ProbeResult(Wire):
    target: ProbeTarget
    reachable: bool
    latency_ms: float | None = None
    error: Literal["timeout", "refused", "unreachable", "error"] | None = None


class NetworkFacts(Wire):
    """Subnets and instances of both VPCs, read once by PrepareProbe and reused by Verify's analysis."""

    subnets: list[Subnet] = Field(default_factory=list)
    instances: list[Instance] = Field(default_factory=list)


class ProbeRound(Wire):
    """What crosses the probe loop of the state machine: the plan, then each attempt's results."""

    applicable: bool
    reason: str
    targets: list[ProbeTarget] = Field(default_factory=list)
    source_subnet_id: str | None = None
    source_security_group_ids: list[str] = Field(default_factory=list)
    attempt: int = 0
    max_attempts: int = 1
    timeout_seconds: float = 3.0
    results: list[ProbeResult] = Field(default_factory=list)
    all_reachable: bool = False
    network: NetworkFacts | None = None
    flows: list[Flow] | None = None
    """Every flow of the run (asked and for information); ``targets`` are the asked ones the probe sends."""
    source_side: Side | None = None
    """The side of the peering the probe runs in (None when it runs in neither)."""
    function_name: str | None = None
    """The probe function to invoke (the stack's own, or one found by its peering-automation/probe-vpc tag)."""
    runs: list[ProbeRound] = Field(default_factory=list)
    """One round per probe that sends flows (a probe on each side when both directions are asked): the state
    machine invokes each one's function with it, in a Map."""


class ProbeRequest(Wire):
    peering_id: str = Field(pattern=PEERING_ID_PATTERN)
    probe: ProbeRound


class PathVerdict(Wire):
    """One flow's path analysis (request and reply path), with the hop that blocks it (if any) in one sentence."""

    source: str
    destination: str
    reachable: bool
    reason: str
    hops: list[str] = Field(default_factory=list)
    asked: bool = True
    """False for a flow nobody asked for (reported only as information)."""


class Verification(Wire):
    """Output of the verify stage: the probe's results and the path analysis, and the verdict."""

    performed: bool
    reachable: bool | None = None
    reason: str
    probe_applicable: bool = False
    probe_results: list[ProbeResult] = Field(default_factory=list)
    paths: list[PathVerdict] = Field(default_factory=list)
    information: list[str] = Field(default_factory=list)
    """Sentences that never fail a run: e.g. a reverse connection nobody asked for is blocked."""


class RollbackResult(Wire):
    """Counts; the routes removed and left alone are listed in the run store (``details``)."""

    removed: int = 0
    left_alone: int = 0
    details: str = ""


class Summary(Wire):
    """The execution's output and the notification's body."""

    peering_id: str
    status: Status
    stage: str
    reason: str
    execution_arn: str | None = None
    requester: VpcSide | None = None
    accepter: VpcSide | None = None
    routes_created: int = 0
    routes_already_present: int = 0
    routes_removed: int = 0
    details: str = ""
    """Where the run's route plan and per-route results are kept (``s3://bucket/runs/<execution>/``)."""
    dns: DnsResult | None = None
    verification: Verification | None = None
    information: list[str] = Field(default_factory=list)
    """The verification's information sentences (never a failure), for the notification's reader."""
    status_tag_error: str = ""
    """Why the status tag could not be set (e.g. the peering is gone); empty when it was set."""
    lease_error: str = ""
    """Why the peering's lease could not be given back (the next trigger takes it over); empty when it was."""


class Acceptance(Wire):
    accepted_now: bool
    peering_state: str


class ErrorInfo(BaseModel):
    """What a Catch puts at ``$.error``: Step Functions' own field names."""

    model_config = ConfigDict(extra="allow")
    Error: str = "States.ALL"
    Cause: str | None = None


class WorkflowState(Wire):
    """The state document that flows through the state machine; each stage adds its result."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")

    peering_id: str = Field(pattern=PEERING_ID_PATTERN)
    execution_arn: str | None = None
    input: dict | None = None
    inspection: Inspection | None = None
    acceptance: Acceptance | None = None
    activation: Activation | None = None
    plan: StoredPlan | None = None
    routes: AppliedRoutes | None = None
    dns: DnsResult | None = None
    probe: ProbeRound | None = None
    probe_runs: list[ProbeRequest] | None = None
    """The Map's results: each probe's last round (see ProbeRound.runs)."""
    probe_error: ErrorInfo | None = None
    verification: Verification | None = None
    rollback: RollbackResult | None = None
    rollback_error: ErrorInfo | None = None
    """Rollback's own failure, kept beside (never over) the ``error`` that sent the run to Rollback."""
    error: ErrorInfo | None = None

    def _path(self) -> list[tuple[str, bool]]:
        """The stages this run goes through (names from ``peering.stages``), in order, each with whether
        it has finished (its result is in the document)."""
        from .stages import ACCEPT, FORWARD, INSPECT, WAIT_ACTIVE  # noqa: PLC0415 - stages imports this module

        decision = self.inspection.decision if self.inspection else "accept"
        if decision in ("refuse", "duplicate"):  # duplicate: another execution handles the peering
            return [(INSPECT.name, self.inspection is not None)]
        skipped = {ACCEPT} if decision != "accept" else set()
        if decision not in ("accept", "await"):
            skipped.add(WAIT_ACTIVE)
        fields = {info.alias or name: name for name, info in type(self).model_fields.items()}
        path = []
        for stage in (s for s in FORWARD if s not in skipped):
            if stage is WAIT_ACTIVE:  # finished when the peering is active, whether Accept or CheckActive saw it
                accepted_active = self.acceptance is not None and self.acceptance.peering_state == ACTIVE
                finished = accepted_active or (self.activation is not None and self.activation.state == "active")
            else:
                finished = getattr(self, fields[stage.key or ""]) is not None
            path.append((stage.name, finished))
        return path

    def stage_reached(self) -> str:
        """The last stage that finished, in workflow order ('start' when none did)."""
        done = [name for name, finished in self._path() if finished]
        return done[-1] if done else "start"

    def failed_stage(self) -> str:
        """The stage that was running when an error happened: the first one that did not finish."""
        return next((name for name, finished in self._path() if not finished), "report")


class ApplyRequest(Wire):
    """Input of one item of the ApplyRoutes Map: the stored plan's reference and one chunk of it."""

    peering_id: str = Field(pattern=PEERING_ID_PATTERN)
    plan: StoredPlan
    chunk: ChunkRef

