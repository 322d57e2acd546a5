"""One translator for every adapter (``peering.aws.errors``): a throttle from any service the workflow calls is
``Throttled`` (retried by the state machine), whichever throttling code the service uses; anything else is a
non-retried ``AwsCallFailed`` with the service's message in one sentence. AWS's answers are pinned with botocore's
Stubber (a client without botocore's own retries, so the stubbed error is what the adapter sees)."""

from __future__ import annotations

import ast
import inspect

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from peering.aws import ec2, errors, executions, lease, network, notify, probes, store
from peering.aws.ec2 import Ec2
from peering.aws.executions import StepFunctions
from peering.aws.notify import Topic
from peering.aws.store import RunStore
from peering.errors import RETRYABLE, AwsCallFailed, Throttled
from peering.models import RoutePlan

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:m"
TOPIC = "arn:aws:sns:us-east-1:123456789012:t"


def client(service: str):
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x",
                        config=Config(retries={"total_max_attempts": 1}))


def start(code: str) -> None:
    sfn = client("stepfunctions")
    with Stubber(sfn) as stub:
        stub.add_client_error("start_execution", code, "slow down", 400)
        StepFunctions(sfn).start(MACHINE, "pcx-1-abc", {"peeringId": "pcx-1"})


def publish(code: str) -> None:
    sns = client("sns")
    with Stubber(sns) as stub:
        stub.add_client_error("publish", code, "slow down", 400)
        Topic(sns, TOPIC).publish("subject", {"a": 1})


def describe(code: str) -> None:
    ec2_client = client("ec2")
    with Stubber(ec2_client) as stub:
        stub.add_client_error("describe_vpc_peering_connections", code, "slow down", 400)
        Ec2(ec2_client).peering("pcx-1")


def put(code: str) -> None:
    s3 = client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("put_object", code, "slow down", 503)
        RunStore(s3, "bucket").put("runs/x/plan.json", {"a": 1})


CALLS = {"StartExecution": start, "Publish": publish, "DescribeVpcPeeringConnections": describe, "PutObject": put}


@pytest.mark.parametrize("code", sorted(errors.THROTTLING_CODES))
@pytest.mark.parametrize("call", sorted(CALLS))
def test_every_throttling_code_from_every_service_is_the_retried_throttled_error(call, code):
    with pytest.raises(Throttled, match=rf"throttled .*\({code}\) after retries\.$") as caught:
        CALLS[call](code)
    assert caught.value.retryable and type(caught.value).__name__ in RETRYABLE


def test_a_start_that_is_refused_is_one_sentence_and_not_retried():
    with pytest.raises(AwsCallFailed, match=r"^StartExecution of pcx-1-abc failed with AccessDeniedException: "
                                            r"slow down\.$") as caught:
        start("AccessDeniedException")
    assert not caught.value.retryable


def test_an_execution_that_exists_already_is_no_error_but_none():
    sfn = client("stepfunctions")
    with Stubber(sfn) as stub:
        stub.add_client_error("start_execution", "ExecutionAlreadyExists", "exists", 400)
        assert StepFunctions(sfn).start(MACHINE, "pcx-1-abc", {"peeringId": "pcx-1"}) is None


def test_the_run_store_reads_a_missing_object_as_none_and_a_refused_read_as_one_sentence():
    s3 = client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("get_object", "NoSuchKey", "The specified key does not exist.", 404)
        stub.add_client_error("get_object", "AccessDenied", "Access Denied", 403)
        found = RunStore(s3, "bucket").get(RoutePlan, "runs/x/plan.json")
        with pytest.raises(AwsCallFailed, match=r"^GetObject of runs/x/plan\.json in the run store failed with "
                                                r"AccessDenied: Access Denied\.$") as caught:
            RunStore(s3, "bucket").get(RoutePlan, "runs/x/plan.json")
    assert found is None and not caught.value.retryable


@pytest.mark.parametrize("module", [ec2, executions, lease, network, notify, probes, store],
                         ids=lambda m: m.__name__)
def test_no_adapter_decides_on_throttling_codes_itself(module):
    """The set lives in one place: no adapter names a throttling code or keeps its own set."""
    source = inspect.getsource(module)
    names = {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
    strings = {n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant)}
    assert "THROTTLING_CODES" not in names and not strings & errors.THROTTLING_CODES
