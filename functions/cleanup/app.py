"""Cleanup: a peering was deleted (CloudTrail DeleteVpcPeeringConnection); remove the routes that point
at it on both sides and notify."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from peering import runtime, stages
from peering.cleanup import Cleanup

logger = Logger()
tracer = runtime.tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return runtime.run(stages.CLEANUP.name, logger, lambda: Cleanup(runtime.deps(metrics)).on_delete_event(event))
