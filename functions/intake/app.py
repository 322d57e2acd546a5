"""Intake: the EventBridge target. Turns one CloudTrail event into one execution per tagged peering."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from peering import runtime, stages

logger = Logger()
tracer = runtime.tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return runtime.run(stages.INTAKE.name, logger, lambda: runtime.start_executions(event, logger))
