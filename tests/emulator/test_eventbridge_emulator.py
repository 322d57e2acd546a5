"""EventBridge patterns through the emulator's API, as a user's client sees them.

Given the emulator (moto's server with the stack deployed), when a rule is put or a pattern tested
with boto3 or the AWS CLI, then an invalid pattern is refused with ``InvalidEventPatternException``
and EventBridge's reason (nothing is stored), and TestEventPattern answers with the emulator's engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from peering_tools.emulator import Emulator
from tests.conftest import load_event

pytestmark = pytest.mark.emulator

REGION = "us-east-1"
BAD_PATTERN = '{"source": ["aws.ec2"], "detail": {"state": [{"contains": "run"}]}}'
BAD_REASON = "Unrecognized match type contains"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    running = Emulator(port=0)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def aws(emulator: Emulator, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION})
    return subprocess.run([sys.executable, "-m", "awscli", *args, "--endpoint-url", emulator.url],
                          capture_output=True, text=True, timeout=60, env=env)


def test_put_rule_with_an_invalid_pattern_is_refused_and_nothing_is_stored(emulator):
    events = emulator.client("events")
    before = {r["Name"] for r in events.list_rules()["Rules"]}

    with pytest.raises(ClientError) as refused:
        events.put_rule(Name="bad-rule", EventPattern=BAD_PATTERN)

    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidEventPatternException"
    assert error["Message"].startswith(f"Event pattern is not valid. Reason: {BAD_REASON}\n at [Source: (String)")
    assert {r["Name"] for r in events.list_rules()["Rules"]} == before


def test_put_rule_with_the_aws_cli_gets_the_same_error_and_exit_code(emulator):
    cli = aws(emulator, "events", "put-rule", "--name", "bad-rule-cli", "--event-pattern", BAD_PATTERN)

    assert cli.returncode == 255, cli.stderr  # AWS CLI v1 (the awscli package) exits 255 on a service error
    assert "InvalidEventPatternException" in cli.stderr
    assert f"Event pattern is not valid. Reason: {BAD_REASON}" in cli.stderr


def test_put_rule_accepts_what_eventbridge_accepts_and_keeps_it(emulator):
    events = emulator.client("events")
    pattern = json.dumps({"source": ["aws.ec2"], "$or": [{"detail.sourceIPAddress": [{"cidr": "10.0.0.0/8"}]},
                                                         {"detail": {"eventName": [{"wildcard": "Create*"}]}}]})

    events.put_rule(Name="good-rule", EventPattern=pattern, State="DISABLED")

    assert events.describe_rule(Name="good-rule")["EventPattern"] == pattern


def test_test_event_pattern_answers_with_the_emulators_engine(emulator):
    events = emulator.client("events")
    sample = json.dumps(load_event("create-tags-peering.json"))
    on_items = {"detail": {"requestParameters": {"tagSet": {"items": {"key": ["peering-automation/auto-accept"]}}}}}
    other_key = {"detail": {"requestParameters.tagSet.items.key": ["Name"]}}

    assert events.test_event_pattern(EventPattern=json.dumps(on_items), Event=sample)["Result"] is True
    assert events.test_event_pattern(EventPattern=json.dumps(other_key), Event=sample)["Result"] is False


def test_test_event_pattern_with_the_aws_cli(emulator):
    sample = json.dumps(load_event("create-tags-peering.json"))
    pattern = json.dumps({"source": ["aws.ec2"], "detail": {"errorCode": [{"exists": False}]}})

    cli = aws(emulator, "events", "test-event-pattern", "--event-pattern", pattern, "--event", sample)

    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout) == {"Result": True}


def test_test_event_pattern_refuses_an_invalid_pattern_and_an_incomplete_event(emulator):
    events = emulator.client("events")
    sample = load_event("create-tags-peering.json")

    with pytest.raises(ClientError) as bad_pattern:
        events.test_event_pattern(EventPattern=BAD_PATTERN, Event=json.dumps(sample))
    assert bad_pattern.value.response["Error"]["Code"] == "InvalidEventPatternException"

    del sample["detail-type"]
    with pytest.raises(ClientError) as bad_event:
        events.test_event_pattern(EventPattern='{"source": ["aws.ec2"]}', Event=json.dumps(sample))
    assert bad_event.value.response["Error"] == {"Code": "ValidationException",
                                                 "Message": "Parameter Event is not valid."}


def test_a_rule_fires_as_eventbridge_matches_its_pattern(emulator):
    """Delivery uses the same engine: $or, cidr and a prefix on the ISO "time" EventBridge puts in every event."""
    events, sfn = emulator.client("events"), emulator.client("stepfunctions")
    role = "arn:aws:iam::123456789012:role/events-to-sfn"
    machine = sfn.create_state_machine(name="pattern-probe", roleArn=role, definition=json.dumps(
        {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    pattern = {"source": ["test.patterns"], "time": [{"prefix": "20"}],
               "$or": [{"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}, {"detail": {"kind": [{"wildcard": "*-peering"}]}}]}
    events.put_rule(Name="pattern-probe", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="pattern-probe", Targets=[{"Id": "sfn", "Arn": machine, "RoleArn": role}])

    details = [{"ip": "10.1.2.3"}, {"kind": "vpc-peering"}, {"ip": "192.0.2.1", "kind": "vpc"}]
    events.put_events(Entries=[{"Source": "test.patterns", "DetailType": "probe", "Detail": json.dumps(d)}
                               for d in details])

    inputs = sorted((json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])["detail"]
                     for e in sfn.list_executions(stateMachineArn=machine)["executions"]), key=json.dumps)
    assert inputs == sorted([{"ip": "10.1.2.3"}, {"kind": "vpc-peering"}], key=json.dumps)


def test_other_targets_get_what_eventbridge_matches_too(emulator):
    """An SQS target is delivered by moto, but of what the emulator's engine matched: here a pattern on an
    array of objects, which moto's own matcher misses."""
    events, sqs = emulator.client("events"), emulator.client("sqs")
    queue = sqs.create_queue(QueueName="pattern-probe")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="pattern-probe-sqs", EventPattern=json.dumps(
        {"source": ["test.sqs"], "detail": {"items": {"key": ["wanted"]}}}))
    events.put_targets(Rule="pattern-probe-sqs", Targets=[{"Id": "q", "Arn": queue_arn}])

    events.put_events(Entries=[{"Source": "test.sqs", "DetailType": "probe", "Detail": json.dumps(detail)}
                               for detail in ({"items": [{"key": "other"}, {"key": "wanted"}]},
                                              {"items": [{"key": "other"}]})])

    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert [json.loads(m["Body"])["detail"] for m in received] == [{"items": [{"key": "other"}, {"key": "wanted"}]}]


