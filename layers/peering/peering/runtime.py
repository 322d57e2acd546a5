"""What every handler shares: the stages' dependencies made per invocation (clients kept per cold start), input parsing
at the edge, and turning any failure into one of the project's errors with a one-sentence message.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ValidationError

from .aws.clients import Clients
from .config import Settings
from .deps import Deps, default_region, no_metric
from .errors import InvalidInput, PeeringError, Unexpected
from .models import WorkflowState
from .stages import STAGES

RECORDED_IN_LOG = frozenset(stage.name for stage in STAGES if not stage.in_workflow)
"""Labels whose result goes into their "done" log line (functions outside the state machine)."""

TRACED_MODULES = ("botocore",)
"""What X-Ray instruments: the AWS calls. Powertools' default would patch every library the X-Ray SDK
knows that is importable (sqlite3, httplib...), importing each of them on every cold start."""


class Untraced:
    """Stands in for Powertools' Tracer when tracing is off: the handler is left undecorated, and the
    X-Ray SDK (which ``Tracer()`` imports even when disabled) is never imported."""

    @staticmethod
    def capture_lambda_handler(handler: Callable[..., Any]) -> Callable[..., Any]:
        return handler


def tracer() -> Tracer | Untraced:
    """The handler's tracer: Powertools' Tracer patching botocore only, or ``Untraced`` when Powertools
    would disable tracing (POWERTOOLS_TRACE_DISABLED, or outside Lambda: its own test, pinned by a canary)."""
    if Tracer._is_tracer_disabled():
        return Untraced()
    return Tracer(patch_modules=TRACED_MODULES)


@lru_cache(maxsize=64)
def _clients(settings: Settings, region: str, function_name: str) -> Clients:
    return Clients(settings)


def deps(metrics: Metrics | None = None) -> Deps:
    """What a stage works with, made for this invocation from the environment; metrics go to the handler's Metrics.

    Only the handlers of stages that publish a metric carry Metrics; without it, ``deps.no_metric`` raises.

    Only the clients (and assumed roles, ``peering.aws.clients``) outlive the invocation: made once per cold start
    and reused by warm invocations. Their key is what is constant for one container on Lambda: the settings, the
    region and the function's name. Where several functions share one process (the in-process emulator and
    tests), the name keeps one set per function, as separate containers would.
    """
    region = default_region()
    settings = Settings.from_env()
    metric = no_metric if metrics is None else (
        lambda name, value: metrics.add_metric(name=name, unit=MetricUnit.Count, value=value))
    return Deps(settings, _clients(settings, region, os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")), region, metric)


def parse[Model: BaseModel](model: type[Model], event: Any, what: str = "stage input") -> Model:
    """Validate ``event`` into ``model`` or raise InvalidInput naming the first problem."""
    try:
        return model.model_validate(event)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "the input"
        raise InvalidInput(f"The {what} is malformed: {where}: {first.get('msg', 'invalid')}.") from e


def parse_state(event: Any, logger: Logger) -> WorkflowState:
    state = parse(WorkflowState, event, "workflow state")
    logger.append_keys(peering_id=state.peering_id, execution_arn=state.execution_arn)
    return state


def run(stage: str, logger: Logger, call: Callable[[], BaseModel | dict]) -> dict:
    """Run one stage; log and re-raise failures as the project's errors (their class is the ASL error name)."""
    try:
        result = call()
    except PeeringError as e:
        logger.error(str(e), extra={"stage": stage, "error": type(e).__name__})
        raise
    except Exception as e:  # a defect: keep the traceback in the log, a sentence in the workflow
        logger.exception("unexpected failure", extra={"stage": stage})
        raise Unexpected(f"The {stage} stage failed unexpectedly ({type(e).__name__}: {e}).") from e
    output = result.wire() if hasattr(result, "wire") else result
    # An event-driven function (intake, sweeper, cleanup) has no execution history: its "done" line in the
    # function log group, with its result, is the record `peering executions list --all` reads back.
    recorded = {"result": output} if stage in RECORDED_IN_LOG else {}
    logger.info(f"{stage} done", extra={"stage": stage, **recorded})
    return output


def start_executions(event: Any, logger: Logger) -> dict:
    """Intake: a malformed or irrelevant event is logged and dropped with its reason, never retried."""
    from .events import PeeringApiCallEvent  # noqa: PLC0415 - only the intake needs the event models

    try:
        parsed = PeeringApiCallEvent.model_validate(event)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "the event"
        reason = f"The event is not a CloudTrail API call event ({where}: {first.get('msg', 'invalid')})."
        logger.warning(reason)
        return {"started": [], "reason": reason}
    from .workflow.intake import start_from_event  # noqa: PLC0415 - only the intake starts executions

    result = start_from_event(deps(), parsed)
    logger.info(result["reason"], extra={"started": result["started"]})
    return result
