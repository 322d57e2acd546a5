"""Shared fixtures: moto with in-process Lambdas and the real ASL interpreter, the seed network."""

from __future__ import annotations

import contextvars
import functools
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# moto loads about 1,300 AMIs into every EC2 backend it makes (moto/ec2/models/amis.py:187-215: the
# default list plus latest_amis/ and ecs/optimized_amis/ for the region), and every test makes new
# backends. With MOTO_AMIS_PATH set it loads only that file (amis.py:29-31, 188, 203): one public
# Amazon-owned image, which the seed's describe_images(Owners=["amazon"]) finds. Read at import of
# moto.ec2.models.amis, so it is set before moto is imported; emulators the tests start inherit it.
os.environ.setdefault("MOTO_AMIS_PATH", str(Path(__file__).resolve().parent / "data" / "amis.json"))

import boto3  # noqa: E402
import botocore.client  # noqa: E402
import botocore.loaders  # noqa: E402
import botocore.session  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

# Each boto3 session gets its own botocore Loader (botocore/session.py:198-202), which parses the service
# models' JSON again; the in-process Lambdas make new sessions at every cold start (every test deploys).
# One loader per search path for the whole test process: the models are read once. Checked by
# tests/unit/test_moto_seams.py::test_botocore_sessions_get_their_loader_from_create_loader.
botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)

from peering_tools import deploy, emulated_network, inprocess, seed, template, timewarp  # noqa: E402

# -- the fault injection's count, printed at the end of the run ----------------------------------------
# Here, not in tests/fault/conftest.py: under pytest-xdist (make test) only the controller prints, and it
# loads no conftest below this one, so the hooks would never see the workers' reports there.
FAULT_MODULE = "tests/fault/test_faults.py"

_tally = {"ran": 0, "held": 0, "xfailed": 0}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.nodeid.startswith(FAULT_MODULE):
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        if report.skipped and not hasattr(report, "wasxfail"):
            return
        _tally["ran"] += 1
        if hasattr(report, "wasxfail"):
            _tally["xfailed"] += 1
        elif report.passed:
            _tally["held"] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _tally["ran"]:
        known = f" ({_tally['xfailed']} known defects, marked xfail)" if _tally["xfailed"] else ""
        terminalreporter.write_line(f"fault injection: {_tally['ran']} scenarios ran, {_tally['held']} held{known}")


REGION = "us-east-1"
ACCOUNT = "123456789012"
EVENTS = Path(__file__).resolve().parents[1] / "events"
MOTO_CONFIG = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and a region: nothing in the tests may reach a real account."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def aws_route_state(route) -> str:
    """A route's state as AWS reports it once its peering is deleted, rejected, expired or failed: ``blackhole``
    (moto 5.2.5 always says ``active``: moto/ec2/models/route_tables.py:260-262; canaries in
    tests/unit/test_moto_seams.py and tests/emulator/test_ec2_fidelity.py). A pending peering's routes are
    blackholes on AWS too (the emulator's ec2_fidelity shows that); here they stay ``active`` so that the
    fault tests' before/after comparisons of pre-existing routes see only what a run changed."""
    pcx = getattr(route, "vpc_pcx", None)
    gone = pcx is not None and pcx._status.code in ("deleted", "rejected", "expired", "failed")
    return "blackhole" if gone else "active"


@pytest.fixture
def aws() -> Iterator[None]:
    """Raw moto (the canaries need it as it is)."""
    with mock_aws(config=MOTO_CONFIG):
        yield


_handler: contextvars.ContextVar[str | None] = contextvars.ContextVar("handler", default=None)


def record_handler_calls(monkeypatch: pytest.MonkeyPatch,
                         on_call: Callable[[str, Any, str, dict, Callable[[str, dict], dict]], None],
                         on_invoke: Callable[[str], None] = lambda function: None) -> None:
    """Report every boto3 call made inside an in-process handler (its worker threads included):
    ``on_call(function, client, operation, params, unrecorded_call)``, before the call is made;
    ``unrecorded_call(operation, params)`` makes a call on the same client that is not reported."""
    original_module = inprocess._module
    original_call = botocore.client.BaseClient._make_api_call

    def module(code_dir, handler):
        fn = original_module(code_dir, handler)

        def wrapped(event, context):
            token = _handler.set(context.function_name)  # follows the handler into its worker threads
            on_invoke(context.function_name)
            try:
                return fn(event, context)
            finally:
                _handler.reset(token)

        return wrapped

    def make_api_call(self, operation_name, api_params):
        function = _handler.get()
        if function:
            on_call(function, self, operation_name, api_params,
                    lambda op, params: original_call(self, op, params))
        return original_call(self, operation_name, api_params)

    monkeypatch.setattr(inprocess, "_module", module)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)


