"""`peering executions list | show`: the workflow's runs, read back from Step Functions.

Three layers, kept apart so each can be tested on its own:

* **model** - pure functions that turn ``describe_execution`` responses and execution-history
  events into :class:`ExecutionRow`, :class:`TimelineEntry` and :class:`Outcome` values. They accept
  what boto3 returns (datetimes) and what the JSON fixtures hold (ISO-8601 strings) alike.
* **AWS** - the few, bounded calls: find the state machine, page through ``list_executions``,
  ``describe_execution`` per row, the execution history only when the output does not say enough.
* **rendering** - Rich tables on a terminal, tab-separated lines when piped, or ``--json``.

Every failure the user can cause (unknown execution or peering, unreachable endpoint, missing
credentials or region) ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from peering.events import PEERING_ID
from peering.models import Summary, WorkflowState

DEFAULT_STACK = "peering-autopilot"
STATE_MACHINE_SUFFIX = "-PeeringStateMachine"
STACK_OUTPUT = "StateMachineArn"
PCX_SEARCH_LIMIT = 1000
"""How many of the newest executions ``show <pcx-id>`` looks through before giving up."""
RECENT_EVENTS = 100
"""How many of the newest history events ``list`` reads for a run whose output does not say enough."""


# == model =========================================================================================
@dataclass(frozen=True)
class VpcRef:
    """One side of the peering as a row shows it."""

    vpc_id: str
    account_id: str
    region: str

    def wire(self) -> dict[str, str]:
        return {"vpcId": self.vpc_id, "accountId": self.account_id, "region": self.region}

    def __str__(self) -> str:
        return f"{self.vpc_id} ({self.account_id}, {self.region})"


@dataclass(frozen=True)
class ExecutionRow:
    """One execution as ``list`` shows it."""

    peering_id: str
    requester: VpcRef | None
    accepter: VpcRef | None
    status: str
    """The Summary's status (routed, verified, failed, rejected), or RUNNING / ABORTED / TIMED_OUT."""
    stage: str
    start_date: datetime
    duration_seconds: float | None
    execution_arn: str
    execution_status: str
    """Step Functions' own status: SUCCEEDED, FAILED, RUNNING, ..."""

    def wire(self) -> dict[str, Any]:
        return {
            "peeringId": self.peering_id,
            "requester": self.requester.wire() if self.requester else None,
            "accepter": self.accepter.wire() if self.accepter else None,
            "status": self.status,
            "stage": self.stage,
            "startDate": self.start_date.isoformat(),
            "durationSeconds": _round(self.duration_seconds),
            "executionArn": self.execution_arn,
            "executionStatus": self.execution_status,
        }


@dataclass(frozen=True)
class Attempt:
    """One invocation of a task state's Lambda (several when the state machine retried)."""

    error: str | None = None
    message: str | None = None
    """The error as one sentence (the Lambda's errorMessage), None for a successful attempt."""

    @property
    def failed(self) -> bool:
        return self.error is not None

    def wire(self) -> dict[str, Any]:
        return {"error": self.error, "message": self.message}


@dataclass(frozen=True)
class TimelineEntry:
    """One state entered (and usually exited) during the run."""

    state: str
    kind: str
    """Task, Pass, Choice, Wait, Parallel, Fail, ..."""
    depth: int
    """0 for the top level, 1 inside a Parallel branch, ..."""
    entered: datetime
    exited: datetime | None
    result: str
    """ok, caught (a task failed and a Catch moved on), failed, or running."""
    attempts: tuple[Attempt, ...] = ()
    note: str = ""
    """What the state produced, in a few words."""

    @property
    def duration_seconds(self) -> float | None:
        return (self.exited - self.entered).total_seconds() if self.exited else None

    @property
    def retries(self) -> int:
        return max(0, len(self.attempts) - 1)

    @property
    def error(self) -> Attempt | None:
        """The last attempt when it failed."""
        return self.attempts[-1] if self.attempts and self.attempts[-1].failed else None

    def wire(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "type": self.kind,
            "depth": self.depth,
            "enteredAt": self.entered.isoformat(),
            "exitedAt": self.exited.isoformat() if self.exited else None,
            "durationSeconds": _round(self.duration_seconds),
            "result": self.result,
            "retries": self.retries,
            "attempts": [a.wire() for a in self.attempts],
            "note": self.note,
        }


@dataclass(frozen=True)
class RouteChange:
    route_table_id: str
    destination: str
    target: str

    def wire(self) -> dict[str, str]:
        return {"routeTableId": self.route_table_id, "destination": self.destination, "target": self.target}

    def __str__(self) -> str:
        return f"{self.route_table_id} -> {self.destination} -> {self.target}"


