"""Probe: attached to a VPC (ProbeSubnetIds, or probe.yaml for another VPC), opens concurrent TCP connections to
the targets, each with a timeout, and returns its input with this attempt's results.

It makes no AWS call, so it needs no NAT or VPC endpoint: the targets come in its input.
"""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from peering import runtime, stages
from peering.models import ProbeRequest
from peering.workflow import verify

logger = Logger()
tracer = runtime.tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = runtime.parse(ProbeRequest, event, "probe request")
    logger.append_keys(peering_id=request.peering_id, attempt=request.probe.attempt + 1)
    return runtime.run(stages.PROBE.name, logger, lambda: verify.run_probe(request))
