"""SNS and Step Functions adapters."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from ..errors import AwsCallFailed, Throttled
from .ec2 import THROTTLING_CODES


def publish(client: Any, topic_arn: str, subject: str, message: dict[str, Any]) -> None:
    try:
        client.publish(TopicArn=topic_arn, Subject=subject[:100], Message=json.dumps(message, indent=2))
    except ClientError as e:
        code = e.response["Error"].get("Code", "")
        if code in THROTTLING_CODES:  # retried by the state machine like any other throttle
            raise Throttled(f"SNS throttled Publish to {topic_arn} ({code}) after retries.") from e
        raise AwsCallFailed(f"Publishing to {topic_arn} failed: {code}.") from e


def start_execution(client: Any, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
    """Start one execution; an execution of the same name and input is the same request (no-op)."""
    try:
        return client.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))[
            "executionArn"
        ]
    except ClientError as e:
        if e.response["Error"].get("Code") == "ExecutionAlreadyExists":
            return f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
        raise AwsCallFailed(f"Starting the workflow failed: {e.response['Error'].get('Code')}.") from e
