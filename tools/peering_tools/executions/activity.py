"""What the stack did outside the state machine: intake decisions, sweeps and cleanups.

These functions are started by an event or a schedule, not by Step Functions, so they have no
execution history. Their record is their own log: every function logs, in JSON (Powertools), to the
stack's log group (``FunctionLogGroup``, output ``FunctionLogGroupName``), and ``peering.runtime.run``
puts an event-driven function's result into its ``"<stage> done"`` line (a failure is its ``ERROR``
line). ``peering executions list --all`` reads those lines back with ``FilterLogEvents`` and parses
each result with the layer's model (``CleanupResult``, ``SweepResult``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field, SerializeAsAny

from peering import stages
from peering.cleanup import CleanupResult
from peering.models import Wire
from peering.once import StartResult
from peering.sweeper import SweepResult

from .model import Moment, View, _validate

Kind = Literal["intake", "sweep", "cleanup"]
KINDS: tuple[str, ...] = (stages.INTAKE.name, stages.SWEEP.name, stages.CLEANUP.name)
FILTER_PATTERN = "{ " + " || ".join(f'$.stage = "{kind}"' for kind in KINDS) + " }"
"""CloudWatch Logs' JSON filter syntax: only these functions' lines leave the service."""


class IntakeResult(Wire):
    """What the intake returns (``peering.workflow.intake.start_from_event``; ``runtime.start_executions`` for an event
    it cannot read): the executions started, the peerings skipped (a run already handles them), those
    refused (past MaxPeeringsPerEvent) and why. The layer returns a dict, so its shape is written down
    here; ``tests/cli/test_executions_activity.py`` fails when the two drift apart."""

    started: list[str] = Field(default_factory=list)
    skipped: list[StartResult] = Field(default_factory=list)
    refused: list[str] = Field(default_factory=list)
    reason: str


RESULTS: dict[str, type[Wire]] = {stages.INTAKE.name: IntakeResult, stages.SWEEP.name: SweepResult,
                                  stages.CLEANUP.name: CleanupResult}


class Activity(View):
    """One run of an event-driven function, as its log recorded it."""

    kind: Kind
    at: Moment
    status: str
    """intake: started / skipped / refused; sweep: swept; cleanup: cleaned; any: failed."""
    reason: str
    peering_ids: list[str] = Field(default_factory=list)
    function: str = ""
    request_id: str = ""
    result: SerializeAsAny[Wire] | None = None


def _status(kind: str, result: Wire) -> tuple[str, list[str]]:
    if isinstance(result, IntakeResult):
        ids = [arn.rsplit(":", 1)[-1].rsplit("-", 1)[0] for arn in result.started]
        ids += [s.peering_id for s in result.skipped] + result.refused
        return ("started" if result.started else "skipped" if result.skipped else "refused"), ids
    if isinstance(result, SweepResult):
        ids = [r.peering_id for r in (*result.started, *result.skipped)] + [c.peering_id for c in result.cleaned]
        return "swept", ids
    if isinstance(result, CleanupResult):
        return "cleaned", [result.peering_id]
    raise TypeError(f"No activity status for {kind}")


def activity_from(event: dict) -> Activity | None:
    """One log event -> an Activity (None for any other line of those functions, e.g. a debug line)."""
    try:
        line = json.loads(event["message"])
    except ValueError:
        return None  # a line that is not Powertools' JSON (the runtime's START/END/REPORT lines)
    kind = line.get("stage") if isinstance(line, dict) else None
    if kind not in RESULTS:
        return None
    at = datetime.fromtimestamp(event["timestamp"] / 1000, UTC)
    common = {"kind": kind, "at": at, "function": line.get("function_name", ""),
              "request_id": line.get("function_request_id", "")}
    if line.get("level") == "ERROR":
        return Activity(**common, status="failed", reason=str(line.get("message", "")))
    if line.get("message") != f"{kind} done" or "result" not in line:
        return None
    result = _validate(RESULTS[kind], line["result"], f"The logged result of {kind}")
    status, ids = _status(kind, result)
    return Activity(**common, status=status, reason=getattr(result, "reason", ""), peering_ids=sorted(set(ids)),
                    result=result)


def read(logs: Any, log_group: str, since: datetime, limit: int) -> list[Activity]:
    """The newest ``limit`` activities since ``since`` in ``log_group``, newest first."""
    found = [a for a in (activity_from(e) for e in _events(logs, log_group, since)) if a is not None]
    return sorted(found, key=lambda a: a.at, reverse=True)[:limit]


def _events(logs: Any, log_group: str, since: datetime) -> Iterator[dict]:
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=log_group, filterPattern=FILTER_PATTERN, startTime=int(since.timestamp() * 1000))
    for page in pages:
        yield from page["events"]

