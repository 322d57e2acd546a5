"""`peering executions list --all`: intake decisions, sweeps and cleanups, read back from the functions' log.

The functions run for real (in-process, under moto, the stack from template.yaml); the lines they log
are what Powertools formats (its own formatter, attached to the service's logger). Lambda's own part -
shipping each printed line to the function's log group (template.yaml: LoggingConfig.LogGroup =
FunctionLogGroup) - is done here by hand with PutLogEvents into moto's CloudWatch Logs. moto's
FilterLogEvents ignores JSON filter patterns (moto/logs/utils.py:35-52 treats any pattern not starting
with a letter or a quote as matching everything), so the CLI's own re-check of each line is what is
tested there; on AWS the pattern filters server side.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import boto3
import pytest
from typer.testing import CliRunner

from peering import cleanup
from peering.errors import AwsCallFailed
from peering_tools import executions, seed
from peering_tools.executions import activity
from tests.conftest import REGION, invoke, load_event

runner = CliRunner()
SERVICE = "peering-autopilot"  # POWERTOOLS_SERVICE_NAME in template.yaml's Globals: Powertools' logger name
LOG_GROUP = "peering-autopilot-FunctionLogGroup"
INTAKE, SWEEPER, CLEANUP = (f"peering-autopilot-{f}Function" for f in ("Intake", "Sweeper", "Cleanup"))


class Printed(logging.Handler):
    """Every line the functions print, formatted by Powertools' own formatter (the logger's first handler)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        powertools = logging.getLogger(SERVICE).handlers[0]
        self.lines.append((int(record.created * 1000), powertools.format(record)))


@pytest.fixture
def printed(stack) -> Iterator[Printed]:
    invoke(INTAKE, {"not": "an event"})  # the handlers' modules load, and Powertools sets up its logger first
    capture = Printed()
    logging.getLogger(SERVICE).addHandler(capture)
    yield capture
    logging.getLogger(SERVICE).removeHandler(capture)


def ship(lines: list[tuple[int, str]]) -> None:
    """Lambda's part: the printed lines go to the function log group."""
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName=LOG_GROUP)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="2026/12/02/[$LATEST]in-process")
    logs.put_log_events(logGroupName=LOG_GROUP, logStreamName="2026/12/02/[$LATEST]in-process",
                        logEvents=[{"timestamp": t, "message": m} for t, m in sorted(lines)])


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
    ship(printed.lines)

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
    ship(printed.lines)

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
