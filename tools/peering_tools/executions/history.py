"""An execution history, walked: which states were entered, by whom, with what input, output and attempts.

Pure: takes the events as ``get_execution_history`` returns them (datetimes) or as JSON holds them
(ISO-8601 strings) and knows nothing about this workflow's states - ``model`` gives them meaning.
Events are tied to their state through ``previousEventId`` chains, which keeps the two branches of a
Parallel state apart even though their events interleave.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ATTEMPT_START = frozenset({"LambdaFunctionScheduled", "TaskScheduled"})
ATTEMPT_OK = frozenset({"LambdaFunctionSucceeded", "TaskSucceeded"})
ATTEMPT_FAILED = frozenset({
    "LambdaFunctionFailed", "LambdaFunctionTimedOut", "LambdaFunctionStartFailed", "LambdaFunctionScheduleFailed",
    "TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed",
})
EXECUTION_END = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})
EXECUTION_FAILED = frozenset({"ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})


def as_datetime(value: datetime | str) -> datetime:
    """boto3 gives datetimes, JSON ISO strings; naive values are taken as UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Unreadable(ValueError):
    """A history this version of ``peering executions`` cannot read; the message is one sentence."""


def parse_json(text: Any) -> Any:
    """The JSON value in ``text``; None when there is no text. A history's inputs and outputs are
    JSON written by Step Functions, so anything else is refused, not guessed at."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError) as e:
        raise Unreadable(f"The history holds a value that is not JSON ({e}).") from e


def details(event: dict) -> dict:
    """The ``...EventDetails`` member of a history event ({} for the events that have none)."""
    return next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})


@dataclass(frozen=True)
class RawAttempt:
    """One invocation of a task state: ``error`` is None while it runs or when it succeeded."""

    error: str | None = None
    cause: str | None = None
    timed_out: bool = False


@dataclass
class Visit:
    """One state entered during the run, as the history records it."""

    event_id: int
    name: str
    kind: str
    """Task, Pass, Choice, Wait, Parallel, Fail, Succeed, ..."""
    depth: int
    """0 for the top level, 1 inside a Parallel branch, ..."""
    entered: datetime
    input: Any = None
    exited: datetime | None = None
    output: Any = None
    attempts: list[RawAttempt] = field(default_factory=list)
    task_result: Any = None
    """The task's own result (a Lambda's return value), before ResultPath merged it into ``output``."""
    next_state: str | None = None
    """For a top-level Choice: the state it chose."""
    end: tuple[str, str] | None = None
    """For a Fail or Succeed state: the execution's (error, cause) when it ended there."""


def _task_result(event: dict) -> Any:
    """A task's own result: the Lambda's return value (unwrapping ``lambda:invoke``'s Payload)."""
    output = parse_json(details(event).get("output"))
    if isinstance(output, dict) and "Payload" in output and "StatusCode" in output:
        return output["Payload"]
    return output


def _failure(event: dict) -> RawAttempt:
    d = details(event)
    timed_out = event["type"].endswith("TimedOut")
    error = d.get("error") or ("States.Timeout" if timed_out else
                               event["type"].removeprefix("LambdaFunction").removeprefix("Task"))
    return RawAttempt(error=error, cause=d.get("cause"), timed_out=timed_out)


def walk(events: list[dict]) -> list[Visit]:
    """Each state entered, in the order entered, with its input/output, attempts and result."""
    ordered = sorted(events, key=lambda e: e["id"])
    by_id = {e["id"]: e for e in ordered}
    visits: dict[int, Visit] = {}  # keyed by the id of the StateEntered event

    def owner(event: dict, *, same_name: str | None = None) -> int | None:
        """The nearest StateEntered event up the chain (of the given state name, if any)."""
        current, seen = by_id.get(event.get("previousEventId", 0)), 0
        while current is not None and seen < len(by_id):
            if current["type"].endswith("StateEntered") and current["id"] in visits and (
                    same_name is None or visits[current["id"]].name == same_name):
                return current["id"]
            current, seen = by_id.get(current.get("previousEventId", 0)), seen + 1
        return None

    def depth_of(event: dict) -> int:
        current, seen = by_id.get(event.get("previousEventId", 0)), 0
        while current is not None and seen < len(by_id):
            if current["type"].endswith("StateExited"):
                entered = owner(current, same_name=details(current).get("name"))
                return visits[entered].depth if entered is not None else 0
            if current["type"].endswith("StateEntered") and current["id"] in visits:
                return visits[current["id"]].depth + 1
            current, seen = by_id.get(current.get("previousEventId", 0)), seen + 1
        return 0

    last_top: Visit | None = None
    for event in ordered:
        kind, d = event["type"], details(event)
        moment = as_datetime(event["timestamp"])
        if kind.endswith("StateEntered"):
            visit = Visit(event["id"], d.get("name", "?"), kind.removesuffix("StateEntered"), depth_of(event), moment,
                          input=parse_json(d.get("input")))
            visits[event["id"]] = visit
            if visit.depth == 0:
                if last_top is not None and last_top.kind == "Choice":
                    last_top.next_state = visit.name
                last_top = visit
        elif kind.endswith("StateExited"):
            entered = owner(event, same_name=d.get("name"))
            if entered is not None:
                visits[entered].exited = moment
                visits[entered].output = parse_json(d.get("output"))
        elif kind in ATTEMPT_START | ATTEMPT_OK | ATTEMPT_FAILED:
            entered = owner(event)
            if entered is None:
                continue
            attempts = visits[entered].attempts
            if kind in ATTEMPT_START:
                attempts.append(RawAttempt())
            elif kind in ATTEMPT_FAILED:
                if attempts and attempts[-1].error is None:
                    attempts[-1] = _failure(event)
                else:  # a failure without a Scheduled event (e.g. LambdaFunctionScheduleFailed)
                    attempts.append(_failure(event))
            else:
                visits[entered].task_result = _task_result(event)
        elif kind in EXECUTION_END:
            for visit in visits.values():
                if visit.exited is None and visit.kind in ("Fail", "Succeed"):
                    visit.exited = moment
                    visit.end = (d.get("error", ""), d.get("cause") or "")
    return list(visits.values())


def execution_end(events: list[dict]) -> dict | None:
    """The ExecutionFailed / TimedOut / Aborted event, if the run ended so."""
    return next((e for e in sorted(events, key=lambda e: e["id"], reverse=True) if e["type"] in EXECUTION_FAILED),
                None)
