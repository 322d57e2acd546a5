"""`peering local up` registers the deployed stack in the emulator's CloudFormation: describe-stacks (boto3
and the AWS CLI) shows its name, CREATE_COMPLETE, the parameters as deployed and the template's Outputs
with real values, and ExecutionsConsoleUrl opens the local console that `up` prints."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest

from peering_tools import template
from tests.emulator.test_local_up import REGION, Server, child_env, free_port, start_up, stop

pytestmark = pytest.mark.emulator

STACK = "peering-autopilot"
SECRET = "ext-id-not-to-be-shown"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Server, str]]:
    """`peering local up` with two overrides (one of them NoEcho); (server, the console URL it printed)."""
    running = start_up(free_port(), "--parameter-overrides", f"RouteTableQuota=40 AccepterRoleExternalId={SECRET}")
    try:
        yield running, running.console_url
    finally:
        assert stop(running.process) == 0


def test_describe_stacks_shows_the_stack_its_parameters_and_its_outputs(server):
    emulator, console_url = server
    stacks = emulator.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"]

    assert [(s["StackName"], s["StackStatus"]) for s in stacks] == [(STACK, "CREATE_COMPLETE")]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stacks[0]["Parameters"]}
    declared = template.load()["Parameters"]
    assert set(parameters) == set(declared)
    assert parameters["RouteTableQuota"] == "40"  # the override
    assert parameters["TriggerTagKey"] == declared["TriggerTagKey"]["Default"]
    assert parameters["ProbeSubnetIds"] == ""  # a CommaDelimitedList as given, not moto's "['']"
    assert parameters["AccepterRoleExternalId"] == "****"  # NoEcho, as AWS shows it
    assert SECRET not in json.dumps(stacks, default=str)

    outputs = {o["OutputKey"]: o for o in stacks[0]["Outputs"]}
    assert set(outputs) == set(template.load()["Outputs"])
    machines = emulator.client("stepfunctions").list_state_machines()["stateMachines"]
    assert outputs["StateMachineArn"]["OutputValue"] in [m["stateMachineArn"] for m in machines]
    topics = emulator.client("sns").list_topics()["Topics"]
    assert outputs["NotificationTopicArn"]["OutputValue"] in [t["TopicArn"] for t in topics]
    assert outputs["ExecutionsConsoleUrl"]["OutputValue"] == f"{console_url}#/executions"
    assert "local console" in outputs["ExecutionsConsoleUrl"]["Description"]
    assert outputs["StateMachineArn"]["Description"] == template.load()["Outputs"]["StateMachineArn"]["Description"]


def test_the_aws_cli_reads_the_same_outputs(server):
    emulator, console_url = server
    cli = subprocess.run(
        [sys.executable, "-m", "awscli", "cloudformation", "describe-stacks", "--stack-name", STACK,
         "--endpoint-url", emulator.url, "--region", REGION, "--output", "json"],
        capture_output=True, text=True, timeout=60, env=child_env())

    assert cli.returncode == 0, cli.stderr
    stack = json.loads(cli.stdout)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["ExecutionsConsoleUrl"] == f"{console_url}#/executions"
    assert outputs["StateMachineArn"].endswith(":stateMachine:peering-autopilot-PeeringStateMachine")


def test_list_stack_resources_lists_what_the_emulator_deployed_with_the_templates_logical_ids(server):
    """Each function, its EventBridge rules, the state machine, the topic, the lease table, the run bucket and the
    functions' log group: logical id and type as the SAM transform names them in template.yaml, physical id the
    one the emulator's own APIs list (the name, or the ARN for a state machine and a topic)."""
    emulator, _ = server
    rows = emulator.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    found = {r["LogicalResourceId"]: (r["ResourceType"], r["PhysicalResourceId"]) for r in rows}
    assert len(found) == len(rows) and {r["ResourceStatus"] for r in rows} == {"CREATE_COMPLETE"}

    source = template.load()["Resources"]
    functions = {k for k, v in source.items() if v["Type"] == "AWS::Serverless::Function"}
    rules = {f"{k}{event}" for k in functions for event in (source[k]["Properties"].get("Events") or {})}
    by_type: dict[str, dict[str, str]] = {}
    for logical, (kind, physical) in found.items():
        by_type.setdefault(kind, {})[logical] = physical
    assert set(by_type["AWS::Lambda::Function"]) == functions
    assert sorted(by_type["AWS::Lambda::Function"].values()) == sorted(
        f["FunctionName"] for f in emulator.client("lambda").list_functions()["Functions"])
    assert set(by_type["AWS::Events::Rule"]) == rules and len(rules) == 4
    assert sorted(by_type["AWS::Events::Rule"].values()) == sorted(
        r["Name"] for r in emulator.client("events").list_rules()["Rules"])
    machines = emulator.client("stepfunctions").list_state_machines()["stateMachines"]
    assert by_type["AWS::StepFunctions::StateMachine"] == {"PeeringStateMachine": machines[0]["stateMachineArn"]}
    topics = [t["TopicArn"] for t in emulator.client("sns").list_topics()["Topics"]]
    assert by_type["AWS::SNS::Topic"] == {"NotificationTopic": topics[0]}
    assert by_type["AWS::DynamoDB::Table"] == {"LeaseTable": emulator.client("dynamodb").list_tables()["TableNames"][0]}
    groups = [g["logGroupName"] for g in emulator.client("logs").describe_log_groups()["logGroups"]]
    assert by_type["AWS::Logs::LogGroup"] == {"FunctionLogGroup": groups[0]} and len(groups) == 1
    buckets = [b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]]
    assert by_type["AWS::S3::Bucket"] == {"RunBucket": buckets[0]} and len(buckets) == 1
    assert set(by_type) == {"AWS::Lambda::Function", "AWS::Events::Rule", "AWS::StepFunctions::StateMachine",
                            "AWS::SNS::Topic", "AWS::DynamoDB::Table", "AWS::Logs::LogGroup", "AWS::S3::Bucket"}, \
        "roles, policies, permissions, the layer, the bucket policy are not made locally, so not listed"


