"""One execution as values: its row, its stage timeline and its outcome, read with the layer's models.

Pure: ``describe_execution`` + history events in, typed values out. Every stage's result is
validated with the model ``peering.stages`` names for it, every state document with
``peering.models.WorkflowState`` and the execution's output with ``Summary``; a result of another
shape raises :class:`Unreadable` (one sentence naming the state and the field) instead of being
shown as blanks. The values are pydantic models, so ``model_dump(mode="json", by_alias=True)`` is
the ``--json`` output and what a web page can fetch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, SerializeAsAny, ValidationError, computed_field
from pydantic.alias_generators import to_camel

from peering import stages
from peering.models import (
    DnsResult,
    ErrorInfo,
    Summary,
    Verification,
    VpcSide,
    Wire,
    WorkflowState,
)
from peering.records import PEERING_ID

from . import notes
from .history import RawAttempt, Unreadable, Visit, as_datetime, details, execution_end, parse_json, walk

Moment = Annotated[datetime, PlainSerializer(lambda moment: moment.isoformat(), return_type=str)]
Seconds = Annotated[float | None, PlainSerializer(lambda s: None if s is None else round(s, 3),
                                                  return_type=float | None)]


class View(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    def wire(self) -> dict:
        return self.model_dump(mode="json", by_alias=True)


class VpcRef(View):
    """One side of the peering as a row shows it."""

    vpc_id: str
    account_id: str
    region: str

    @classmethod
    def of(cls, side: VpcSide | None) -> VpcRef | None:
        return None if side is None else cls(vpc_id=side.vpc_id, account_id=side.account_id, region=side.region)

    def __str__(self) -> str:
        return f"{self.vpc_id} ({self.account_id}, {self.region})"


class ExecutionRow(View):
    """One execution as ``list`` shows it."""

    peering_id: str
    requester: VpcRef | None
    accepter: VpcRef | None
    status: str
    """The Summary's status (routed, verified, failed, rejected), else Step Functions' own status."""
    stage: str
    """The stage reached (a ``peering.stages`` name), or ``start``."""
    start_date: Moment
    duration_seconds: Seconds
    execution_arn: str
    execution_status: str
    """Step Functions' own status: SUCCEEDED, FAILED, RUNNING, ..."""


class Attempt(View):
    """One invocation of a task state's Lambda (several when the state machine retried)."""

    error: str | None = None
    message: str | None = None
    """The error as one sentence, None for a successful attempt."""

    @property
    def failed(self) -> bool:
        return self.error is not None


class TimelineEntry(View):
    """One state entered (and usually exited) during the run."""

    state: str
    kind: str = Field(alias="type")
    """Task, Pass, Choice, Wait, Parallel, Fail, ..."""
    depth: int
    entered_at: Moment
    exited_at: Moment | None
    result: str
    """ok, caught (a task failed and a Catch moved on), failed, or running."""
    attempts: list[Attempt] = Field(default_factory=list)
    note: str = ""
    """What the state produced, in a few words."""
    stage: str | None = None
    """The ``peering.stages`` name of a Task state's function."""
    stage_result: SerializeAsAny[Wire] | None = None
    """A Task state's result, as the stage's own model (``stages.<row>.result``)."""
    input: Any = Field(default=None, exclude=True)
    output: Any = Field(default=None, exclude=True)
    """The state's input and output documents, as Step Functions recorded them (not in ``--json``)."""

    @computed_field
    @property
    def duration_seconds(self) -> Seconds:
        return (self.exited_at - self.entered_at).total_seconds() if self.exited_at else None

    @computed_field
    @property
    def retries(self) -> int:
        return max(0, len(self.attempts) - 1)

    @property
    def error(self) -> Attempt | None:
        """The last attempt when it failed."""
        return self.attempts[-1] if self.attempts and self.attempts[-1].failed else None


