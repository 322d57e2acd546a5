"""Report: status tags on the peering, the SNS summary and metrics; its output is the execution's output."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from peering import runtime, stages
from peering.workflow import report

logger = Logger()
tracer = runtime.tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    state = runtime.parse_state(event, logger)
    return runtime.run(stages.REPORT.name, logger, lambda: report.report(runtime.deps(metrics), state))
