"""What every handler shares: settings and the workflow built once per cold start, input parsing
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

from .config import Settings
from .errors import InvalidInput, PeeringError, Unexpected
from .models import WorkflowState
from .service import Workflow

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
def _workflow(settings: Settings, region: str, function_name: str) -> Workflow:
    return Workflow(settings, region=region)


def workflow(metrics: Metrics | None = None) -> Workflow:
    """The stages, configured from the environment; metrics go to the handler's Metrics.

    Built once per cold start and reused by warm invocations, with its clients and assumed roles
    (``peering.aws.clients``). The key is what is constant for one container on Lambda: the settings,
    the region and the function's name. Where several functions share one process (the in-process
    emulator and tests), the name keeps one cache per function, as separate containers would.
    """
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    flow = _workflow(Settings.from_env(), region, os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""))
    if metrics is not None:
        flow.metric = lambda name, value: metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return flow


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
    logger.info(f"{stage} done", extra={"stage": stage})
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
    flow = workflow()
    sfn = flow.clients.client("stepfunctions", flow.settings.stack_account_id, flow.region)
    result = flow.start_from_event(parsed, sfn)
    logger.info(result["reason"], extra={"started": result["started"]})
    return result
