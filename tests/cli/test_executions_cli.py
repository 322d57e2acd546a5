"""`peering executions list | show` end to end: typer's CliRunner against the workflow run by moto.

One mocked account per module: the stack from template.yaml, then three real runs (routed, rejected,
failed with RouteConflict). The CLI is given no endpoint, so its boto3 clients are served by
mock_aws in-process; it finds the state machine itself (moto has no CloudFormation stack for it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from peering_tools import deploy, executions, seed, template, timewarp
from tests.cli.fixtures.record import MOTO_CONFIG, REGION, run

runner = CliRunner()


@dataclass
class Runs:
    machine_arn: str
    routed: dict
    rejected: dict
    failed: dict


@pytest.fixture(scope="module")
def runs() -> Iterator[Runs]:
    timewarp.compress(0.0)
    with mock_aws(config=MOTO_CONFIG):
        stack = deploy.deploy(template.stack_spec())
        ec2 = boto3.client("ec2", region_name=REGION)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        routed = run(sfn, stack.state_machine_arn, seed.request_peering(ec2, seed.build(ec2)))
        rejected = run(sfn, stack.state_machine_arn, seed.request_peering(ec2, seed.build(ec2), tagged=False))
        conflicted = seed.build(ec2)
        ec2.create_route(RouteTableId=conflicted.rtb_a, DestinationCidrBlock="10.7.0.0/16",
                         GatewayId=conflicted.igw_a)
        failed = run(sfn, stack.state_machine_arn, seed.request_peering(ec2, conflicted))
        yield Runs(stack.state_machine_arn, routed["describe"], rejected["describe"], failed["describe"])
    timewarp.restore()


def cli(*args: str):
    return runner.invoke(executions.app, [*args, "--region", REGION])


def pcx_of(describe: dict) -> str:
    return json.loads(describe["input"])["peeringId"]


def test_list_shows_each_run_with_its_peering_and_status(runs):
    result = cli("list")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == list(executions.LIST_COLUMNS)
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    assert rows[pcx_of(runs.routed)][3] == "verified"
    assert rows[pcx_of(runs.rejected)][3] == "rejected"
    assert rows[pcx_of(runs.failed)][3:5] == ["failed", "plan-routes"]
    assert rows[pcx_of(runs.failed)][1].startswith("vpc-")  # from the history: the run has no output


def test_list_json_is_newest_first_and_honours_max(runs):
    result = cli("list", "--json")

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["peeringId"] for r in rows] == [pcx_of(runs.failed), pcx_of(runs.rejected), pcx_of(runs.routed)]
    assert [r["status"] for r in rows] == ["failed", "rejected", "verified"]
    assert rows[2]["executionArn"] == runs.routed["executionArn"]
    assert set(rows[0]["requester"]) == {"vpcId", "accountId", "region"}
    assert all(isinstance(r["durationSeconds"], float) for r in rows)

    limited = json.loads(cli("list", "--json", "--max", "1", "--state-machine-arn", runs.machine_arn).stdout)
    assert [r["peeringId"] for r in limited] == [pcx_of(runs.failed)]


def test_show_failed_run_prints_the_cause_as_one_sentence(runs):
    result = cli("show", runs.failed["executionArn"])

    assert result.exit_code == 0, result.output
    cause = [line for line in result.stdout.splitlines() if line.startswith("cause: ")]
    assert len(cause) == 1 and "already sends 10.7.0.0/16" in cause[0]
    assert "PlanRoutes\t" in result.stdout and "caught RouteConflict" in result.stdout
    assert "rollback: removed 0 route(s)" in result.stdout
    assert "Traceback" not in result.stdout and "stackTrace" not in result.stdout and "{" not in result.stdout


def test_show_by_peering_id_finds_its_execution_and_lists_the_routes(runs):
    pcx = pcx_of(runs.routed)
    result = cli("show", pcx)

    assert result.exit_code == 0, result.output
    assert f"execution: {runs.routed['executionArn']}" in result.stdout
    created = [line.strip() for line in result.stdout.splitlines() if line.strip().endswith(f"-> {pcx}")]
    assert sorted(c.split(" -> ")[1] for c in created) == ["10.6.0.0/16", "10.7.0.0/16"]
    assert "dns: set" in result.stdout


def test_show_json_has_the_row_the_timeline_and_the_outcome(runs):
    result = cli("show", runs.failed["executionArn"], "--json")

    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["peeringId"] == pcx_of(runs.failed) and shown["status"] == "failed"
    assert [t["state"] for t in shown["timeline"]][-1] == "Failed"
    assert shown["outcome"]["error"] == "PeeringFailed" and "already sends 10.7.0.0/16" in shown["outcome"]["cause"]


def test_show_unknown_execution_is_one_line_and_exit_2(runs):
    missing = runs.routed["executionArn"].rsplit(":", 1)[0] + ":pcx-0000000000000beef-nope"
    result = cli("show", missing)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "No such execution" in result.stderr and missing in result.stderr


def test_show_unknown_peering_is_one_line_and_exit_2(runs):
    result = cli("show", "pcx-0000000000000beef")

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "pcx-0000000000000beef" in result.stderr
