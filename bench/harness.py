"""The stack in moto, in-process, and a recorder of the AWS calls its handlers make.

The same set-up as ``tests/conftest.py``: ``mock_aws`` with Lambda running in-process
(``peering_tools.inprocess``) and Step Functions executing the real ASL, waits and retry back-offs
compressed to zero (``timewarp``), the probe's connects answered by the emulated network.

Counting: ``botocore.client.BaseClient._make_api_call`` is wrapped once, and every handler that
``inprocess`` loads is wrapped to set a thread-local "inside function X" flag, as
``tests/workflow/test_least_privilege.py`` does. Only calls made while that flag is set are counted,
so the bench's own set-up calls, moto's Step Functions interpreter invoking Lambda, and the emulated
network (which stands in for packets, not for code that is deployed) are all left out.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.client
from moto import mock_aws

from peering_tools import REPO_ROOT, deploy, emulated_network, inprocess, seed, template, timewarp

REGION = "us-east-1"
ACCOUNT = "123456789012"
MOTO_CONFIG = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
EVENTS = REPO_ROOT / "events"
DUMMY_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
             "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}
QUIET_FUNCTIONS = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
SCOPING_SUFFIXES = ("Ids", "Id")
"""A Describe* call is scoped when it names resources (``VpcIds``, ``RouteTableIds``...) or has ``Filters``."""


def isolate_environment() -> None:
    """Dummy credentials and a region, no endpoint or profile: nothing can reach a real account."""
    os.environ.update(DUMMY_ENV)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(key, None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


# -- the call recorder -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    function: str
    service: str
    operation: str
    unscoped: bool
    """An EC2 Describe* with neither resource ids nor Filters: an account-wide scan."""

    @property
    def key(self) -> str:
        return f"{self.service}:{self.operation}"


def is_unscoped(service: str, operation: str, params: dict[str, Any]) -> bool:
    if service != "ec2" or not operation.startswith("Describe"):
        return False
    scoped = any(value for name, value in params.items() if name.endswith(SCOPING_SUFFIXES) or name == "Filters")
    return not scoped


@dataclass
class Recording:
    """The calls seen between two ``CallRecorder.take()``s, and the peak number in flight per operation."""

    calls: list[Call] = field(default_factory=list)
    peak_in_flight: dict[str, int] = field(default_factory=dict)
    largest_payload: tuple[int, str] = (0, "-")
    """(bytes, where) of the largest event or result of a handler: the Distributed Map's items run as child
    executions, whose states are not in the execution's history, so their Task input and output are measured here."""

    def by_operation(self, services: tuple[str, ...] | None = None) -> Counter[str]:
        return Counter(c.key for c in self.calls if services is None or c.service in services)

    def total(self, services: tuple[str, ...] | None = None) -> int:
        return sum(self.by_operation(services).values())

    def by_function(self, key: str) -> Counter[str]:
        return Counter(c.function for c in self.calls if c.key == key)

    def unscoped(self) -> list[Call]:
        return [c for c in self.calls if c.unscoped]


class CallRecorder:
    """Counts the AWS calls made inside the project's handlers (see the module docstring)."""

    def __init__(self) -> None:
        self._function: contextvars.ContextVar[str | None] = contextvars.ContextVar("function", default=None)
        self._lock = threading.Lock()
        self._recording = Recording()
        self._in_flight: Counter[str] = Counter()
        self._originals: dict[str, Any] = {}

    # which function is running on this thread (None: not handler code) ----------------------------
    @contextlib.contextmanager
    def _inside(self, function: str | None) -> Iterator[None]:
        token = self._function.set(function)  # a context variable: it follows the handler into its pool threads
        try:
            yield
        finally:
            self._function.reset(token)

    def install(self) -> None:
        original_module = self._originals["module"] = inprocess._module
        original_call = self._originals["call"] = botocore.client.BaseClient._make_api_call
        recorder = self

        def module(code_dir: Path, handler: str) -> Callable[[Any, Any], Any]:
            fn = original_module(code_dir, handler)

            def wrapped(event: Any, context: Any) -> Any:
                with recorder._inside(context.function_name):
                    result = fn(event, context)
                short = context.function_name.rsplit("-", 1)[-1]
                for size, kind in ((len(json.dumps(event).encode()), "event"),
                                   (len(json.dumps(result).encode()), "result")):
                    with recorder._lock:
                        if size > recorder._recording.largest_payload[0]:
                            recorder._recording.largest_payload = (size, f"{short} {kind}")
                return result

            return wrapped

        def make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            function = recorder._function.get()
            if not function:
                return original_call(client, operation_name, api_params)
            service = client.meta.service_model.service_name
            call = Call(function, service, operation_name, is_unscoped(service, operation_name, api_params))
            with recorder._lock:
                recorder._recording.calls.append(call)
                recorder._in_flight[call.key] += 1
                peak = recorder._recording.peak_in_flight
                peak[call.key] = max(peak.get(call.key, 0), recorder._in_flight[call.key])
            try:
                return original_call(client, operation_name, api_params)
            finally:
                with recorder._lock:
                    recorder._in_flight[call.key] -= 1

        inprocess._module = module
        botocore.client.BaseClient._make_api_call = make_api_call

    def uninstall(self) -> None:
        if self._originals:
            inprocess._module = self._originals.pop("module")
            botocore.client.BaseClient._make_api_call = self._originals.pop("call")

    def peek(self) -> Recording:
        """A copy of the calls recorded so far (recording goes on)."""
        with self._lock:
            return Recording(list(self._recording.calls), dict(self._recording.peak_in_flight),
                             self._recording.largest_payload)

    def take(self) -> Recording:
        """The calls recorded so far; the recorder starts afresh."""
        with self._lock:
            taken, self._recording = self._recording, Recording()
            return taken

    def outside_handlers(self, connect: Callable[..., Any]) -> Callable[..., Any]:
        """``connect`` with counting switched off: the emulated network's reads are not the product's."""

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with self._inside(None):
                return connect(*args, **kwargs)

        return wrapped


