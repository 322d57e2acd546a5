"""Check active: one poll of the peering's state, bounded by MaxActivationChecks."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from peering import runtime, stages
from peering.workflow import accept

logger = Logger()
tracer = runtime.tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    state = runtime.parse_state(event, logger)
    return runtime.run(stages.WAIT_ACTIVE.name, logger, lambda: accept.check_active(runtime.deps(), state))