SAMPLES = {  # events/<file>: the EC2 call whose rule must match it (every other rule must not)
    "create-tags-peering.json": "CreateTags",
    "create-peering-tagged.json": "CreateVpcPeeringConnection",
    "delete-peering.json": "DeleteVpcPeeringConnection",
    "create-tags-instance.json": None,
    "create-tags-peering-failed-call.json": None,
}


def test_the_deployed_rules_match_the_sample_events_through_test_event_pattern(emulator):
    """The rules as the emulator deployed them from template.yaml, asked through the API."""
    events = emulator.client("events")
    deployed = {json.loads(r["EventPattern"])["detail"]["eventName"][0]: r["EventPattern"]
                for r in events.list_rules()["Rules"]
                if r.get("EventPattern") and "eventName" in json.loads(r["EventPattern"]).get("detail", {})}
    assert set(deployed) == {"CreateTags", "CreateVpcPeeringConnection", "DeleteVpcPeeringConnection"}

    answers = {(sample, call): events.test_event_pattern(EventPattern=pattern,
                                                         Event=json.dumps(load_event(sample)))["Result"]
               for sample in SAMPLES for call, pattern in deployed.items()}

    assert answers == {(sample, call): call == SAMPLES[sample] for sample in SAMPLES for call in deployed}


def test_create_archive_with_an_invalid_pattern_is_refused_too(emulator):
    events = emulator.client("events")
    bus = events.describe_event_bus()["Arn"]

    with pytest.raises(ClientError) as refused:
        events.create_archive(ArchiveName="bad-archive", EventSourceArn=bus, EventPattern=BAD_PATTERN)

    assert refused.value.response["Error"]["Code"] == "InvalidEventPatternException"
    assert "bad-archive" not in {a["ArchiveName"] for a in events.list_archives()["Archives"]}
