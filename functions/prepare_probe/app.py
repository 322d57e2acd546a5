"""Prepare probe: where the probe runs and which targets it connects to (or why the live probe does not apply)."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from peering import runtime, stages
from peering.workflow import verify

logger = Logger()
tracer = runtime.tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    state = runtime.parse_state(event, logger)
    return runtime.run(stages.PREPARE_PROBE.name, logger, lambda: verify.prepare_probe(runtime.deps(), state))
