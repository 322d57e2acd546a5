"""SNS adapter: the notifications."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from .errors import failure


def publish(client: Any, topic_arn: str, subject: str, message: dict[str, Any]) -> None:
    try:
        client.publish(TopicArn=topic_arn, Subject=subject[:100], Message=json.dumps(message, indent=2))
    except ClientError as e:
        raise failure(e, f"Publish to {topic_arn}", "SNS") from e


class Topic:
    """One SNS topic, through one client."""

    def __init__(self, client: Any, topic_arn: str):
        self.client = client
        self.topic_arn = topic_arn

    def publish(self, subject: str, message: dict[str, Any]) -> None:
        publish(self.client, self.topic_arn, subject, message)
