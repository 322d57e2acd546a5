"""Intake: the EventBridge target. Turns one CloudTrail event into one execution per tagged peering."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from peering import runtime

logger = Logger()
tracer = runtime.tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return runtime.run("intake", logger, lambda: runtime.start_executions(event, logger))