class RouteChange(View):
    route_table_id: str
    destination: str
    target: str

    def __str__(self) -> str:
        return f"{self.route_table_id} -> {self.destination} -> {self.target}"


class Outcome(View):
    """What the run did, and why it ended the way it did."""

    status: str
    stage: str
    reason: str
    """The Summary's one-sentence reason ('' when there is no Summary yet)."""
    error: str | None = None
    cause: str | None = None
    """For a failed run: why, as one sentence."""
    routes_created: int = 0
    routes_already_present: int = 0
    routes_removed: int = 0
    details: str = ""
    """Where the run store lists every route planned, created and removed (``s3://bucket/runs/<execution>/``)."""
    rollback_ran: bool = False
    dns: DnsResult | None = None
    verification: Verification | None = None
    """The verdict, with one path per flow (``paths``: source, destination, reachable, hops)."""


class Execution(ExecutionRow):
    """Everything ``show`` prints: the row, the timeline, the outcome."""

    timeline: list[TimelineEntry] = Field(default_factory=list)
    outcome: Outcome | None = None

    @property
    def path(self) -> list[str]:
        """The top-level states the run went through, in order (the path to colour on the state machine's graph)."""
        return [entry.state for entry in self.timeline if entry.depth == 0]

    @property
    def row(self) -> ExecutionRow:
        return ExecutionRow.model_validate(self.model_dump(include=set(ExecutionRow.model_fields)))


# -- reading with the layer's models --------------------------------------------------------------
def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "the value"
    return f"{where}: {first.get('msg', 'invalid')}"


def unknown_keys(value: Any, known: Any, where: str = "") -> list[str]:
    """Keys of ``value`` (recursively) that ``known`` - the model's own dump of it - does not have:
    what validation ignored, e.g. a field renamed by another version."""
    if isinstance(value, dict) and isinstance(known, dict):
        return [found for key, item in value.items() for found in (
            unknown_keys(item, known[key], f"{where}{key}.") if key in known else [f"{where}{key}"])]
    if isinstance(value, list) and isinstance(known, list) and len(value) == len(known):
        return [found for i, (a, b) in enumerate(zip(value, known, strict=True))
                for found in unknown_keys(a, b, f"{where}{i}.")]
    return []


def _validate[M: BaseModel](model: type[M], value: Any, what: str, *, exact: bool = True) -> M:
    """``value`` as ``model``; with ``exact``, a key the model does not know is refused too (pydantic
    would ignore it, so a renamed optional field would read as its default)."""
    try:
        parsed = model.model_validate(value)
    except ValidationError as e:
        problem = _first_problem(e)
    else:
        unknown = unknown_keys(value, parsed.model_dump(mode="json", by_alias=True)) if exact else []
        if not unknown:
            return parsed
        problem = f"unknown field {', '.join(unknown[:3])}"
    raise Unreadable(f"{what} does not match peering.models.{model.__name__} ({problem}); "
                     "this version of peering cannot read it.")


def is_workflow_document(value: Any) -> bool:
    """The state document that flows between top-level states (Init builds it), as opposed to a
    Parallel branch's input or a Lambda's own result."""
    return isinstance(value, dict) and {"peeringId", "input", "executionArn"} <= value.keys()


def sentence(error: str | None, cause: str | None) -> str:
    """An error and its cause as one line: the layer's own ``failure_sentence`` (the Lambda's
    errorMessage when there is one), whitespace collapsed."""
    from peering.workflow.report import failure_sentence  # noqa: PLC0415 - the stages pull in boto3

    return notes.one_line(failure_sentence(ErrorInfo(Error=error or "States.ALL", Cause=cause)))


def _output(describe: dict) -> WorkflowState | Summary | None:
    """The execution's output: the Summary (Done), or the whole document (AlreadyHandled)."""
    output = parse_json(describe.get("output"))
    if output is None:
        return None
    if is_workflow_document(output):
        return _validate(WorkflowState, output, "The execution's output", exact=False)
    return _validate(Summary, output, "The execution's output")


