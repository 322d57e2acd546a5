"""DNS: allow each side to resolve the other side's private DNS names (EnableDnsResolution)."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from peering import runtime, stages
from peering.workflow import routes

logger = Logger()
tracer = runtime.tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    state = runtime.parse_state(event, logger)
    return runtime.run(stages.DNS.name, logger, lambda: routes.configure_dns(runtime.deps(), state))
