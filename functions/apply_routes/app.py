"""Apply routes: create one chunk of one side's planned routes (idempotent); one item of the ApplyRoutes Map."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from peering import runtime, stages
from peering.models import ApplyRequest
from peering.workflow import routes

logger = Logger()
tracer = runtime.tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = runtime.parse(ApplyRequest, event, "route request")
    logger.append_keys(peering_id=request.peering_id, side=request.chunk.side, chunk=request.chunk.index)
    deps = runtime.deps(metrics)
    return runtime.run(stages.APPLY_ROUTES.name, logger, lambda: routes.apply_chunk(deps, request))
