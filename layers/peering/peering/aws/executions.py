"""Step Functions adapter: the workflow's executions, listed and described."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from ..errors import AwsCallFailed, Throttled
from ..runs import Run

PAGE_SIZE = 1000  # the most ListExecutions returns per call
THROTTLING_CODES = frozenset({"ThrottlingException", "TooManyRequestsException", "Throttling"})


def _failed(action: str, error: ClientError) -> Exception:
    code = error.response.get("Error", {}).get("Code", "")
    if code in THROTTLING_CODES:
        return Throttled(f"Step Functions throttled {action} ({code}) after retries.")
    message = error.response.get("Error", {}).get("Message", "")
    return AwsCallFailed(f"{action} failed with {code}: {message}".rstrip(": ") + ".")


def list_runs(client: Any, state_machine_arn: str, status: str | None = None) -> list[Run]:
    """Every execution of the state machine (only those in ``status`` when given), all pages."""
    kwargs: dict[str, Any] = {"stateMachineArn": state_machine_arn, "PaginationConfig": {"PageSize": PAGE_SIZE}}
    if status:
        kwargs["statusFilter"] = status
    runs: list[Run] = []
    try:
        for page in client.get_paginator("list_executions").paginate(**kwargs):
            runs += [Run(arn=e["executionArn"], name=e["name"], status=e["status"], start=e["startDate"])
                     for e in page.get("executions", [])]
    except ClientError as e:
        raise _failed(f"ListExecutions of {state_machine_arn}", e) from e
    return runs


def run_output(client: Any, execution_arn: str) -> Any:
    """The execution's output document (None when it has none or it is not JSON)."""
    try:
        described = client.describe_execution(executionArn=execution_arn)
    except ClientError as e:
        raise _failed(f"DescribeExecution of {execution_arn}", e) from e
    try:
        return json.loads(described.get("output") or "null")
    except ValueError:
        return None


def run_status(client: Any, execution_arn: str) -> str | None:
    """The execution's status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE), None if it does
    not exist (not started yet, never started, or older than Step Functions keeps closed executions)."""
    try:
        return client.describe_execution(executionArn=execution_arn)["status"]
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            return None
        raise _failed(f"DescribeExecution of {execution_arn}", e) from e
