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


def start_execution(client: Any, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str | None:
    """Start one execution and return its ARN; None when an execution of that name exists and this call did not
    start it. Step Functions answers a repeated name with the same input as the running execution's start
    (idempotent), and ExecutionAlreadyExists when that execution is closed or its input differs (StartExecution,
    AWS API reference: "name")."""
    try:
        return client.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))[
            "executionArn"
        ]
    except ClientError as e:
        code = e.response["Error"].get("Code", "")
        if code == "ExecutionAlreadyExists":
            return None
        if code in THROTTLING_CODES:
            raise Throttled(f"Step Functions throttled StartExecution of {name} ({code}) after retries.") from e
        raise AwsCallFailed(f"Starting the workflow failed: {code}.") from e
