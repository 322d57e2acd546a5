"""Fault injection harness: AWS errors at the HTTP layer (the count of the scenarios that held is kept by
tests/conftest.py, which pytest-xdist's controller loads).

Errors are injected as real AWS error *responses* (status code and XML/JSON body with the AWS error
code) by a layer put in front of moto's request handler (botocore's ``before-send`` hook). So every
injected error goes through the same path a real one would: botocore's standard retry mode (which
retries ``RequestLimitExceeded``/``Throttling`` up to ``max_attempts``), botocore's error parser,
then the adapters' translation into the project's errors, then the state machine's Retry/Catch.
Only botocore's back-off *sleep* is set to zero, so a run stays fast; the retry decisions are real.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries import standard
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

# -- error responses as AWS sends them ----------------------------------------------------------------

QUERY_XML_SERVICES = {"sns", "sts"}  # query protocol: <ErrorResponse>
JSON_SERVICES = {"sfn", "dynamodb"}  # awsJson1_0: {"__type": ...}
STATUS = {"RequestLimitExceeded": 503, "Throttling": 400, "ThrottlingException": 400, "InternalError": 500,
          "ServiceUnavailable": 503, "ProvisionedThroughputExceededException": 400}


def error_response(url: str, service: str, code: str, message: str, status: int | None = None) -> AWSResponse:
    status = status or STATUS.get(code, 400)
    if service in JSON_SERVICES:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code}
    elif service in QUERY_XML_SERVICES:
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                "</Error><RequestId>fault-injection</RequestId></ErrorResponse>").encode()
        headers = {"Content-Type": "text/xml"}
    else:  # ec2 protocol
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error></Errors><RequestID>fault-injection</RequestID></Response>"
                ).encode()
        headers = {"Content-Type": "text/xml;charset=UTF-8"}
    return AWSResponse(url, status, headers, MockRawResponse(body))


def request_params(request: Any) -> dict[str, str]:
    """The request's parameters (query protocols: form body; JSON protocols: the document)."""
    body = request.body or b""
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    if body.startswith("{"):
        try:
            return {k: str(v) for k, v in json.loads(body).items()}
        except ValueError:
            return {}
    return {k: v[0] for k, v in parse_qs(body).items()}


@dataclass
class Rule:
    service: str
    operation: str
    code: str | None  # None: only run ``before`` and let the call through
    times: int | None  # fail the first ``times`` matching calls (None: every matching call)
    message: str
    when: Callable[[dict[str, str]], bool] | None = None
    before: Callable[[dict[str, str]], None] | None = None
    lost: bool = False  # the call takes effect, then its response is lost (the client sees the error)
    matched: int = 0


@dataclass
class Faults:
    """The fault plan of one test: which calls fail how, and what was seen."""

    rules: list[Rule] = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)
    injected: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    def fail(self, operation: str, code: str, times: int | None = None, *, service: str = "ec2",
             message: str = "", when: Callable[[dict[str, str]], bool] | None = None,
             before: Callable[[dict[str, str]], None] | None = None, lost: bool = False) -> Faults:
        """Answer matching calls with the AWS error ``code`` instead of letting them reach EC2 (or, with
        ``lost``, after they took effect: a read timeout or a 5xx after the change was made)."""
        self.rules.append(Rule(service, operation, code, times, message or f"Injected {code}.", when, before,
                               lost))
        return self

    def intercept(self, operation: str, before: Callable[[dict[str, str]], None], times: int | None = 1, *,
                  service: str = "ec2", when: Callable[[dict[str, str]], bool] | None = None) -> Faults:
        """Run ``before`` (e.g. a concurrent actor's change) just before matching calls reach EC2."""
        self.rules.append(Rule(service, operation, None, times, "", when, before))
        return self

    def answer_for_moto(self) -> Callable[..., AWSResponse | None]:
        plan = self

        def __call__(moto: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> AWSResponse | None:
            return plan.answer(moto, event_name, request, **kwargs)

        return __call__

    def answer(self, moto: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> AWSResponse | None:
        """What the client receives: moto's answer, unless a rule injects a fault."""
        if getattr(self._local, "bypass", False) or not moto.enabled:
            return _moto_call(moto, event_name, request, **kwargs)
        _, service, operation = event_name.split(".", 2)
        params: dict[str, str] | None = None
        with self.lock:
            self.calls[(service, operation)] += 1
        for rule in self.rules:
            if (rule.service, rule.operation) != (service, operation):
                continue
            params = request_params(request) if params is None else params
            if rule.when is not None and not rule.when(params):
                continue
            with self.lock:
                if rule.times is not None and rule.matched >= rule.times:
                    continue
                rule.matched += 1
            if rule.before is not None:
                self._local.bypass = True
                try:
                    rule.before(params)
                finally:
                    self._local.bypass = False
            if rule.code is None:
                continue
            with self.lock:
                self.injected[(operation, rule.code)] += 1
            if rule.lost:
                _moto_call(moto, event_name, request, **kwargs)
            return error_response(request.url, service, rule.code, rule.message)
        return _moto_call(moto, event_name, request, **kwargs)


_moto_call = BotocoreStubber.__call__


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    """The fault layer in front of moto for this test (every client, every thread)."""
    plan = Faults()
    monkeypatch.setattr(BotocoreStubber, "__call__", plan.answer_for_moto())
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    yield plan
    plan.rules.clear()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture(autouse=True)
def accept_answers_provisioning(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS answers AcceptVpcPeeringConnection with ``provisioning`` (active seconds later); moto answers
    ``active`` at once, which lets the workflow skip its activation poll. Faults are injected along AWS's
    sequence, so here the accept reports what AWS would and the run polls CheckActive."""
    from peering.aws.ec2 import Ec2

    original = Ec2.accept

    def accept(self, peering_id: str) -> str:
        state = original(self, peering_id)
        return "provisioning" if state == "active" else state

    monkeypatch.setattr(Ec2, "accept", accept)
