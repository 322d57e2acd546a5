"""`peering executions list | show` end to end: typer's CliRunner against the workflow run by moto.

One mocked account per module (tests/cli/workflow_live.py: the stack from template.yaml, the current
ASL), then three real runs (verified, rejected, failed with RouteConflict). The CLI is given no
endpoint, so its boto3 clients are served by mock_aws in-process; it finds the state machine itself
(moto has no CloudFormation stack for it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner

from peering_tools import executions
from tests.cli.workflow_runs import REGION, account

runner = CliRunner()


@dataclass
class Runs:
    machine_arn: str
    routed: dict
    rejected: dict
    failed: dict


@pytest.fixture(scope="module")
def live() -> Iterator[Runs]:
    with account() as acct:
        done = {scenario: acct.run(scenario).describe for scenario in ("verified", "rejected", "failed")}
        yield Runs(acct.machine_arn, done["verified"], done["rejected"], done["failed"])


def cli(*args: str):
    return runner.invoke(executions.app, [*args, "--region", REGION])


def pcx_of(describe: dict) -> str:
    return json.loads(describe["input"])["peeringId"]


def test_list_shows_each_run_with_its_peering_and_status(live):
    result = cli("list")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == list(executions.LIST_COLUMNS)
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    assert rows[pcx_of(live.routed)][3] == "verified"
    assert rows[pcx_of(live.rejected)][3] == "rejected"
    assert rows[pcx_of(live.failed)][3:5] == ["failed", "plan-routes"]
    assert rows[pcx_of(live.failed)][1].startswith("vpc-")  # from the history: the run has no output


def test_list_json_is_newest_first_and_honours_max(live):
    result = cli("list", "--json")

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["peeringId"] for r in rows] == [pcx_of(live.failed), pcx_of(live.rejected), pcx_of(live.routed)]
    assert [r["status"] for r in rows] == ["failed", "rejected", "verified"]
    assert rows[2]["executionArn"] == live.routed["executionArn"]
    assert set(rows[0]["requester"]) == {"vpcId", "accountId", "region"}
    assert all(isinstance(r["durationSeconds"], float) for r in rows)

    limited = json.loads(cli("list", "--json", "--max", "1", "--state-machine-arn", live.machine_arn).stdout)
    assert [r["peeringId"] for r in limited] == [pcx_of(live.failed)]


def test_show_failed_run_prints_the_cause_as_one_sentence(live):
    result = cli("show", live.failed["executionArn"])

    assert result.exit_code == 0, result.output
    cause = [line for line in result.stdout.splitlines() if line.startswith("cause: ")]
    assert len(cause) == 1 and "already sends 10.7.0.0/16" in cause[0]
    assert "PlanRoutes\t" in result.stdout and "caught RouteConflict" in result.stdout
    assert "rollback: removed 0 route(s)" in result.stdout
    assert "Traceback" not in result.stdout and "stackTrace" not in result.stdout and "{" not in result.stdout


def test_show_by_peering_id_finds_its_execution_and_counts_the_routes_with_their_details_pointer(live):
    pcx = pcx_of(live.routed)
    result = cli("show", pcx)

    assert result.exit_code == 0, result.output
    assert f"execution: {live.routed['executionArn']}" in result.stdout
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "routes created: 2" in lines
    name = live.routed["executionArn"].rsplit(":", 1)[1]
    assert any(line.startswith("route details: s3://") and line.endswith(f"/runs/{name}/") for line in lines)
    assert "dns: set" in result.stdout


def test_show_json_has_the_row_the_timeline_and_the_outcome(live):
    result = cli("show", live.failed["executionArn"], "--json")

    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["peeringId"] == pcx_of(live.failed) and shown["status"] == "failed"
    assert [t["state"] for t in shown["timeline"]][-1] == "Failed"
    assert shown["outcome"]["error"] == "PeeringFailed" and "already sends 10.7.0.0/16" in shown["outcome"]["cause"]


def test_show_unknown_execution_is_one_line_and_exit_2(live):
    missing = live.routed["executionArn"].rsplit(":", 1)[0] + ":pcx-0000000000000beef-nope"
    result = cli("show", missing)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "No such execution" in result.stderr and missing in result.stderr


def test_show_unknown_peering_is_one_line_and_exit_2(live):
    result = cli("show", "pcx-0000000000000beef")

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "pcx-0000000000000beef" in result.stderr
