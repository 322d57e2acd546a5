"""Sweeper: on a schedule, start the workflow for tagged requests whose event was lost, and clean up
the routes of peerings that are gone."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from peering import runtime, stages, sweeper

logger = Logger()
tracer = runtime.tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return runtime.run(stages.SWEEP.name, logger, lambda: sweeper.sweep(runtime.deps(metrics), event))
