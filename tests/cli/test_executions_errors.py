"""`peering executions` when AWS cannot be asked: one line on stderr, exit code 2, quickly.

No mock here: the CLI really tries to connect, to a loopback port nothing listens on.
"""

from __future__ import annotations

import socket
import time

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from peering_tools import executions

runner = CliRunner()


@pytest.fixture
def dead_endpoint() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("args", [["list"], ["show", "pcx-0123456789abcdef0"],
                                  ["show", "arn:aws:states:us-east-1:123456789012:execution:m:e"]])
def test_unreachable_endpoint_fails_fast_with_one_line(dead_endpoint, args):
    started = time.monotonic()
    result = runner.invoke(executions.app, [*args, "--endpoint-url", dead_endpoint, "--region", "us-east-1"])

    assert time.monotonic() - started < 10
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and f"Cannot reach {dead_endpoint}" in result.stderr


def test_missing_credentials_is_one_line(dead_endpoint, monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    # AWS itself (no --endpoint-url): botocore refuses to sign before it opens any connection.
    result = runner.invoke(executions.app, ["list", "--region", "us-east-1"])

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "No AWS credentials" in result.stderr

    # A loopback endpoint (the emulator): dummy credentials, so the call is made and finds nothing listening.
    result = runner.invoke(executions.app, ["list", "--endpoint-url", dead_endpoint, "--region", "us-east-1"])

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and f"Cannot reach {dead_endpoint}" in result.stderr


def test_argument_that_is_neither_arn_nor_peering_is_one_line():
    result = runner.invoke(executions.app, ["show", "hello", "--region", "us-east-1"])

    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "'hello'" in result.stderr


# -- finding the state machine (stand-in clients: only the calls find_state_machine makes) -----------
class FakeCloudFormation:
    def __init__(self, outputs: dict[str, str] | None):
        self.outputs = outputs

    def describe_stacks(self, StackName: str) -> dict:  # noqa: N803 - boto3's parameter name
        if self.outputs is None:
            raise ClientError({"Error": {"Code": "ValidationError", "Message": f"Stack with id {StackName} does "
                                         "not exist"}}, "DescribeStacks")
        return {"Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]}]}


class FakeStepFunctions:
    def __init__(self, names: list[str]):
        self.names = names

    def get_paginator(self, operation: str):
        assert operation == "list_state_machines"
        names = self.names

        class Paginator:
            def paginate(self):
                yield {"stateMachines": [{"name": n, "stateMachineArn": f"arn:aws:states:r:1:stateMachine:{n}"}
                                         for n in names]}

        return Paginator()


def aws_with(outputs: dict[str, str] | None, names: list[str]) -> executions.Aws:
    aws = executions.Aws("us-east-1")
    aws._clients.update(cloudformation=FakeCloudFormation(outputs), stepfunctions=FakeStepFunctions(names))
    return aws


def test_state_machine_comes_from_the_stack_output_first():
    aws = aws_with({"StateMachineArn": "arn:from-stack"}, ["x-PeeringStateMachine"])
    assert executions.find_state_machine(aws, "peering-autopilot") == "arn:from-stack"


def test_without_the_stack_the_one_peering_state_machine_is_used():
    aws = aws_with(None, ["other", "dev-PeeringStateMachine"])
    assert executions.find_state_machine(aws, "peering-autopilot").endswith(":dev-PeeringStateMachine")


def test_several_candidates_prefer_the_stack_name_else_fail_clearly():
    names = ["dev-PeeringStateMachine", "peering-autopilot-PeeringStateMachine"]
    assert executions.find_state_machine(aws_with(None, names), "peering-autopilot").endswith(
        ":peering-autopilot-PeeringStateMachine")
    with pytest.raises(executions.CliError, match="2 state machines match"):
        executions.find_state_machine(aws_with(None, ["a-PeeringStateMachine", "b-PeeringStateMachine"]), "x")
    with pytest.raises(executions.CliError, match="no state machine named"):
        executions.find_state_machine(aws_with(None, ["unrelated"]), "x")
