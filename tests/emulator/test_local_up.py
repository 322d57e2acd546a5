"""`peering local up` as a user runs it: a subprocess on a free loopback port, driven by boto3 and
the AWS CLI. Tagging a peering must start the workflow through the emulator's CloudTrail events and
EventBridge rules, exactly as in an account; a disabled rule must not fire.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import boto3
import pytest

from peering_tools import seed

pytestmark = pytest.mark.emulator

REGION = "us-east-1"
READY_TIMEOUT = 90.0  # ends as soon as the line comes: generous, for the netns data plane on a loaded machine
STATUS_TIMEOUT = 30.0
STATUS_TAG = "peering-automation/status"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION})
    return env


def peering(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "peering_tools.cli", "local", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env() if env is None else env)


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    lines: queue.Queue
    console_url: str = ""
    """The local console's URL, from `up`'s second line."""
    errors: queue.Queue = field(default_factory=queue.Queue)
    """Its stderr lines, read as they come (an unread pipe would block the emulator once full)."""

    def client(self, service: str, **kwargs):
        return boto3.client(service, region_name=kwargs.pop("region_name", REGION), endpoint_url=self.url,
                            **{**CREDENTIALS, **kwargs})


def start_up(port: int, *args: str, env: dict[str, str] | None = None) -> Server:
    """`peering local up` on ``port`` (in ``env``, by default ``child_env()``): its stdout is the ready line, then
    the console line; both streams are read as they come."""
    process = peering("up", "--port", str(port), *args, env=env)
    lines: queue.Queue = queue.Queue()
    errors: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    threading.Thread(target=lambda: [errors.put(line) for line in process.stderr], daemon=True).start()
    try:
        first = lines.get(timeout=READY_TIMEOUT)
        second = lines.get(timeout=10)
    except queue.Empty:
        process.kill()
        process.wait(timeout=20)
        pytest.fail(f"`peering local up` did not print its two lines within {READY_TIMEOUT:.0f} s: "
                    f"{''.join(errors.queue)}")
    assert first == f"ready: http://127.0.0.1:{port}\n"
    assert re.fullmatch(r"console: http://127\.0\.0\.1:\d+/ \(.*\)\n", second), second
    return Server(process, f"http://127.0.0.1:{port}", lines, second.split()[1], errors)


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = start_up(free_port())
    try:
        yield running
    finally:
        assert stop(running.process) == 0, "`peering local up` must exit 0 on SIGTERM"
        time.sleep(0.2)  # let the reader thread drain what is left
        extra = list(running.lines.queue)
        assert not extra, f"stdout carries only the ready and console lines; logs go to stderr: {extra}"


def tags_of(ec2, pcx: str) -> dict[str, str]:
    found = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"]
    return {t["Key"]: t["Value"] for t in found[0].get("Tags", [])}


def wait_for_status(ec2, pcx: str, timeout: float = STATUS_TIMEOUT) -> str:
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = tags_of(ec2, pcx).get(STATUS_TAG)
        if status in ("routed", "verified", "failed", "rejected"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"{pcx} had {STATUS_TAG}={status} after {timeout:.0f} s")


def executions_for(server: Server, pcx: str) -> list[dict]:
    sfn = server.client("stepfunctions")
    machine = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"])
    return [e for e in sfn.list_executions(stateMachineArn=machine)["executions"] if e["name"].startswith(f"{pcx}-")]


def wait_for_executions(server: Server, pcx: str, timeout: float = STATUS_TIMEOUT) -> list[dict]:
    """The peering's executions once none is running (the status tag is set before the run ends)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = executions_for(server, pcx)
        if found and all(e["status"] != "RUNNING" for e in found):
            return found
        time.sleep(0.1)
    raise AssertionError(f"{pcx}'s executions still running after {timeout:.0f} s")


def routes_to(ec2, table: str, pcx: str) -> list[str]:
    return [dest for dest, target in seed.routes(ec2, table) if target == pcx]