def consent(ec2, vpc_id: str, *accepts: str) -> None:
    """The VPC owner's consent (ConsentMode=tag): ``peering-automation/accept-from`` listing ``accepts``."""
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": seed.CONSENT_TAG, "Value": ",".join(accepts or ("*",))}])


@pytest.fixture
def ec2(aws: None):
    return boto3.client("ec2", region_name=REGION)


@pytest.fixture
def network(ec2) -> seed.SeedNetwork:
    return seed.build(ec2)


def invoke(function: str, payload: dict) -> dict:
    """Invoke a deployed function synchronously (in-process) and return its result; it must not fail."""
    response = boto3.client("lambda", region_name=REGION).invoke(FunctionName=function, Payload=json.dumps(payload))
    result = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, result
    return result


def all_route_tables(ec2) -> list[dict]:
    """Every route table with its routes, normalized for before/after comparison."""
    tables = ec2.describe_route_tables()["RouteTables"]
    return sorted(
        ({"id": t["RouteTableId"], "routes": sorted(json.dumps(r, sort_keys=True, default=str) for r in t["Routes"])}
         for t in tables),
        key=lambda t: t["id"],
    )


def peering_tags(ec2, pcx: str) -> dict[str, str]:
    found = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"]
    return {t["Key"]: t["Value"] for t in found[0].get("Tags", [])}


class Stack:
    """The deployed template in moto, and a way to run the workflow to its end."""

    def __init__(self, deployed: deploy.DeployedStack):
        self.deployed = deployed
        self.sfn = boto3.client("stepfunctions", region_name=REGION)

    def start(self, pcx: str, event_id: str = "test-event") -> str:
        from peering.events import execution_name

        return self.sfn.start_execution(
            stateMachineArn=self.deployed.state_machine_arn,
            name=execution_name(pcx, event_id),
            input=json.dumps({"peeringId": pcx, "trigger": {"eventId": event_id}}),
        )["executionArn"]

    def wait(self, execution_arn: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            described = self.sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.05)
        raise AssertionError(f"{execution_arn} still running after {timeout}s")

    def run(self, pcx: str, event_id: str = "test-event") -> dict:
        return self.wait(self.start(pcx, event_id))

    def history(self, execution_arn: str) -> list[dict]:
        return self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]

    @property
    def run_bucket(self) -> str:
        return self.deployed.bucket_names["RunBucket"]

    def stored(self, key: str) -> dict | list | None:
        """A JSON object of the run store (None when it does not exist)."""
        s3 = boto3.client("s3", region_name=REGION)
        try:
            return json.loads(s3.get_object(Bucket=self.run_bucket, Key=key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            return None

    def stored_routes(self, summary: dict, kind: str = "created") -> list[dict]:
        """The routes of one kind (``created``, ``alreadyPresent``) over every applied chunk of the summary's run."""
        prefix = summary["details"].split("/", 3)[3]
        keys = boto3.client("s3", region_name=REGION).list_objects_v2(
            Bucket=self.run_bucket, Prefix=f"{prefix}applied/").get("Contents", [])
        return [r for k in keys for r in self.stored(k["Key"])[kind]]

    @property
    def lease_table(self) -> str:
        return self.deployed.table_names["LeaseTable"]

    def leases(self) -> dict[str, dict]:
        """The lease table's items by peering id, as plain values."""
        items = boto3.client("dynamodb", region_name=REGION).scan(TableName=self.lease_table)["Items"]
        return {item["peeringId"]["S"]: {k: next(iter(v.values())) for k, v in item.items()} for item in items}


@pytest.fixture
def make_stack(aws: None, monkeypatch: pytest.MonkeyPatch):
    """Deploy template.yaml (with parameter overrides) into moto; waits and back-offs are not slept; routes
    through a peering that is not active are blackholes, as on AWS."""
    from moto.ec2.models.route_tables import Route

    monkeypatch.setattr(Route, "state", property(aws_route_state))
    timewarp.compress(0.0)

    def _make(**parameters: str) -> Stack:
        from peering import runtime

        runtime._clients.cache_clear()  # a warm container belongs to one deployment (and one mock account set)
        spec = template.stack_spec(parameters, account_id=ACCOUNT, region=REGION)
        emulated_network.install(emulated_network.EmulatedNetwork(
            lambda service: boto3.client(service, region_name=REGION), spec.functions["ProbeFunction"].name))
        return Stack(deploy.deploy(spec))

    yield _make
    emulated_network.uninstall()
    timewarp.restore()


@pytest.fixture
def stack(make_stack) -> Stack:
    return make_stack()
