"""Verify: the flows asked for (peering.flows), by the probe where it ran and the path analysis; verified or failed."""

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
    return runtime.run(stages.VERIFY.name, logger, lambda: verify.verify(runtime.deps(), state))
