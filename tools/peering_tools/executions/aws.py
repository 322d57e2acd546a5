"""The few, bounded Step Functions calls ``peering executions`` makes, and the typed values they give.

Find the state machine (the stack output, else the one ``*-PeeringStateMachine``), page through
``list_executions``, ``describe_execution`` per row, the execution history only when the output does
not say enough. ``load`` and ``rows`` are the API a web page can reuse with any boto3 client.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from peering.records import PEERING_ID, PEERING_ID_PREFIX

from .model import Execution, ExecutionRow, detail_from, needs_history, row_from

DEFAULT_STACK = "peering-autopilot"
STATE_MACHINE_SUFFIX = "-PeeringStateMachine"
STACK_OUTPUT = "StateMachineArn"
LOG_GROUP_OUTPUT = "FunctionLogGroupName"
PCX_SEARCH_LIMIT = 1000
"""How many of the newest executions ``show <pcx-id>`` looks through before giving up."""
RECENT_EVENTS = 100
"""How many of the newest history events ``list`` reads for a run whose output does not say enough."""


class CliError(Exception):
    """A problem the user can fix; the message is one line."""


def client_config() -> Any:
    """Standard retries with few attempts and short connect timeouts: an unreachable endpoint must
    fail in seconds, not after botocore's legacy back-off."""
    from botocore.config import Config  # noqa: PLC0415 - keep `peering --help` fast

    return Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=30)


@dataclass
class Aws:
    """The clients one command uses."""

    region: str | None = None
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from ..cliargs import ArgumentError  # noqa: PLC0415
            from ..cliargs import session as cli_session

            try:  # bad --region/--endpoint-url are refused here; dummy credentials for a loopback endpoint
                session = cli_session(self.region, self.endpoint_url)
            except ArgumentError as e:
                raise CliError(str(e)) from None
            if not session.region_name:
                raise CliError("No AWS region: pass --region or set AWS_REGION.")
            self._clients[service] = session.client(service, endpoint_url=self.endpoint_url, config=client_config())
        return self._clients[service]