def test_tagging_an_untagged_peering_with_create_tags_starts_the_workflow_and_routes_both_sides(server):
    ec2 = server.client("ec2")
    net = seed.build(ec2)
    pcx = seed.request_peering(ec2, net, tagged=False)
    time.sleep(1.0)
    assert executions_for(server, pcx) == [], "an untagged peering must not start the workflow"

    ec2.create_tags(Resources=[pcx], Tags=[{"Key": seed.TRIGGER_TAG, "Value": "true"}])

    assert wait_for_status(ec2, pcx) == "verified"
    assert routes_to(ec2, net.rtb_a, pcx) == ["10.7.0.0/16"]
    assert routes_to(ec2, net.rtb_b, pcx) == ["10.6.0.0/16"]
    assert [e["status"] for e in wait_for_executions(server, pcx)] == ["SUCCEEDED"]

    listed = subprocess.run(
        [sys.executable, "-m", "peering_tools.cli", "executions", "list", "--json", "--endpoint-url", server.url,
         "--region", REGION], capture_output=True, text=True, timeout=60, env=child_env())
    assert listed.returncode == 0, listed.stderr
    rows = [row for row in json.loads(listed.stdout) if row["peeringId"] == pcx]
    assert len(rows) == 1 and rows[0]["status"] == "verified"
    assert (rows[0]["requester"]["vpcId"], rows[0]["accepter"]["vpcId"]) == (net.vpc_a, net.vpc_b)


def test_a_failed_run_is_told_by_its_status_and_history_not_by_the_interpreters_log(server):
    """A peering whose route would replace someone's route fails, and the terminal running `up` is not sent
    moto's interpreter dump of the Fail state (it was: `Exception=FailureEventException ... at '(StateFail| ...`)."""
    ec2 = server.client("ec2")
    net = seed.build(ec2)
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=net.vpc_b)
    ec2.create_route(RouteTableId=net.rtb_b, DestinationCidrBlock="10.6.0.0/16", GatewayId=igw)
    while not server.errors.empty():
        server.errors.get_nowait()
    pcx = seed.request_peering(ec2, net, tagged=True)

    assert wait_for_status(ec2, pcx) == "failed"
    assert "no route was changed" in tags_of(ec2, pcx)["peering-automation/reason"]
    assert [e["status"] for e in wait_for_executions(server, pcx)] == ["FAILED"]
    time.sleep(0.2)  # let the reader thread take what the run wrote
    dumped = [line for line in server.errors.queue if "FailureEventException" in line]
    assert not dumped, dumped


def test_the_same_tag_step_with_the_aws_cli_starts_the_workflow(server):
    ec2 = server.client("ec2")
    net = seed.build(ec2)
    pcx = seed.request_peering(ec2, net, tagged=False)

    cli = subprocess.run(
        [sys.executable, "-m", "awscli", "ec2", "create-tags", "--resources", pcx,
         "--tags", f"Key={seed.TRIGGER_TAG},Value=true", "--endpoint-url", server.url, "--region", REGION],
        capture_output=True, text=True, timeout=60, env=child_env(),
    )

    assert cli.returncode == 0, cli.stderr
    assert wait_for_status(ec2, pcx) == "verified"
    assert routes_to(ec2, net.rtb_a, pcx) == ["10.7.0.0/16"]


def test_a_disabled_rule_does_not_fire_and_fires_again_once_enabled(server):
    ec2, events = server.client("ec2"), server.client("events")
    rule = next(r["Name"] for r in events.list_rules()["Rules"] if "CreateTags" in r["EventPattern"])
    net = seed.build(ec2)
    pcx = seed.request_peering(ec2, net, tagged=False)

    events.disable_rule(Name=rule)
    try:
        ec2.create_tags(Resources=[pcx], Tags=[{"Key": seed.TRIGGER_TAG, "Value": "true"}])
        time.sleep(3.0)
        assert executions_for(server, pcx) == []
        assert STATUS_TAG not in tags_of(ec2, pcx)
    finally:
        events.enable_rule(Name=rule)

    ec2.create_tags(Resources=[pcx], Tags=[{"Key": seed.TRIGGER_TAG, "Value": "TRUE"}])  # the same call, enabled
    assert wait_for_status(ec2, pcx) == "verified"


