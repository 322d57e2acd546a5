"""`peering executions list --all`: intake decisions, sweeps and cleanups, read back from the functions' log.

The functions run for real (in-process, under moto, the stack from template.yaml). Lambda's own part -
each line the function prints goes to its log group (template.yaml: LoggingConfig.LogGroup =
FunctionLogGroup) - is played by the in-process seam (peering_tools.inprocess), which puts the lines
Powertools formats into moto's CloudWatch Logs. moto's FilterLogEvents ignores JSON filter patterns
(moto/logs/utils.py:35-52 treats a pattern that starts with neither a letter nor a quote as matching
everything), so here the CLI's own check of each line does the filtering; on AWS the pattern does it
server side.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import boto3
import pytest
from rich.console import Console
from typer.testing import CliRunner

from peering import cleanup
from peering.errors import AwsCallFailed
from peering_tools import executions, seed
from peering_tools.executions import activity
from tests.conftest import REGION, invoke, load_event

runner = CliRunner()
LOG_GROUP = "peering-autopilot-FunctionLogGroup"
INTAKE, SWEEPER, CLEANUP = (f"peering-autopilot-{f}Function" for f in ("Intake", "Sweeper", "Cleanup"))


@pytest.fixture
def printed(stack) -> None:
    """The stack's functions log to LOG_GROUP, and nothing is in it yet."""
    assert {fn.log_group for fn in stack.deployed.spec.functions.values()} == {LOG_GROUP}
    assert boto3.client("logs", region_name=REGION).filter_log_events(logGroupName=LOG_GROUP)["events"] == []


def list_all(*args: str):
    return runner.invoke(executions.app, ["list", "--all", "--log-group", LOG_GROUP, "--region", REGION, *args])


def test_refused_event_sweep_and_cleanup_are_listed_with_what_they_did(stack, ec2, network, printed):
    refused = invoke(INTAKE, load_event("create-tags-instance.json"))
    pcx = seed.request_peering(ec2, network)
    swept = invoke(SWEEPER, {"id": "sweep-1", "time": "2026-12-02T05:00:00Z"})
    assert [s["peeringId"] for s in swept["started"]] == [pcx]
    stack.wait(swept["started"][0]["executionArn"])
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    delete = load_event("delete-peering.json")
    delete["detail"]["requestParameters"]["vpcPeeringConnectionId"] = pcx
    cleaned = invoke(CLEANUP, delete)
    assert len(cleaned["removed"]) == 2

    result = list_all("--json")

    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [e["peeringId"] for e in listed["executions"]] == [pcx]
    by_kind = {a["kind"]: a for a in listed["activity"]}
    assert [a["kind"] for a in listed["activity"]] == ["cleanup", "sweep", "intake"]  # newest first
    assert by_kind["intake"]["status"] == "refused" and by_kind["intake"]["reason"] == refused["reason"]
    assert by_kind["intake"]["peeringIds"] == []
    assert by_kind["sweep"]["status"] == "swept" and by_kind["sweep"]["peeringIds"] == [pcx]
    assert by_kind["sweep"]["result"]["started"][0]["executionArn"] == swept["started"][0]["executionArn"]
    assert by_kind["cleanup"]["status"] == "cleaned" and by_kind["cleanup"]["peeringIds"] == [pcx]
    assert by_kind["cleanup"]["result"]["removed"] == cleaned["removed"]
    assert by_kind["cleanup"]["function"] == CLEANUP

    console = Console(file=StringIO(), width=250, color_system=None)
    console.print(executions.render.activity_table(activity.read(
        boto3.client("logs", region_name=REGION), LOG_GROUP, datetime.now(UTC) - timedelta(hours=1), 10), "activity"))
    rendered = console.file.getvalue()
    assert all(word in rendered for word in ("cleanup", "cleaned", "swept", "refused", pcx, refused["reason"][:40]))

    plain = list_all()
    assert plain.exit_code == 0, plain.output
    sections = plain.stdout.split("\n\n")
    assert sections[1].splitlines()[0].split("\t") == list(executions.render.ACTIVITY_COLUMNS)
    assert sections[1].splitlines()[1].split("\t")[:3] == ["cleanup", "cleaned", pcx]
    assert sections[1].splitlines()[3].split("\t")[1] == "refused"


def test_a_failed_cleanup_is_listed_with_its_one_sentence_error(stack, printed, monkeypatch):
    def refuse(self, peering_id, peering=None, notify=True):
        raise AwsCallFailed(f"EC2 refused DescribeRouteTables while cleaning up {peering_id}.")

    monkeypatch.setattr(cleanup.Cleanup, "clean", refuse)
    delete = load_event("delete-peering.json")
    delete["detail"]["requestParameters"]["vpcPeeringConnectionId"] = "pcx-0000000000000dead"
    response = boto3.client("lambda", region_name=REGION).invoke(FunctionName=CLEANUP, Payload=json.dumps(delete))
    assert response.get("FunctionError") == "Unhandled"

    listed = json.loads(list_all("--json").stdout)["activity"]

    assert [(a["kind"], a["status"], a["reason"]) for a in listed] == [
        ("cleanup", "failed", "EC2 refused DescribeRouteTables while cleaning up pcx-0000000000000dead.")]


def test_only_the_event_driven_functions_lines_count():
    line = {"level": "INFO", "message": "verify done", "stage": "verify", "function_name": "x"}
    assert activity.activity_from({"timestamp": 0, "message": json.dumps(line)}) is None
    assert activity.activity_from({"timestamp": 0, "message": "START RequestId: 1 Version: $LATEST"}) is None
    assert activity.FILTER_PATTERN == '{ $.stage = "intake" || $.stage = "sweep" || $.stage = "cleanup" }'


def test_a_logged_result_of_another_shape_is_refused_in_one_sentence():
    line = {"level": "INFO", "message": "cleanup done", "stage": "cleanup",
            "result": {"peeringId": "pcx-1", "peeringState": "deleted", "reason": "x", "removedRoutes": []}}
    with pytest.raises(executions.Unreadable, match=r"cleanup .*CleanupResult \(unknown field removedRoutes\)"):
        activity.activity_from({"timestamp": 0, "message": json.dumps(line)})


def test_without_the_stack_output_list_all_asks_for_the_log_group_in_one_line(stack):
    result = runner.invoke(executions.app, ["list", "--all", "--region", REGION])

    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "pass --log-group" in result.stderr