def region_of(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[3] if len(parts) > 4 and parts[0] == "arn" and parts[3] else None


def stack_outputs(aws: Aws, stack_name: str) -> dict[str, str]:
    """The stack's outputs; {} when CloudFormation does not know the stack (or may not be asked)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        stacks = aws.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError:
        return {}
    return {o["OutputKey"]: o["OutputValue"] for s in stacks for o in s.get("Outputs", [])}


def find_state_machine(aws: Aws, stack_name: str) -> str:
    """The workflow's ARN: the stack's ``StateMachineArn`` output when CloudFormation knows the
    stack, else the one state machine whose name ends with ``-PeeringStateMachine``."""
    if arn := stack_outputs(aws, stack_name).get(STACK_OUTPUT):
        return arn
    paginator = aws.client("stepfunctions").get_paginator("list_state_machines")
    machines = [m for page in paginator.paginate() for m in page["stateMachines"]
                if m["name"].endswith(STATE_MACHINE_SUFFIX)]
    exact = [m for m in machines if m["name"] == f"{stack_name}{STATE_MACHINE_SUFFIX}"]
    if len(machines) == 1 or len(exact) == 1:
        return (exact or machines)[0]["stateMachineArn"]
    where = f" at {aws.endpoint_url}" if aws.endpoint_url else ""
    if not machines:
        raise CliError(f"No stack {stack_name} and no state machine named *{STATE_MACHINE_SUFFIX}{where}; "
                       "deploy the stack or pass --state-machine-arn.")
    names = ", ".join(sorted(m["name"] for m in machines))
    raise CliError(f"{len(machines)} state machines match *{STATE_MACHINE_SUFFIX} ({names}); "
                   "pass --state-machine-arn.")


def find_log_group(aws: Aws, stack_name: str) -> str:
    """The functions' log group: the stack's ``FunctionLogGroupName`` output."""
    if group := stack_outputs(aws, stack_name).get(LOG_GROUP_OUTPUT):
        return group
    where = f" at {aws.endpoint_url}" if aws.endpoint_url else ""
    raise CliError(f"No stack {stack_name} with a {LOG_GROUP_OUTPUT} output{where}; pass --log-group.")


def executions(sfn: Any, state_machine_arn: str, limit: int) -> Iterator[dict]:
    """``list_executions`` items, newest first, at most ``limit`` of them (pages fetched lazily)."""
    if limit <= 0:
        return
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=state_machine_arn, PaginationConfig={"MaxItems": limit, "PageSize": min(limit, 1000)})
    seen = 0
    for page in pages:
        for item in page["executions"]:
            yield item
            seen += 1
            if seen >= limit:
                return


def history(sfn: Any, execution_arn: str, newest: int | None = None) -> list[dict]:
    """The execution's history events in ascending id order: all of them (paged), or only the
    ``newest`` ones (one call)."""
    if newest is not None:
        page = sfn.get_execution_history(executionArn=execution_arn, reverseOrder=True, maxResults=newest,
                                         includeExecutionData=True)
        return sorted(page["events"], key=lambda e: e["id"])  # some emulators ignore reverseOrder
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn,
                                                                 includeExecutionData=True)
    return sorted((e for page in pages for e in page["events"]), key=lambda e: e["id"])


def load(sfn: Any, execution_arn: str) -> Execution:
    """One execution with its timeline and outcome (``describe_execution`` and the whole history)."""
    return detail_from(sfn.describe_execution(executionArn=execution_arn), history(sfn, execution_arn))


def rows(sfn: Any, state_machine_arn: str, limit: int) -> list[ExecutionRow]:
    """The newest executions as rows: one ``describe_execution`` each, the newest history events
    only for a run without a Summary output."""
    found = []
    for item in executions(sfn, state_machine_arn, limit):
        describe = sfn.describe_execution(executionArn=item["executionArn"])
        events = history(sfn, item["executionArn"], RECENT_EVENTS) if needs_history(describe) else None
        found.append(row_from(describe, events))
    return found


def iter_executions(aws: Aws, state_machine_arn: str, limit: int) -> Iterator[dict]:
    return executions(aws.client("stepfunctions"), state_machine_arn, limit)


def recent_events(aws: Aws, execution_arn: str, count: int = RECENT_EVENTS) -> list[dict]:
    return history(aws.client("stepfunctions"), execution_arn, count)


def all_events(aws: Aws, execution_arn: str) -> list[dict]:
    return history(aws.client("stepfunctions"), execution_arn)


def list_rows(aws: Aws, state_machine_arn: str, limit: int) -> list[ExecutionRow]:
    return rows(aws.client("stepfunctions"), state_machine_arn, limit)


def resolve_execution(aws: Aws, target: str, state_machine_arn: str | None, stack_name: str) -> str:
    """An execution ARN from what the user typed: an ARN as is; a pcx id -> its newest execution;
    a full execution name (``pcx-...-<hash>``) -> that execution."""
    if target.startswith("arn:"):
        if ":execution:" not in target:
            raise CliError(f"{target} is not an execution ARN (arn:aws:states:<region>:<account>:execution:...).")
        return target
    if not target.startswith(PEERING_ID_PREFIX):
        raise CliError(f"{target!r} is neither an execution ARN nor a peering id (pcx-...).")
    machine = state_machine_arn or find_state_machine(aws, stack_name)
    is_pcx = bool(PEERING_ID.match(target))
    for item in iter_executions(aws, machine, PCX_SEARCH_LIMIT):
        if (item["name"].startswith(f"{target}-") if is_pcx else item["name"] == target):
            return item["executionArn"]
    what = "execution for peering" if is_pcx else "execution named"
    raise CliError(f"No {what} {target} among the newest {PCX_SEARCH_LIMIT} executions of {machine}.")