@dataclass(frozen=True)
class Outcome:
    """What the run did, stage by stage, and why it ended the way it did."""

    status: str
    stage: str
    reason: str
    """The Summary's one-sentence reason ('' when there is no Summary yet)."""
    error: str | None = None
    cause: str | None = None
    """For a failed run: why, as one sentence."""
    routes_created: tuple[RouteChange, ...] = ()
    routes_already_present: tuple[RouteChange, ...] = ()
    routes_removed: tuple[RouteChange, ...] = ()
    rollback_ran: bool = False
    dns: dict[str, Any] | None = None
    verification: dict[str, Any] | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "stage": self.stage,
            "reason": self.reason,
            "error": self.error,
            "cause": self.cause,
            "routesCreated": [r.wire() for r in self.routes_created],
            "routesAlreadyPresent": [r.wire() for r in self.routes_already_present],
            "routesRemoved": [r.wire() for r in self.routes_removed],
            "rollbackRan": self.rollback_ran,
            "dns": self.dns,
            "verification": self.verification,
        }


@dataclass(frozen=True)
class ExecutionDetail:
    """Everything ``show`` prints."""

    row: ExecutionRow
    timeline: list[TimelineEntry] = field(default_factory=list)
    outcome: Outcome | None = None

    def wire(self) -> dict[str, Any]:
        return {**self.row.wire(), "timeline": [t.wire() for t in self.timeline],
                "outcome": self.outcome.wire() if self.outcome else None}


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def as_datetime(value: datetime | str) -> datetime:
    """boto3 gives datetimes, JSON fixtures ISO strings; naive values are taken as UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_json(text: Any) -> Any:
    """The JSON value in ``text``, or None when it is not JSON (or not a string)."""
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


_TRACEBACK = "Traceback (most recent call last)"


def one_sentence(text: str | None, limit: int = 400) -> str:
    """A human sentence from an error cause: the message inside a Lambda error payload (JSON), the
    last line of a traceback, whitespace collapsed, never longer than ``limit`` characters."""
    if not text:
        return ""
    payload = parse_json(text)
    if isinstance(payload, dict):
        for key in ("errorMessage", "Cause", "cause", "reason", "message"):
            if isinstance(payload.get(key), str) and payload[key].strip():
                return one_sentence(payload[key], limit)
        error = payload.get("errorType") or payload.get("Error") or payload.get("error")
        return f"{error} (no message)." if error else "The error carried no message."
    if _TRACEBACK in text:
        lines = [line for line in text.splitlines() if line.strip()]
        text = lines[-1] if lines else text
    sentence = " ".join(text.split())
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def _details(event: dict) -> dict:
    """The ``...EventDetails`` member of a history event ({} for the events that have none)."""
    return next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})


def is_workflow_document(value: Any) -> bool:
    """The state document that flows between top-level states (Init builds it), as opposed to a
    Parallel branch's input or a Lambda's own result."""
    return isinstance(value, dict) and {"peeringId", "input", "executionArn"} <= value.keys()


def latest_document(events: list[dict]) -> dict | None:
    """The newest workflow state document in ``events`` (input or output of a top-level state)."""
    for event in sorted(events, key=lambda e: e.get("id", 0), reverse=True):
        details = _details(event)
        document = parse_json(details.get("output") if event["type"].endswith("StateExited") else
                              details.get("input") if event["type"].endswith("StateEntered") else None)
        if is_workflow_document(document):
            return document
    return None


def _summary(value: Any) -> Summary | None:
    if not isinstance(value, dict) or "status" not in value:
        return None
    try:
        return Summary.model_validate(value)
    except ValueError:  # pydantic's ValidationError is a ValueError: a shape we do not know
        return None


def summary_from(describe: dict, events: list[dict] | None = None) -> Summary | None:
    """The run's Summary: the execution output on success, else the Report/ReportFailure result
    recorded in the history (the newest state document that carries ``report``)."""
    summary = _summary(parse_json(describe.get("output")))
    if summary or not events:
        return summary
    document = latest_document(events)
    return _summary(document.get("report")) if document else None


def _workflow_state(document: dict | None) -> WorkflowState | None:
    if not document:
        return None
    try:
        return WorkflowState.model_validate(document)
    except ValueError:
        return None


def _vpc(side: Any) -> VpcRef | None:
    if side is None:
        return None
    if isinstance(side, dict):
        return VpcRef(side.get("vpcId", "?"), side.get("accountId", "?"), side.get("region", "?"))
    return VpcRef(side.vpc_id, side.account_id, side.region)


def needs_history(describe: dict) -> bool:
    """Whether ``list`` must read the history for this row: only when there is no Summary output."""
    return _summary(parse_json(describe.get("output"))) is None


def _peering_id_of(describe: dict) -> str:
    started_with = parse_json(describe.get("input"))
    if isinstance(started_with, dict) and isinstance(started_with.get("peeringId"), str):
        return started_with["peeringId"]
    name = describe.get("name") or describe.get("executionArn", "").rsplit(":", 1)[-1]
    match = re.match(r"pcx-[0-9a-zA-Z]{1,32}", name)
    return match.group(0) if match else "?"


def row_from(describe: dict, events: list[dict] | None = None, now: datetime | None = None) -> ExecutionRow:
    """One ``list`` row from ``describe_execution`` and, when the run has no Summary output, (the
    newest part of) its history."""
    execution_status = describe.get("status", "UNKNOWN")
    start = as_datetime(describe["startDate"])
    stop = as_datetime(describe["stopDate"]) if describe.get("stopDate") else None
    end = (stop or now or datetime.now(UTC)) if execution_status == "RUNNING" else stop
    summary = summary_from(describe, events)
    document = latest_document(events or [])
    state = _workflow_state(document)
    peering = state.inspection.peering if state and state.inspection else None
    if summary:
        status, stage = str(summary.status), summary.stage
    else:
        status = "failed" if execution_status == "FAILED" else execution_status
        stage = state.stage_reached() if state else "start"
    return ExecutionRow(
        peering_id=summary.peering_id if summary else _peering_id_of(describe),
        requester=_vpc(summary.requester if summary and summary.requester else peering and peering.requester),
        accepter=_vpc(summary.accepter if summary and summary.accepter else peering and peering.accepter),
        status=status,
        stage=stage,
        start_date=start,
        duration_seconds=(end - start).total_seconds() if end else None,
        execution_arn=describe["executionArn"],
        execution_status=execution_status,
    )


# -- the timeline ----------------------------------------------------------------------------------
_ATTEMPT_START = {"LambdaFunctionScheduled", "TaskScheduled"}
_ATTEMPT_OK = {"LambdaFunctionSucceeded", "TaskSucceeded"}
_ATTEMPT_FAILED = {
    "LambdaFunctionFailed", "LambdaFunctionTimedOut", "LambdaFunctionStartFailed", "LambdaFunctionScheduleFailed",
    "TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed",
}
_EXECUTION_END = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"}


def _attempt_failure(event: dict) -> Attempt:
    details = _details(event)
    error = details.get("error") or event["type"].removeprefix("LambdaFunction").removeprefix("Task")
    if event["type"].endswith("TimedOut") and not details.get("error"):
        error = "States.Timeout"
    message = one_sentence(details.get("cause")) or f"{error}."
    return Attempt(error=error, message=message)


def _task_result(event: dict) -> Any:
    """A task's own result: the Lambda's return value (unwrapping ``lambda:invoke``'s Payload)."""
    output = parse_json(_details(event).get("output"))
    if isinstance(output, dict) and "Payload" in output and "StatusCode" in output:
        return output["Payload"]
    return output


def _count(items: Any) -> int:
    return len(items) if isinstance(items, list) else 0


def _note_inspect(r: dict) -> str:
    return f"{r.get('decision', '?')}: {r.get('reason', '')}".strip()


def _note_accept(r: dict) -> str:
    verb = "accepted now" if r.get("acceptedNow") else "already accepted"
    return f"{verb}; peering {r.get('peeringState', '?')}"


def _note_check_active(r: dict) -> str:
    return f"{r.get('state', '?')} (peering {r.get('peeringState', '?')}, poll {r.get('attempt', '?')})"


def _note_plan(r: dict) -> str:
    sides = [r.get(s) or {} for s in ("requester", "accepter")]
    create = sum(_count(s.get("create")) for s in sides)
    present = sum(_count(s.get("present")) for s in sides)
    return f"{create} route(s) to create, {present} already in place"


def _note_apply_side(r: dict) -> str:
    created, present = _count(r.get("created")), _count(r.get("alreadyPresent"))
    return f"{r.get('side', '?')}: {created} created, {present} already present"


def _note_apply(r: Any) -> str:
    sides = r if isinstance(r, list) else []
    return f"{sum(_count(s.get('created')) for s in sides)} route(s) created"


def _note_reason(r: dict) -> str:
    return one_sentence(r.get("reason"))


def _note_probe(r: dict) -> str:
    if not r.get("applicable"):
        return f"not applicable: {one_sentence(r.get('reason'))}"
    results = r.get("results") or []
    if not results:
        return f"{_count(r.get('targets'))} target(s) planned: {one_sentence(r.get('reason'))}"
    answered = sum(1 for x in results if x.get("reachable"))
    errors = sorted({x.get("error") for x in results if x.get("error")})
    tail = f" ({', '.join(errors)})" if errors else ""
    return f"attempt {r.get('attempt', '?')}: {answered}/{len(results)} target(s) answered{tail}"


def _note_rollback(r: dict) -> str:
    return f"removed {_count(r.get('removed'))} route(s), left {_count(r.get('leftAlone'))} alone"


def _note_report(r: dict) -> str:
    return f"status {r.get('status', '?')}"


STATE_NOTES: dict[str, Callable[[Any], str]] = {
    "Inspect": _note_inspect,
    "Accept": _note_accept,
    "CheckActive": _note_check_active,
    "PlanRoutes": _note_plan,
    "ApplyRoutes": _note_apply,
    "RouteRequesterSide": _note_apply_side,
    "RouteAccepterSide": _note_apply_side,
    "ConfigureDns": _note_reason,
    "PrepareProbe": _note_probe,
    "Probe": lambda r: _note_probe(r.get("probe", r)),  # the probe returns its request: {peeringId, probe}
    "Verify": _note_reason,
    "Rollback": _note_rollback,
    "Report": _note_report,
    "ReportFailure": _note_report,
}
"""How each Task/Parallel state's result reads in the timeline, by state name (see the ASL)."""

_RESULT_PATHS = {"ApplyRoutes": "routes"}
"""States whose result is read from their output document rather than from a Lambda result."""


@dataclass
class _Open:
    """A timeline entry being assembled while the history is walked."""

    state: str
    kind: str
    depth: int
    entered: datetime
    exited: datetime | None = None
    attempts: list[Attempt] = field(default_factory=list)
    result: Any = None
    output: Any = None
    next_state: str | None = None
    end_error: tuple[str, str] | None = None
    """(error, one-sentence cause) of the execution, on its Fail state."""


def _note(entry: _Open) -> str:
    if entry.end_error:  # the cause itself is printed once, below the timeline
        return entry.end_error[0]
    if entry.kind == "Choice":
        return f"-> {entry.next_state}" if entry.next_state else ""
    result = entry.result
    if entry.state in _RESULT_PATHS and isinstance(entry.output, dict):
        result = entry.output.get(_RESULT_PATHS[entry.state])
    formatter = STATE_NOTES.get(entry.state)
    if formatter is None or result is None or (entry.attempts and entry.attempts[-1].failed):
        return ""
    try:
        return formatter(result)
    except (AttributeError, TypeError):  # a result of a shape this version does not know
        return ""


def timeline_from(events: list[dict]) -> list[TimelineEntry]:
    """Each state entered, in order, with its duration, its attempts (retries and Lambda errors)
    and what it produced.

    Events are tied to their state through ``previousEventId`` chains, which keeps the two branches
    of the Parallel state apart even though their events interleave.
    """
    by_id = {e["id"]: e for e in events}
    entries: dict[int, _Open] = {}  # keyed by the id of the StateEntered event

    def owner(event: dict, *, same_name: str | None = None) -> int | None:
        """The nearest StateEntered event up the chain (of the given state name, if any)."""
        seen = 0
        current = by_id.get(event.get("previousEventId", 0))
        while current is not None and seen < len(by_id):
            if current["type"].endswith("StateEntered") and current["id"] in entries and (
                    same_name is None or entries[current["id"]].state == same_name):
                return current["id"]
            current, seen = by_id.get(current.get("previousEventId", 0)), seen + 1
        return None

    def depth_of(event: dict) -> int:
        current, seen = by_id.get(event.get("previousEventId", 0)), 0
        while current is not None and seen < len(by_id):
            if current["type"].endswith("StateExited"):
                entered = owner(current, same_name=_details(current).get("name"))
                return entries[entered].depth if entered is not None else 0
            if current["type"].endswith("StateEntered") and current["id"] in entries:
                return entries[current["id"]].depth + 1
            current, seen = by_id.get(current.get("previousEventId", 0)), seen + 1
        return 0

    last_top: _Open | None = None
    for event in sorted(events, key=lambda e: e["id"]):
        kind = event["type"]
        details = _details(event)
        moment = as_datetime(event["timestamp"])
        if kind.endswith("StateEntered"):
            entry = _Open(details.get("name", "?"), kind.removesuffix("StateEntered"), depth_of(event), moment)
            entries[event["id"]] = entry
            if entry.depth == 0:
                if last_top is not None and last_top.kind == "Choice":
                    last_top.next_state = entry.state
                last_top = entry
        elif kind.endswith("StateExited"):
            entered = owner(event, same_name=details.get("name"))
            if entered is not None:
                entries[entered].exited = moment
                entries[entered].output = parse_json(details.get("output"))
        elif kind in _ATTEMPT_START | _ATTEMPT_OK | _ATTEMPT_FAILED:
            entered = owner(event)
            if entered is None:
                continue
            if kind in _ATTEMPT_START:
                entries[entered].attempts.append(Attempt())
            elif kind in _ATTEMPT_FAILED:
                failure = _attempt_failure(event)
                if entries[entered].attempts and not entries[entered].attempts[-1].failed:
                    entries[entered].attempts[-1] = failure
                else:  # a failure without a Scheduled event (e.g. LambdaFunctionScheduleFailed)
                    entries[entered].attempts.append(failure)
            else:
                entries[entered].result = _task_result(event)
        elif kind in _EXECUTION_END:
            for entry in entries.values():
                if entry.exited is None and entry.kind in ("Fail", "Succeed"):
                    entry.exited = moment
                    if entry.kind == "Fail":
                        entry.end_error = (details.get("error", ""), one_sentence(details.get("cause")))

    timeline = []
    for entry in entries.values():
        if entry.kind == "Fail":
            result = "failed"
        elif entry.exited is None:
            result = "failed" if entry.attempts and entry.attempts[-1].failed else "running"
        else:
            result = "caught" if entry.attempts and entry.attempts[-1].failed else "ok"
        timeline.append(TimelineEntry(entry.state, entry.kind, entry.depth, entry.entered, entry.exited, result,
                                      tuple(entry.attempts), _note(entry)))
    return timeline


def _changes(items: Any, target: str) -> tuple[RouteChange, ...]:
    changes = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            changes.append(RouteChange(item.get("routeTableId", "?"), item.get("destination", "?"), target))
        else:  # a PlannedRoute model
            changes.append(RouteChange(item.route_table_id, item.destination, target))
    return tuple(changes)


def failure_cause(describe: dict, events: list[dict], summary: Summary | None) -> tuple[str | None, str | None]:
    """(error, one-sentence cause) of a failed run; (None, None) for any other."""
    ended = next((e for e in reversed(events) if e["type"] in ("ExecutionFailed", "ExecutionTimedOut",
                                                                 "ExecutionAborted")), None)
    if describe.get("status") not in ("FAILED", "TIMED_OUT", "ABORTED") and ended is None:
        return None, None
    details = _details(ended) if ended else {}
    error = describe.get("error") or details.get("error") or describe.get("status")
    raw = describe.get("cause") or details.get("cause")
    cause = one_sentence(raw) if raw else (one_sentence(summary.reason) if summary else "")
    if not cause:
        cause = "The execution timed out." if describe.get("status") == "TIMED_OUT" else f"{error}."
    return error, cause


def outcome_from(describe: dict, events: list[dict]) -> Outcome:
    """What the run did: routes created (table -> destination -> pcx), DNS, verification, rollback,
    and for a failed run its cause as one sentence. Read from the Summary when there is one, from
    the newest state document otherwise (a run still going, or one whose report failed)."""
    summary = summary_from(describe, events)
    state = _workflow_state(latest_document(events))
    pcx = summary.peering_id if summary else _peering_id_of(describe)
    row = row_from(describe, events)
    error, cause = failure_cause(describe, events, summary)
    created = summary.routes_created if summary and summary.routes_created else None
    if created is None and state and state.routes:
        created = [route for side in state.routes for route in side.created]
    removed = summary.routes_removed if summary and summary.routes_removed else None
    if removed is None and state and state.rollback:
        removed = state.rollback.removed
    present = [route for side in state.routes for route in side.already_present] if state and state.routes else []
    dns = summary.dns if summary and summary.dns else state.dns if state else None
    verification = summary.verification if summary and summary.verification else state.verification if state else None
    return Outcome(
        status=row.status,
        stage=row.stage,
        reason=one_sentence(summary.reason) if summary else "",
        error=error,
        cause=cause,
        routes_created=_changes(created, pcx),
        routes_already_present=_changes(present, pcx),
        routes_removed=_changes(removed, pcx),
        rollback_ran=any(e["type"] == "TaskStateEntered" and _details(e).get("name") == "Rollback" for e in events),
        dns=dns.wire() if dns else None,
        verification=verification.wire() if verification else None,
    )


def detail_from(describe: dict, events: list[dict], now: datetime | None = None) -> ExecutionDetail:
    """Everything ``show`` prints, from ``describe_execution`` and the full history."""
    return ExecutionDetail(row_from(describe, events, now), timeline_from(events), outcome_from(describe, events))


# == AWS ===========================================================================================
class CliError(Exception):
    """A problem the user can fix; the message is one line."""


def client_config() -> Any:
    """Standard retries with few attempts and short connect timeouts: an unreachable endpoint must
    fail in seconds, not after botocore's legacy back-off."""
    from botocore.config import Config  # noqa: PLC0415 - keep `peering --help` fast

    return Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=30)


