"""Inspect: read the peering, both VPCs and their CIDRs live; refuse, or decide what comes next."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from peering import runtime, stages
from peering.workflow import inspect

logger = Logger()
tracer = runtime.tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    state = runtime.parse_state(event, logger)
    return runtime.run(stages.INSPECT.name, logger, lambda: inspect.inspect(runtime.deps(), state))