def summary_of(describe: dict) -> Summary | None:
    output = _output(describe)
    return output if isinstance(output, Summary) else None


def needs_history(describe: dict) -> bool:
    """Whether ``list`` must read the history for this row: only when there is no Summary output."""
    return summary_of(describe) is None


def _latest_document(visits: list[Visit]) -> dict | None:
    """The newest workflow state document (output, else input, of a top-level state)."""
    for visit in reversed(visits):
        for value in (visit.output, visit.input):
            if is_workflow_document(value):
                return value
    return None


def _latest(visits: list[Visit]) -> tuple[WorkflowState | None, Summary | None]:
    """The newest state document, and the report it carries (Report/ReportFailure's result)."""
    document = _latest_document(visits)
    if document is None:
        return None, None
    state = _validate(WorkflowState, document, "The workflow's state document", exact=False)
    report = document.get("report")
    return state, _validate(Summary, report, "The report in the state document") if report is not None else None


def _peering_id_of(describe: dict) -> str:
    started_with = parse_json(describe.get("input"))
    if isinstance(started_with, dict) and isinstance(started_with.get("peeringId"), str):
        return started_with["peeringId"]
    name = describe.get("name") or describe.get("executionArn", "").rsplit(":", 1)[-1]
    candidate = "-".join(name.split("-")[:2])  # execution names are <pcx-id>-<hash of the trigger>
    return candidate if PEERING_ID.match(candidate) else "?"


def row_from(describe: dict, events: list[dict] | None = None, now: datetime | None = None) -> ExecutionRow:
    """One ``list`` row from ``describe_execution`` and, when the run has no Summary output, (the
    newest part of) its history."""
    return _row(describe, walk(events or []), now)


def _row(describe: dict, visits: list[Visit], now: datetime | None) -> ExecutionRow:
    execution_status = describe.get("status", "UNKNOWN")
    start = as_datetime(describe["startDate"])
    stop = as_datetime(describe["stopDate"]) if describe.get("stopDate") else None
    end = (stop or now or datetime.now(UTC)) if execution_status == "RUNNING" else stop
    state, reported = _latest(visits)
    summary = summary_of(describe) or reported
    peering = state.inspection.peering if state and state.inspection else None
    if summary:
        status, stage = str(summary.status), summary.stage
    else:
        status = "failed" if execution_status == "FAILED" else execution_status
        stage = state.stage_reached() if state else "start"
    return ExecutionRow(
        peering_id=summary.peering_id if summary else state.peering_id if state else _peering_id_of(describe),
        requester=VpcRef.of(summary.requester if summary and summary.requester else peering and peering.requester),
        accepter=VpcRef.of(summary.accepter if summary and summary.accepter else peering and peering.accepter),
        status=status,
        stage=stage,
        start_date=start,
        duration_seconds=(end - start).total_seconds() if end else None,
        execution_arn=describe["executionArn"],
        execution_status=execution_status,
    )


# -- the timeline ----------------------------------------------------------------------------------
def _attempt(raw: RawAttempt) -> Attempt:
    if raw.error is None:
        return Attempt()
    return Attempt(error=raw.error, message=sentence(raw.error, raw.cause))


def _stage_result(visit: Visit) -> tuple[stages.Stage | None, Wire | None]:
    stage = stages.for_state(visit.name) if visit.kind == "Task" else None
    if stage is None or stage.result is None or visit.task_result is None:
        return stage, None
    return stage, _validate(stage.result, visit.task_result, f"The result of {visit.name}")