def test_calls_made_with_assumed_role_credentials_put_cloudtrail_events_on_that_accounts_bus(server):
    """Given credentials for account 111122223333 in eu-west-1, a successful CreateTags there puts one
    CloudTrail-shaped event on that account's default bus (seen through an SQS target), a failed one none."""
    account, region = "111122223333", "eu-west-1"
    creds = server.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/NetworkEngineer",
                                             RoleSessionName="engineer")["Credentials"]
    keys = {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"]}
    sqs = server.client("sqs", region_name=region, **keys)
    events = server.client("events", region_name=region, **keys)
    ec2 = server.client("ec2", region_name=region, **keys)
    queue_url = sqs.create_queue(QueueName="cloudtrail")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert f":{account}:" in queue_arn
    events.put_rule(Name="ec2-calls", EventPattern=json.dumps({"source": ["aws.ec2"]}))
    events.put_targets(Rule="ec2-calls", Targets=[{"Id": "q", "Arn": queue_arn}])
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    peer = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=peer)["VpcPeeringConnection"][
        "VpcPeeringConnectionId"]
    with pytest.raises(ec2.exceptions.ClientError):
        ec2.create_tags(Resources=["pcx-00000000000000000"], Tags=[{"Key": "k", "Value": "v"}])
    ec2.create_tags(Resources=[pcx, vpc], Tags=[{"Key": "team", "Value": "net"}])

    received = []
    deadline = time.monotonic() + 10
    while len(received) < 2 and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        received += [json.loads(m["Body"]) for m in messages.get("Messages", [])]

    assert [e["detail"]["eventName"] for e in received] == ["CreateVpcPeeringConnection", "CreateTags"]
    create, tag = received
    # the rule and the queue exist only in that account and region: receiving at all proves the bus
    assert (create["region"], create["detail-type"]) == (region, "AWS API Call via CloudTrail")
    detail = tag["detail"]
    assert detail["eventSource"] == "ec2.amazonaws.com" and detail["eventType"] == "AwsApiCall"
    assert (detail["recipientAccountId"], detail["awsRegion"]) == (account, region)
    assert detail["userIdentity"]["type"] == "AssumedRole"
    assert detail["userIdentity"]["accountId"] == account
    assert detail["userIdentity"]["arn"] == f"arn:aws:sts::{account}:assumed-role/NetworkEngineer/engineer"
    assert detail["requestParameters"] == {"resourcesSet": {"items": [{"resourceId": pcx}, {"resourceId": vpc}]},
                                           "tagSet": {"items": [{"key": "team", "value": "net"}]}}
    assert detail["requestID"] == detail["responseElements"]["requestId"]
    assert create["detail"]["requestParameters"] == {"vpcId": vpc, "peerVpcId": peer}
    assert create["detail"]["responseElements"]["vpcPeeringConnection"]["vpcPeeringConnectionId"] == pcx
    assert "errorCode" not in detail


def test_up_prints_exactly_its_two_lines_and_exits_0_on_sigint():
    running = start_up(free_port())
    running.process.send_signal(signal.SIGINT)
    assert running.process.wait(timeout=20) == 0
    time.sleep(0.2)  # let the reader thread drain what is left
    assert running.lines.empty(), "stdout carries only the ready and console lines"


def test_up_on_a_busy_port_is_a_one_line_error_and_exit_2():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        process = peering("up", "--port", str(busy.getsockname()[1]))
        out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert out == ""
    assert err.count("\n") == 1 and "is not available" in err and "Traceback" not in err


def test_up_with_an_unknown_parameter_override_is_a_one_line_error_and_exit_2():
    process = peering("up", "--port", str(free_port()), "--parameter-overrides", "NoSuchParameter=1")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.count("\n") == 1 and "NoSuchParameter" in err and "Traceback" not in err


def test_up_takes_parameter_overrides_as_separate_words_like_sam_deploy():
    # The second word reaches the template (and is refused there): it was read as an override, not as a
    # stray argument.
    process = peering("up", "--port", str(free_port()), "--parameter-overrides", "DefaultProbePort=23",
                      "NoSuchParameter=1")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.count("\n") == 1 and "NoSuchParameter" in err and "Traceback" not in err