def test_the_console_url_serves_the_page_and_its_api_on_loopback(server):
    _, console_url = server
    assert console_url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(console_url, timeout=10) as page:  # noqa: S310 - loopback URL printed by `up`
        assert page.status == 200 and "local console" in page.read().decode()
    with urllib.request.urlopen(f"{console_url}api/stack", timeout=10) as api:  # noqa: S310
        body = json.loads(api.read())
    assert body["name"] == STACK and body["status"] == "CREATE_COMPLETE"
    with urllib.request.urlopen(f"{console_url}api/executions", timeout=30) as api:  # noqa: S310
        assert json.loads(api.read()) == []
    with urllib.request.urlopen(f"{console_url}api/activity", timeout=30) as api:  # noqa: S310
        body = json.loads(api.read())
    assert body["items"] == [] and body["logGroup"] == "peering-autopilot-FunctionLogGroup"


def test_a_busy_console_port_is_one_sentence_and_exit_2():
    import socket  # noqa: PLC0415

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "peering_tools.cli", "local", "up", "--port", str(free_port()),
                                 "--console-port", str(busy)], capture_output=True, text=True, timeout=60,
                                env=child_env())
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: The console's port {busy} on 127.0.0.1 is not available")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_console_needs_no_aws_configuration(tmp_path):
    """A newcomer's shell: no AWS_* variables, no ~/.aws. The console reads the emulator with its own
    dummy credentials, so its API answers instead of 'Unable to locate credentials'."""
    import os  # noqa: PLC0415
    import queue  # noqa: PLC0415
    import threading  # noqa: PLC0415

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(tmp_path), AWS_CONFIG_FILE=str(tmp_path / "no-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"))
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "peering_tools.cli", "local", "up", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        assert lines.get(timeout=60) == f"ready: http://127.0.0.1:{port}\n"
        console_url = lines.get(timeout=10).split()[1]
        for api, expected in (("executions", []), ("activity", [])):
            with urllib.request.urlopen(f"{console_url}api/{api}", timeout=30) as answer:  # noqa: S310 - loopback
                body = json.loads(answer.read())
            assert (body if api == "executions" else body["items"]) == expected
    finally:
        assert stop(process) == 0
