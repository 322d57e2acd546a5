"""An embedded AWS emulator on 127.0.0.1 with the stack from template.yaml deployed in it.

moto's server runs in this process, so that the project's handlers (``inprocess``) and the AWS
behaviour the workflow depends on can be added where moto lacks it. These private moto seams are
patched while an emulator runs (moto is pinned; ``tests/emulator/test_moto_seams_emulator.py``
fails loudly when one moves):

- ``moto.ec2.responses.EC2Response.call_action``: after a successful ``CreateVpcPeeringConnection``,
  ``CreateTags``, ``AcceptVpcPeeringConnection`` or ``DeleteVpcPeeringConnection``, CloudTrail's
  ``AWS API Call via CloudTrail`` event goes to the default bus of the caller's account and region.
- ``moto.events.models.Rule.send_to_targets``: enabled rules only, matched with ``eventpattern``
  (EventBridge's semantics), delivering to Lambda (asynchronously, through the in-process seam)
  and to Step Functions, which moto cannot do; other targets by moto, of what ``eventpattern`` matched.
- ``moto.events`` pattern parsing and TestEventPattern (``emulated_events``): PutRule refuses an
  invalid pattern with ``InvalidEventPatternException``; TestEventPattern answers with ``eventpattern``.
- ``moto.core.config.default_user_config``: Lambda without Docker, Step Functions executing the
  real definition (what ``mock_aws(config=...)`` sets for in-process mocks).
- ``moto.dynamodb.models.DynamoDBBackend``'s item writes and the Step Functions backends'
  ``start_execution``, made atomic as AWS's conditional writes and named starts are
  (``conditional_writes``; installed by ``deploy``; its canary is in ``tests/unit/test_lease.py``).

EC2 behaviours where moto 5.2.5 differs from AWS (tags per account and region, overlapping CIDRs,
blackhole routes, DryRun) are corrected by ``ec2_fidelity`` while an emulator runs, and a request
signed for a region AWS does not have gets AWS's 403 (``regions.RegionGuard``), not moto's 500.
An unsigned request (``aws --no-sign-request``) is served as the stack's account and region
(``unsigned.UnsignedRequests``), so the AWS CLI needs no credentials here.

The deployed stack is also recorded in the emulator's CloudFormation (``local_stack``, public API
calls only), and the local console (``console``) is served on a second loopback port.

Accounts come from the caller's credentials (STS AssumeRole credentials map to their account),
regions from the client's request signature; an unsigned request is the default account in the stack's
region. Nothing here prints.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import socket
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
from moto.core.config import default_user_config
from moto.ec2.responses import EC2Response
from moto.events.models import EventPattern, Rule, events_backends
from moto.server import ThreadedMotoServer

from . import (
    cloudtrail,
    conditional_writes,
    deploy,
    ec2_fidelity,
    emulated_events,
    emulated_network,
    eventpattern,
    inprocess,
    local_stack,
    probes,
    regions,
    template,
    timewarp,
    unsigned,
)
from .console import server as console_server

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT = "123456789012"  # moto's account for credentials it does not know
HOST = "127.0.0.1"
MOTO_CONFIG = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
TIME_FACTOR = 0.02  # a 5 s Wait takes 0.1 s
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

CALL_ACTION_SEAM = (EC2Response, "call_action")
SEND_TO_TARGETS_SEAM = (Rule, "send_to_targets")
_original_call_action = EC2Response.call_action
_original_send_to_targets = Rule.send_to_targets


class EmulatorError(Exception):
    """The emulator cannot start; the message says why in one sentence."""


# -- CloudTrail: EC2 calls -> events on the default bus --------------------------------------------
def _caller_identity(response: EC2Response) -> dict[str, Any]:
    from moto.sts.models import sts_backends  # noqa: PLC0415 - only needed when a call is recorded

    account, access_key = response.current_account, response.access_key
    principal, arn, account = sts_backends[account]["aws"].get_caller_identity(access_key, response.region)
    return cloudtrail.identity(account, arn, principal, access_key)


def _record(response: EC2Response, action: str, headers: dict[str, Any], body: str) -> None:
    request = response.normalized_request
    detail = cloudtrail.api_call_event(
        action,
        dict(response.querystring),
        body,
        account_id=response.current_account,
        region=response.region,
        identity=_caller_identity(response),
        request_id=headers.get("x-amzn-requestid"),
        source_ip=getattr(request, "environ", {}).get("REMOTE_ADDR", HOST),
        user_agent=response.headers.get("User-Agent", ""),
    )
    bus = events_backends[response.current_account][response.region]
    bus.put_events([{"Source": cloudtrail.SOURCE, "DetailType": cloudtrail.DETAIL_TYPE, "Detail": json.dumps(detail)}])


def _recording_call_action(self: EC2Response) -> Any:
    status, headers, body = _original_call_action(self)
    action = self._get_action()
    if action in cloudtrail.RECORDED_CALLS and int(status) < 400:
        try:
            _record(self, action, headers, body if isinstance(body, str) else body.decode())
        except Exception:  # never fail the caller's EC2 call because its record could not be made
            log.exception("Could not record %s as a CloudTrail event", action)
    return status, headers, body


# -- EventBridge: enabled rules, EventBridge matching, Lambda and Step Functions targets ------------
def _envelope(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a target receives it: ISO time, no moto-only fields."""
    out = {k: v for k, v in event.items() if k != "ingestion-time"}
    if isinstance(out.get("time"), int | float):
        out["time"] = datetime.fromtimestamp(out["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def _invoke_lambda(account: str, region: str, arn: str, payload: str) -> None:
    from moto.awslambda.utils import get_backend  # noqa: PLC0415 - picks the simple backend from the config

    response_headers: dict[str, Any] = {}
    try:
        result = get_backend(account, region).invoke(arn, None, payload, {}, response_headers)
    except Exception:
        log.exception("Asynchronous invocation of %s failed", arn)
        return
    if response_headers.get("x-amz-function-error"):
        log.warning("Asynchronous invocation of %s failed: %s", arn, result)


def _start_execution(account: str, region: str, arn: str, payload: str) -> None:
    from moto.stepfunctions.responses import get_backend  # noqa: PLC0415 - the parser backend from the config

    try:
        # a fresh name per event, as EventBridge gives one (moto names a nameless execution "None": a second clashes)
        get_backend(account, region).start_execution(arn, str(uuid.uuid4()), payload)
    except Exception:  # EventBridge would retry, then give up; one failed target does not stop the others
        log.exception("Starting %s for an event failed", arn)


def _delivering_send_to_targets(self: Rule, original_event: dict[str, Any], transform_input: bool = True) -> None:
    """Deliver to an ENABLED rule's targets when its pattern matches. A target gets its constant ``Input``
    or the whole event (``InputPath``/``InputTransformer`` are not applied to Lambda/Step Functions targets)."""
    if self.scheduled_expression and not self.event_pattern.get_pattern():
        return  # a schedule-only rule matches no event (the emulator does not run schedules: invoke the target)
    event = _envelope(original_event)  # matched as delivered: "time" is ISO 8601, as patterns on it expect
    try:
        if self.state != "ENABLED" or not eventpattern.matches(self.event_pattern.get_pattern(), event):
            return
    except eventpattern.PatternError as e:  # one bad rule must not stop delivery to the others
        log.warning("Rule %s was skipped: %s", self.name, e)
        return
    others = []
    for target in self.targets:
        arn = target["Arn"]
        payload = target.get("Input") or json.dumps(event)
        service = arn.split(":")[2]
        if service == "lambda":  # EventBridge invokes Lambda asynchronously (InvocationType=Event)
            threading.Thread(target=_invoke_lambda, args=(self.account_id, self.region_name, arn, payload),
                             name=f"event-to-{arn.rsplit(':', 1)[-1]}", daemon=True).start()
        elif service == "states":
            _start_execution(self.account_id, self.region_name, arn, payload)
        else:
            others.append(target)
    if others:  # logs, SQS, buses...: moto's own delivery for those, of what eventpattern matched
        rest = copy.copy(self)
        rest.targets = others
        rest.event_pattern = EventPattern(None, {})  # moto's matcher would decide again, and differently
        _original_send_to_targets(rest, original_event, transform_input)


# -- lifecycle -------------------------------------------------------------------------------------
def _check_port(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as e:
            raise EmulatorError(f"Port {port} on {HOST} is not available ({e.strerror or e}).") from e


def _reset_moto(url: str) -> None:
    """Empty every moto backend (its documented ``/moto-api/reset``): an earlier emulator of the same process
    left its VPCs, instances and functions there, and the same seed's addresses would then name two hosts."""
    import urllib.request  # noqa: PLC0415

    with urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=30):
        pass


class Emulator:
    """moto's server on 127.0.0.1:``port`` (0: a free port) with the stack deployed in ``account``/``region``."""

    def __init__(self, port: int = 5000, parameter_overrides: dict[str, str] | None = None,
                 account: str = DEFAULT_ACCOUNT, region: str = "us-east-1", stack_name: str = "peering-autopilot",
                 data_plane: str = "analysis", console_port: int | None = 0):
        if account != DEFAULT_ACCOUNT:
            raise EmulatorError(f"The stack can only be deployed in moto's default account {DEFAULT_ACCOUNT}: "
                                "Step Functions in moto invokes Lambda as that account.")
        self.port, self.account, self.region = port, account, region
        self.parameter_overrides = dict(parameter_overrides or {})
        self.stack_name = stack_name
        self.stack: deploy.DeployedStack | None = None
        self._server: ThreadedMotoServer | None = None
        self._saved_config: dict[str, Any] = {}
        self._saved_moto_port: str | None = None
        self.data_plane = data_plane
        """'netns' (the data plane, or EmulatorError), 'auto' (netns where possible, else analysis, with
        ``data_plane_note`` saying why), 'analysis' (the probe's connects answered by the path analysis)."""
        self.data_plane_note = ""
        self.netns: Any = None
        self.console_port = console_port
        """Loopback port of the local console (0: a free one; None: no console)."""
        self.console: console_server.ConsoleServer | None = None
        self.outputs: dict[str, str] = {}
        """The stack's outputs as `describe-stacks` shows them."""

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for this emulator (dummy credentials, the stack's region unless given)."""
        kwargs.setdefault("region_name", self.region)
        return boto3.client(service, endpoint_url=self.url, **CREDENTIALS, **kwargs)

    def start(self) -> str:
        """Serve, patch the seams, deploy the stack; return the URL. Raises TemplateError or EmulatorError."""
        spec = template.stack_spec(self.parameter_overrides, account_id=self.account, region=self.region,
                                   stack_name=self.stack_name)  # bad overrides fail before anything starts
        if self.port:
            _check_port(self.port)
        self._choose_data_plane()  # before anything starts: `--data-plane netns` where it cannot be made fails here
        self._configure_moto()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines
        # moto's ASL interpreter logs every failed state at ERROR with its Python repr
        # (moto/stepfunctions/parser/asl/component/eval_component.py:33-48), a run ending in its Fail state too:
        # the failure is the execution's own, in its history (`peering executions show`, the console).
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        self._server = ThreadedMotoServer(ip_address=HOST, port=self.port, verbose=False)
        self._server.start()
        wsgi = self._server._server  # the werkzeug server ThreadedMotoServer made (canary: test_ec2_fidelity)
        wsgi.app = regions.RegionGuard(wsgi.app)  # a region AWS lacks: AWS's 403, not moto's 500
        wsgi.app = unsigned.UnsignedRequests(wsgi.app, self.region)  # `aws --no-sign-request`: no credentials
        self.port = self._server.get_host_and_port()[1]
        _reset_moto(self.url)  # a new emulator starts empty: moto's backends are global to the process
        self._saved_moto_port = os.environ.get("MOTO_PORT")
        os.environ["MOTO_PORT"] = str(self.port)  # Step Functions' Lambda calls go to this server
        EC2Response.call_action = _recording_call_action
        ec2_fidelity.install()  # after the recorder: it wraps call_action as it finds it
        Rule.send_to_targets = _delivering_send_to_targets
        emulated_events.install()
        inprocess.install()
        inprocess.set_process_env(AWS_ENDPOINT_URL=self.url, AWS_ACCESS_KEY_ID=CREDENTIALS["aws_access_key_id"],
                                  AWS_SECRET_ACCESS_KEY=CREDENTIALS["aws_secret_access_key"])
        timewarp.compress(TIME_FACTOR)
        self._start_console()
        self._deploy(spec)
        self._install_network(spec.functions["ProbeFunction"].name)
        probes.watch(self.client, spec.functions["PrepareProbeFunction"].name, spec.functions["ProbeFunction"].name,
                     self.account)  # a subnet tagged peering-automation/probe=true gets a probe
        return self.url

    def _choose_data_plane(self) -> None:
        """'netns' or 'auto' become 'netns' where namespaces can be made; else EmulatorError or 'analysis'."""
        if self.data_plane not in ("netns", "auto"):
            self.data_plane_note = "data plane: analysis (the probe's connects are answered by the path analysis)"
            return
        from .dataplane import emulated  # noqa: PLC0415 - only with a data plane

        why = emulated.unavailable()
        if why is None:
            self.data_plane = "netns"
            self.data_plane_note = "data plane: netns (network namespaces of this process; see README)"
        elif self.data_plane == "netns":
            raise EmulatorError(f"The netns data plane cannot be made here: {why}.")
        else:
            self.data_plane = "analysis"
            self.data_plane_note = f"data plane: analysis, not netns ({why})"

    def _install_network(self, probe_function: str) -> None:
        """Where the probe's connects go: the netns data plane (its sockets cross namespaces made from the
        emulator's EC2 state), or the emulated network (the path analysis, no socket at all)."""
        if self.data_plane == "netns":
            from .dataplane import emulated  # noqa: PLC0415 - only with a data plane

            self.netns = emulated.install(self.client, probe_function)
            return
        emulated_network.install(emulated_network.EmulatedNetwork(self.client, probe_function))

    def redeploy(self, **overrides: str) -> None:
        """Update the stack with more parameter overrides, as `sam deploy --parameter-overrides` would."""
        self.parameter_overrides.update(overrides)
        self._deploy(template.stack_spec(self.parameter_overrides, account_id=self.account, region=self.region,
                                         stack_name=self.stack_name))

    def _deploy(self, spec: template.StackSpec) -> None:
        session = boto3.session.Session(region_name=self.region, **CREDENTIALS)
        self.stack = deploy.deploy(spec, session=session, endpoint_url=self.url)
        self._register_stack(spec)

    # -- the local stack record and the local console (see local_stack and console) ----------------
    @property
    def console_url(self) -> str | None:
        return self.console.url if self.console else None

    def _start_console(self) -> None:
        if self.console_port is not None and self.console is None:
            try:
                self.console = console_server.ConsoleServer(
                    console_server.ConsoleData(self.url, self.region, self.stack_name, client=self.client,
                                               account=self.account),
                    host=HOST, port=self.console_port)
            except OSError as e:
                raise EmulatorError(f"The console's port {self.console_port} on {HOST} is not available "
                                    f"({e.strerror or e}).") from e
            self.console.start()

    def _stop_console(self) -> None:
        if self.console is not None:
            self.console.stop()
            self.console = None

    def _register_stack(self, spec: template.StackSpec) -> None:
        console = f"{self.console_url}#/executions" if self.console_url else None
        resources = self.stack.resources() if self.stack is not None else {}
        self.outputs = local_stack.register(self.client("cloudformation"), spec, console, resources=resources)

    def stop(self) -> None:
        """Stop serving and put every patched seam back."""
        self._stop_console()
        if self._server is not None:
            self._server.stop()
            self._server = None
            if self._saved_moto_port is None:
                os.environ.pop("MOTO_PORT", None)
            else:
                os.environ["MOTO_PORT"] = self._saved_moto_port
        ec2_fidelity.uninstall()  # before the recorder's seam is put back
        EC2Response.call_action = _original_call_action
        Rule.send_to_targets = _original_send_to_targets
        emulated_events.uninstall()
        timewarp.restore()
        emulated_network.uninstall()
        self._uninstall_network()
        inprocess.reset_process_env()
        inprocess.uninstall()
        conditional_writes.uninstall()
        for key, value in self._saved_config.items():
            default_user_config[key] = value  # type: ignore[literal-required]
        self._saved_config.clear()

    def _uninstall_network(self) -> None:
        if self.netns is not None:
            from .dataplane import emulated  # noqa: PLC0415 - only with a data plane

            emulated.uninstall(self.netns)
            self.netns = None

    def _configure_moto(self) -> None:
        for key, value in MOTO_CONFIG.items():
            self._saved_config[key] = default_user_config.get(key, {})
            default_user_config[key] = dict(value)  # type: ignore[literal-required]

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
