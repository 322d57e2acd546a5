"""Step Functions adapter: the workflow's executions, started, listed and described."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from ..runs import Run
from .errors import error_code, failure

PAGE_SIZE = 1000  # the most ListExecutions returns per call
SERVICE = "Step Functions"


def _failed(action: str, error: ClientError) -> Exception:
    return failure(error, action, SERVICE)


def start_execution(client: Any, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str | None:
    """Start one execution and return its ARN; None when an execution of that name exists and this call did not
    start it. Step Functions answers a repeated name with the same input as the running execution's start
    (idempotent), and ExecutionAlreadyExists when that execution is closed or its input differs (StartExecution,
    AWS API reference: "name"). A throttle is ``Throttled``, retried like every other throttle."""
    try:
        return client.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))[
            "executionArn"
        ]
    except ClientError as e:
        if error_code(e) == "ExecutionAlreadyExists":
            return None
        raise _failed(f"StartExecution of {name}", e) from e


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
        if error_code(e) == "ExecutionDoesNotExist":
            return None
        raise _failed(f"DescribeExecution of {execution_arn}", e) from e


class StepFunctions:
    """The workflow's executions through one Step Functions client (the stack's own account and region)."""

    def __init__(self, client: Any):
        self.client = client

    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str | None:
        return start_execution(self.client, state_machine_arn, name, payload)

    def status(self, execution_arn: str) -> str | None:
        return run_status(self.client, execution_arn)

    def runs(self, state_machine_arn: str, status: str | None = None) -> list[Run]:
        return list_runs(self.client, state_machine_arn, status)

    def output(self, execution_arn: str) -> Any:
        return run_output(self.client, execution_arn)