# -- the stack -------------------------------------------------------------------------------------
@dataclass
class Run:
    """One workflow execution, started through the intake function as EventBridge would."""

    execution_arn: str
    described: dict[str, Any]
    seconds: float
    """From invoking the intake function until the execution left RUNNING."""
    history: list[dict[str, Any]]

    @property
    def status(self) -> str:
        return self.described["status"]

    @property
    def outcome(self) -> str:
        """The summary's status (verified, routed, failed...) or the execution's."""
        try:
            return json.loads(self.described.get("output") or "{}").get("status") or self.status
        except ValueError:
            return self.status

    def largest_state(self) -> tuple[int, str]:
        """(bytes, where) of the largest input or output passed between states (Step Functions allows 256 KiB)."""
        largest, where = 0, "-"
        for event in self.history:
            for name, details in event.items():
                if not (name.endswith("EventDetails") and isinstance(details, dict)):
                    continue
                size = len((details.get("input") or details.get("output") or "").encode())
                if size > largest:
                    kind = "input" if details.get("input") else "output"
                    largest, where = size, f"{details.get('name') or event['type']} {kind}"
        return largest, where

    def stage_seconds(self) -> dict[str, float]:
        """Seconds from entering to leaving each top-level state (summed over re-entries)."""
        entered: dict[str, Any] = {}
        spent: Counter[str] = Counter()
        for event in self.history:
            if "stateEnteredEventDetails" in event:
                entered[event["stateEnteredEventDetails"]["name"]] = event["timestamp"]
            elif "stateExitedEventDetails" in event:
                name = event["stateExitedEventDetails"]["name"]
                if name in entered:
                    spent[name] += (event["timestamp"] - entered.pop(name)).total_seconds()
        return dict(spent)


class Stack:
    """``template.yaml`` deployed into the current ``mock_aws`` context."""

    def __init__(self, recorder: CallRecorder, **parameters: str):
        from peering import runtime  # noqa: PLC0415 - after the layer is on sys.path

        runtime._clients.cache_clear()  # a warm container belongs to one deployment (one mock account set)
        self.spec = template.stack_spec(parameters, account_id=ACCOUNT, region=REGION)
        network = emulated_network.EmulatedNetwork(lambda service: boto3.client(service, region_name=REGION),
                                                   self.spec.functions["ProbeFunction"].name)
        emulated_network.install(network)
        from peering import probe  # noqa: PLC0415

        probe.connector = recorder.outside_handlers(probe.connector)
        self.deployed = deploy.deploy(self.spec)
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.lam = boto3.client("lambda", region_name=REGION)

    def run(self, peering_id: str, vpc_id: str, peer_vpc_id: str, timeout: float) -> Run:
        """Deliver the CloudTrail event of the tagged CreateVpcPeeringConnection to the intake function,
        then wait (at most ``timeout`` seconds) for the execution it started to end."""
        event = creation_event(peering_id, vpc_id, peer_vpc_id)
        started = time.perf_counter()
        response = self.lam.invoke(FunctionName=self.spec.functions["IntakeFunction"].name,
                                   Payload=json.dumps(event).encode())
        result = json.loads(response["Payload"].read())
        if response.get("FunctionError") or not result.get("started"):
            raise RuntimeError(f"the intake function started no execution: {result}")
        arn = result["started"][0]
        deadline = started + timeout
        while True:
            described = self.sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                break
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{arn} still running after {timeout:.0f} s")
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        history = self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        return Run(arn, described, seconds, history)


def creation_event(peering_id: str, vpc_id: str, peer_vpc_id: str) -> dict[str, Any]:
    """``events/create-peering-tagged.json`` for this peering (CloudTrail's record of the tagged request)."""
    event = copy.deepcopy(json.loads((EVENTS / "create-peering-tagged.json").read_text()))
    detail = event["detail"]
    detail["requestParameters"].update(vpcId=vpc_id, peerVpcId=peer_vpc_id)
    detail["responseElements"]["vpcPeeringConnection"]["vpcPeeringConnectionId"] = peering_id
    detail["eventID"] = f"bench-{peering_id}"
    return event


@contextlib.contextmanager
def emulated_aws(recorder: CallRecorder) -> Iterator[Any]:
    """A fresh moto account (yields an EC2 client); waits compressed; the handlers quiet."""
    inprocess.set_process_env(**QUIET_FUNCTIONS)
    with mock_aws(config=MOTO_CONFIG):
        timewarp.compress(0.0)
        recorder.install()
        try:
            yield boto3.client("ec2", region_name=REGION)
        finally:
            recorder.uninstall()
            emulated_network.uninstall()
            timewarp.restore()


def seed_network(ec2: Any) -> seed.SeedNetwork:
    return seed.build(ec2)