def _note(visit: Visit, result: Wire | None, failed: bool) -> str:
    if visit.end is not None and visit.kind == "Fail":  # the cause itself is printed once, below the timeline
        return visit.end[0]
    if visit.kind == "Choice":
        return f"-> {visit.next_state}" if visit.next_state else ""
    if visit.kind in ("Parallel", "Map") and is_workflow_document(visit.output) and not (
            isinstance(visit.input, dict) and "routes" in visit.input):  # the state that first writes $.routes
        state = _validate(WorkflowState, visit.output, f"The output of {visit.name}", exact=False)
        return notes.applied(state.routes) if state.routes is not None else ""
    return notes.note(result) if result is not None and not failed else ""


def _entry(visit: Visit) -> TimelineEntry:
    attempts = [_attempt(a) for a in visit.attempts]
    failed = bool(attempts) and attempts[-1].failed
    if visit.kind == "Fail":
        result = "failed"
    elif visit.exited is None:
        result = "failed" if failed else "running"
    else:
        result = "caught" if failed else "ok"
    stage, stage_result = _stage_result(visit)
    return TimelineEntry(state=visit.name, kind=visit.kind, depth=visit.depth, entered_at=visit.entered,
                         exited_at=visit.exited, result=result, attempts=attempts,
                         note=_note(visit, stage_result, failed), stage=stage.name if stage else None,
                         stage_result=stage_result, input=visit.input, output=visit.output)


def timeline_from(events: list[dict]) -> list[TimelineEntry]:
    """Each state entered, in order, with its duration, its attempts (retries and Lambda errors)
    and what it produced."""
    return [_entry(visit) for visit in walk(events)]


# -- the outcome -----------------------------------------------------------------------------------


def failure_cause(describe: dict, events: list[dict], summary: Summary | None) -> tuple[str | None, str | None]:
    """(error, one-sentence cause) of a failed run; (None, None) for any other."""
    ended = execution_end(events)
    if describe.get("status") not in ("FAILED", "TIMED_OUT", "ABORTED") and ended is None:
        return None, None
    d = details(ended) if ended else {}
    error = describe.get("error") or d.get("error") or describe.get("status")
    raw = describe.get("cause") or d.get("cause")
    if raw:
        return error, sentence(error, raw)
    if summary:
        return error, notes.one_line(summary.reason)
    return error, "The execution timed out." if describe.get("status") == "TIMED_OUT" else f"{error}."


def _outcome(describe: dict, events: list[dict], visits: list[Visit], row: ExecutionRow) -> Outcome:
    state, reported = _latest(visits)
    summary = summary_of(describe) or reported
    error, cause = failure_cause(describe, events, summary)
    removed = summary.routes_removed if summary and summary.routes_removed else (
        state.rollback.removed if state and state.rollback else 0)
    details = summary.details if summary and summary.details else (
        state.plan.location if state and state.plan else "")
    return Outcome(
        status=row.status,
        stage=row.stage,
        reason=notes.one_line(summary.reason) if summary else "",
        error=error,
        cause=cause,
        routes_created=summary.routes_created if summary else 0,
        routes_already_present=summary.routes_already_present if summary else 0,
        routes_removed=removed,
        details=details,
        rollback_ran=any(v.name == "Rollback" and v.kind == "Task" for v in visits),
        dns=summary.dns if summary and summary.dns else state.dns if state else None,
        verification=summary.verification if summary and summary.verification else
        state.verification if state else None,
    )


def outcome_from(describe: dict, events: list[dict]) -> Outcome:
    """What the run did: routes created (table -> destination -> pcx), DNS, verification, rollback,
    and for a failed run its cause as one sentence. Read from the Summary when there is one, from
    the newest state document otherwise (a run still going, or one whose report failed)."""
    visits = walk(events)
    return _outcome(describe, events, visits, _row(describe, visits, None))


def detail_from(describe: dict, events: list[dict], now: datetime | None = None) -> Execution:
    """Everything ``show`` prints, from ``describe_execution`` and the full history."""
    visits = walk(events)
    row = _row(describe, visits, now)
    return Execution(**dict(row), timeline=[_entry(v) for v in visits],
                     outcome=_outcome(describe, events, visits, row))
