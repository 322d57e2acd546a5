"""The one translator from botocore's ``ClientError`` to the project's errors (``peering.errors``).

Every adapter of this package goes through :func:`failure` (or the :func:`translated` block around a call):
a throttle, whatever the service, is ``Throttled`` (retried by the state machine like any other throttle),
an unknown peering id is ``PeeringNotFound`` (retried: EC2 is eventually consistent), anything else is
``AwsCallFailed`` with the service's own message in one sentence.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from botocore.exceptions import ClientError

from ..errors import AwsCallFailed, PeeringError, PeeringNotFound, Throttled

THROTTLING_CODES = frozenset({
    "RequestLimitExceeded",  # EC2
    "Throttling",  # STS, SNS and the query APIs
    "ThrottlingException",  # Step Functions, DynamoDB, Lambda, tagging
    "TooManyRequestsException",  # Lambda, Step Functions
    "ProvisionedThroughputExceededException",  # DynamoDB
    "SlowDown",  # S3 (the run store)
})
"""Every code by which an AWS service says "slow down": one set for every adapter."""
NOT_FOUND_CODES = frozenset({"InvalidVpcPeeringConnectionID.NotFound", "InvalidVpcPeeringConnectionId.NotFound"})
"""EC2's codes for a peering id it does not know (yet)."""


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def failure(error: ClientError, action: str, service: str = "EC2", peering_id: str | None = None) -> PeeringError:
    """The project's error for ``error``, raised by ``action`` (words such as 'CreateRoute 10.0.0.0/16 in rtb-1')
    of ``service``; the caller raises it ``from error``."""
    code = error_code(error)
    if code in THROTTLING_CODES:
        return Throttled(f"{service} throttled {action} ({code}) after retries.")
    if code in NOT_FOUND_CODES:
        return PeeringNotFound(f"Peering {peering_id or ''} is not visible to EC2 yet ({action}).")
    message = error.response.get("Error", {}).get("Message", "")
    detail = " ".join(message.split()).rstrip(".")  # one line, one final period
    return AwsCallFailed(f"{action} failed with {code}: {detail}".rstrip(": ") + ".")


@contextlib.contextmanager
def translated(action: str, peering_id: str | None = None, service: str = "EC2") -> Iterator[None]:
    """Turn a ``ClientError`` raised inside the block into the project's error (see :func:`failure`)."""
    try:
        yield
    except ClientError as e:
        raise failure(e, action, service, peering_id) from e