@dataclass
class Aws:
    """The clients one command uses."""

    region: str | None = None
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from .cliargs import ArgumentError  # noqa: PLC0415
            from .cliargs import session as cli_session

            try:  # bad --region/--endpoint-url are refused here; dummy credentials for a loopback endpoint
                session = cli_session(self.region, self.endpoint_url)
            except ArgumentError as e:
                raise CliError(str(e)) from None
            if not session.region_name:
                raise CliError("No AWS region: pass --region or set AWS_REGION.")
            self._clients[service] = session.client(service, endpoint_url=self.endpoint_url, config=client_config())
        return self._clients[service]


def _region_of(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[3] if len(parts) > 4 and parts[0] == "arn" and parts[3] else None


def find_state_machine(aws: Aws, stack_name: str) -> str:
    """The workflow's ARN: the stack's ``StateMachineArn`` output when CloudFormation knows the
    stack, else the one state machine whose name ends with ``-PeeringStateMachine``."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        stacks = aws.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for s in stacks for o in s.get("Outputs", [])}
        if outputs.get(STACK_OUTPUT):
            return outputs[STACK_OUTPUT]
    except ClientError:  # no such stack, or no permission to read it: look for the machine by name
        pass
    paginator = aws.client("stepfunctions").get_paginator("list_state_machines")
    machines = [m for page in paginator.paginate() for m in page["stateMachines"]
                if m["name"].endswith(STATE_MACHINE_SUFFIX)]
    exact = [m for m in machines if m["name"] == f"{stack_name}{STATE_MACHINE_SUFFIX}"]
    if len(machines) == 1 or len(exact) == 1:
        return (exact or machines)[0]["stateMachineArn"]
    where = f" at {aws.endpoint_url}" if aws.endpoint_url else ""
    if not machines:
        raise CliError(f"No stack {stack_name} and no state machine named *{STATE_MACHINE_SUFFIX}{where}; "
                       "deploy the stack or pass --state-machine-arn.")
    names = ", ".join(sorted(m["name"] for m in machines))
    raise CliError(f"{len(machines)} state machines match *{STATE_MACHINE_SUFFIX} ({names}); "
                   "pass --state-machine-arn.")


def iter_executions(aws: Aws, state_machine_arn: str, limit: int) -> Iterator[dict]:
    """``list_executions`` items, newest first, at most ``limit`` of them (pages fetched lazily)."""
    if limit <= 0:
        return
    paginator = aws.client("stepfunctions").get_paginator("list_executions")
    seen = 0
    pages = paginator.paginate(stateMachineArn=state_machine_arn,
                               PaginationConfig={"MaxItems": limit, "PageSize": min(limit, 1000)})
    for page in pages:
        for item in page["executions"]:
            yield item
            seen += 1
            if seen >= limit:
                return


def recent_events(aws: Aws, execution_arn: str, count: int = RECENT_EVENTS) -> list[dict]:
    """The newest ``count`` history events (one call), in ascending id order."""
    page = aws.client("stepfunctions").get_execution_history(executionArn=execution_arn, reverseOrder=True,
                                                             maxResults=count, includeExecutionData=True)
    return sorted(page["events"], key=lambda e: e["id"])  # some emulators ignore reverseOrder


def all_events(aws: Aws, execution_arn: str) -> list[dict]:
    paginator = aws.client("stepfunctions").get_paginator("get_execution_history")
    events = [e for page in paginator.paginate(executionArn=execution_arn, includeExecutionData=True)
              for e in page["events"]]
    return sorted(events, key=lambda e: e["id"])


def list_rows(aws: Aws, state_machine_arn: str, limit: int) -> list[ExecutionRow]:
    """The ``list`` rows: one ``describe_execution`` per execution, history only without a Summary."""
    sfn = aws.client("stepfunctions")
    rows = []
    for item in iter_executions(aws, state_machine_arn, limit):
        describe = sfn.describe_execution(executionArn=item["executionArn"])
        events = recent_events(aws, item["executionArn"]) if needs_history(describe) else None
        rows.append(row_from(describe, events))
    return rows


def resolve_execution(aws: Aws, target: str, state_machine_arn: str | None, stack_name: str) -> str:
    """An execution ARN from what the user typed: an ARN as is; a pcx id -> its newest execution;
    a full execution name (``pcx-...-<hash>``) -> that execution."""
    if target.startswith("arn:"):
        if ":execution:" not in target:
            raise CliError(f"{target} is not an execution ARN (arn:aws:states:<region>:<account>:execution:...).")
        return target
    if not target.startswith("pcx-"):
        raise CliError(f"{target!r} is neither an execution ARN nor a peering id (pcx-...).")
    machine = state_machine_arn or find_state_machine(aws, stack_name)
    is_pcx = bool(PEERING_ID.match(target))
    for item in iter_executions(aws, machine, PCX_SEARCH_LIMIT):
        if (item["name"].startswith(f"{target}-") if is_pcx else item["name"] == target):
            return item["executionArn"]
    what = "execution for peering" if is_pcx else "execution named"
    raise CliError(f"No {what} {target} among the newest {PCX_SEARCH_LIMIT} executions of {machine}.")


@contextmanager
def cli_errors(aws: Aws) -> Iterator[None]:
    """Turn every expected failure into one line on stderr and exit code 2."""
    from botocore.exceptions import (  # noqa: PLC0415
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ReadTimeoutError,
    )

    try:
        yield
    except CliError as e:
        message = str(e)
    except (EndpointConnectionError, ConnectTimeoutError) as e:
        url = aws.endpoint_url or getattr(e, "kwargs", {}).get("endpoint_url") or "the AWS endpoint"
        message = f"Cannot reach {url}: is the endpoint up (for the emulator: peering local up)?"
    except ReadTimeoutError:
        message = f"{aws.endpoint_url or 'AWS'} did not answer in time."
    except NoCredentialsError:
        message = "No AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."
    except NoRegionError:
        message = "No AWS region: pass --region or set AWS_REGION."
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "Error")
        text = e.response.get("Error", {}).get("Message", "")
        if code == "ExecutionDoesNotExist":
            message = f"No such execution: {text.split(': ', 1)[-1].strip(chr(39)) or 'unknown'}."
        elif code == "StateMachineDoesNotExist":
            message = f"No such state machine: {text}"
        else:
            message = f"{e.operation_name} failed: {code}: {text}"
    except BotoCoreError as e:
        message = str(e)
    else:
        return
    typer.echo(" ".join(message.split()), err=True)
    raise typer.Exit(2)


# == rendering =====================================================================================
def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _side(side: VpcRef | None) -> str:
    return str(side) if side else "-"


LIST_COLUMNS = ("PEERING", "REQUESTER", "ACCEPTER", "STATUS", "STAGE", "STARTED", "DURATION")


def list_cells(row: ExecutionRow) -> tuple[str, ...]:
    return (row.peering_id, _side(row.requester), _side(row.accepter), row.status, row.stage,
            _when(row.start_date), _duration(row.duration_seconds))


def list_lines(rows: list[ExecutionRow]) -> list[str]:
    """Tab-separated, a header first: for pipes, ``cut`` and ``grep``."""
    return ["\t".join(LIST_COLUMNS), *("\t".join(list_cells(r)) for r in rows)]


_STATUS_STYLE = {"verified": "green", "routed": "green", "rejected": "yellow", "failed": "red",
                 "RUNNING": "cyan", "ok": "green", "caught": "yellow", "running": "cyan"}


def list_table(rows: list[ExecutionRow], title: str) -> Any:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, title_justify="left")
    for column in LIST_COLUMNS:
        table.add_column(column, no_wrap=column in ("PEERING", "STATUS", "DURATION"))
    for row in rows:
        cells = list(list_cells(row))
        cells[3] = f"[{_STATUS_STYLE.get(row.status, 'white')}]{row.status}[/]"
        table.add_row(*cells)
    return table


def _timeline_result(entry: TimelineEntry) -> str:
    text = entry.result
    if entry.error:
        text += f" {entry.error.error}"
    if entry.retries:
        failed = sum(a.failed for a in entry.attempts)
        text += f" ({len(entry.attempts)} attempts, {failed} failed)"
    return text


def _timeline_note(entry: TimelineEntry) -> str:
    if entry.error and entry.error.message:
        return entry.error.message
    return entry.note


def timeline_cells(entry: TimelineEntry, start: datetime) -> tuple[str, ...]:
    offset = (entry.entered - start).total_seconds()
    return (f"+{offset:.2f}s", "  " * entry.depth + entry.state, _duration(entry.duration_seconds),
            _timeline_result(entry), _timeline_note(entry))


def outcome_lines(detail: ExecutionDetail) -> list[str]:
    """The outcome section, one fact per line (the same text in both renderings)."""
    outcome = detail.outcome
    if outcome is None:
        return []
    lines = [f"routes created: {len(outcome.routes_created) or 'none'}"]
    lines += [f"  {r}" for r in outcome.routes_created]
    if outcome.routes_already_present:
        lines.append(f"routes already in place: {len(outcome.routes_already_present)}")
        lines += [f"  {r}" for r in outcome.routes_already_present]
    if outcome.dns:
        sides = ", ".join(f"{k} {'on' if v else 'off'}" for k, v in outcome.dns.get("sides", {}).items())
        lines.append(f"dns: {'set' if outcome.dns.get('enabled') else 'not set'}"
                     f"{f' ({sides})' if sides else ''}: {outcome.dns.get('reason', '')}")
    if outcome.verification:
        v = outcome.verification
        verdict = ("reachable" if v.get("reachable") else "NOT reachable") if v.get("performed") else "not performed"
        lines.append(f"verification: {verdict}: {v.get('reason', '')}")
        lines += [f"  information: {line}" for line in v.get("information") or []]
    if outcome.rollback_ran:
        lines.append(f"rollback: removed {len(outcome.routes_removed)} route(s)")
        lines += [f"  {r}" for r in outcome.routes_removed]
    if outcome.cause:
        lines.append(f"cause: {outcome.cause}")
    elif outcome.reason:
        lines.append(f"reason: {outcome.reason}")
    return lines


def header_lines(row: ExecutionRow) -> list[str]:
    return [
        f"execution: {row.execution_arn}",
        f"peering: {row.peering_id}",
        f"status: {row.status} (execution {row.execution_status}), stage {row.stage}",
        f"requester: {_side(row.requester)}",
        f"accepter: {_side(row.accepter)}",
        f"started: {_when(row.start_date)}, duration {_duration(row.duration_seconds)}",
    ]


def show_lines(detail: ExecutionDetail) -> list[str]:
    lines = header_lines(detail.row)
    lines += ["", "timeline:", "\t".join(("AT", "STATE", "DURATION", "RESULT", "DETAIL"))]
    lines += ["\t".join(timeline_cells(t, detail.row.start_date)) for t in detail.timeline]
    return [*lines, "", *outcome_lines(detail)]


def print_show_rich(detail: ExecutionDetail, console: Any) -> None:
    from rich.table import Table  # noqa: PLC0415

    for line in header_lines(detail.row):
        key, _, value = line.partition(": ")
        console.print(f"[bold]{key}:[/] {value}", highlight=False)
    table = Table(title="timeline", title_justify="left")
    for column in ("AT", "STATE", "DURATION", "RESULT", "DETAIL"):
        table.add_column(column, no_wrap=column != "DETAIL")
    for entry in detail.timeline:
        cells = list(timeline_cells(entry, detail.row.start_date))
        cells[3] = f"[{_STATUS_STYLE.get(entry.result, 'red')}]{cells[3]}[/]"
        table.add_row(*cells)
    console.print(table)
    for line in outcome_lines(detail):
        style = "bold red" if line.startswith("cause:") else ""
        console.print(f"[{style}]{line}[/]" if style else line, highlight=False, markup=bool(style))


# == commands ======================================================================================
app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="The workflow's executions: a table of runs, or one run's timeline and outcome.")

StateMachineArn = Annotated[str | None, typer.Option(
    "--state-machine-arn", help="The workflow; default: the stack output, else the *-PeeringStateMachine.")]
StackName = Annotated[str, typer.Option("--stack-name", help="The stack whose StateMachineArn output to use.")]
EndpointUrl = Annotated[str | None, typer.Option(
    "--endpoint-url", help="Another endpoint than AWS (e.g. the local emulator, http://127.0.0.1:5000).")]
Region = Annotated[str | None, typer.Option("--region", help="AWS region (default: the usual AWS configuration).")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


@app.command("list")
def list_command(
    state_machine_arn: StateMachineArn = None,
    stack_name: StackName = DEFAULT_STACK,
    endpoint_url: EndpointUrl = None,
    region: Region = None,
    as_json: AsJson = False,
    max_items: Annotated[int, typer.Option("--max", min=1, help="At most this many executions, newest first.")] = 50,
) -> None:
    """The newest executions: peering, both VPCs, status, stage reached, start time, duration."""
    aws = Aws(region or _region_of(state_machine_arn), endpoint_url)
    with cli_errors(aws):
        machine = state_machine_arn or find_state_machine(aws, stack_name)
        rows = list_rows(aws, machine, max_items)
    if as_json:
        _print_json([r.wire() for r in rows])
    elif sys.stdout.isatty():
        from rich.console import Console  # noqa: PLC0415

        name = machine.rsplit(":", 1)[-1]
        Console().print(list_table(rows, f"{name}: {len(rows)} execution(s), newest first"))
    else:
        for line in list_lines(rows):
            typer.echo(line)


@app.command("show")
def show_command(
    target: Annotated[str, typer.Argument(help="An execution ARN, or a pcx id for its newest execution.")],
    state_machine_arn: StateMachineArn = None,
    stack_name: StackName = DEFAULT_STACK,
    endpoint_url: EndpointUrl = None,
    region: Region = None,
    as_json: AsJson = False,
) -> None:
    """One execution: the stage timeline (durations, Lambda errors, retries) and its outcome."""
    aws = Aws(region or _region_of(target) or _region_of(state_machine_arn), endpoint_url)
    with cli_errors(aws):
        arn = resolve_execution(aws, target, state_machine_arn, stack_name)
        describe = aws.client("stepfunctions").describe_execution(executionArn=arn)
        detail = detail_from(describe, all_events(aws, arn))
    if as_json:
        _print_json(detail.wire())
    elif sys.stdout.isatty():
        from rich.console import Console  # noqa: PLC0415

        print_show_rich(detail, Console())
    else:
        for line in show_lines(detail):
            typer.echo(line)
