"""What the local console shows, read from the emulator through ordinary AWS calls (as a user would).

The one place the console reads AWS: executions come from ``peering_tools.executions`` (the typed
model ``peering executions`` prints, each stage's result read with the layer's models), the graph
from the definition the execution ran, the network from the layer's ``read_snapshot`` (what the
path analysis reads). Every answer is a JSON-ready dict.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from peering.aws.network import read_snapshot

from .. import executions
from ..executions import activity
from ..executions.aws import find_log_group
from ..executions.notes import one_line
from . import graph

LIST_LIMIT = 100
ACTIVITY_DAYS = 7
ROUTES_SHOWN = 500
"""Routes of each kind (created, already in place, removed) the page lists; the counts are always whole."""


class NotFound(Exception):
    """What was asked for does not exist; the message says what."""


ACCOUNT_HEADER = "x-moto-account-id"
"""moto answers a request carrying this header as that account (``moto/core/responses.py:348-356``, before
the access key is looked at): the console reads a peer account's VPC in the emulator with it."""
DEFAULT_ACCOUNT = "123456789012"


def _as_account(account: str) -> Callable[..., None]:
    def add_header(request: Any, **_: Any) -> None:
        request.headers[ACCOUNT_HEADER] = account
    return add_header


class _EmulatorClients:
    """What ``executions``' finders need (``client(service)``, ``endpoint_url``), answered with the
    emulator's own clients and dummy credentials: the console never depends on the environment's AWS
    configuration. Clients are made once per service, region and account (boto3 clients are thread-safe);
    a client for another account than the stack's carries ``ACCOUNT_HEADER``."""

    def __init__(self, factory: Callable[..., Any], endpoint_url: str, account: str = DEFAULT_ACCOUNT):
        self._factory, self.endpoint_url, self.account = factory, endpoint_url, account
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, account: str | None = None, **kwargs: Any) -> Any:
        other = account if account and account != self.account else None
        key = f"{service}:{kwargs.get('region_name', '')}:{other or ''}"
        with self._lock:
            if key not in self._clients:
                made = self._factory(service, **kwargs)
                if other:
                    made.meta.events.register("before-sign", _as_account(other))
                self._clients[key] = made
            return self._clients[key]


class ConsoleData:
    """The console's JSON API, answered from the emulator at ``endpoint_url``."""

    def __init__(self, endpoint_url: str, region: str, stack_name: str, client: Callable[..., Any],
                 account: str = DEFAULT_ACCOUNT):
        self.endpoint_url, self.region, self.stack_name, self.account = endpoint_url, region, stack_name, account
        self._aws = _EmulatorClients(client, endpoint_url, account)
        self._client = self._aws.client

    # -- stack ------------------------------------------------------------------------------------
    def stack(self) -> dict[str, Any]:
        try:
            found = self._client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"][0]
        except ClientError:
            return {"name": self.stack_name, "status": "NOT_REGISTERED", "outputs": {}, "parameters": {}}
        return {
            "name": found["StackName"],
            "status": found["StackStatus"],
            "region": self.region,
            "endpointUrl": self.endpoint_url,
            "outputs": {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])},
            "parameters": {p["ParameterKey"]: p.get("ParameterValue", "") for p in found.get("Parameters", [])},
        }

    def _machine(self) -> str:
        return executions.find_state_machine(self._aws, self.stack_name)

    # -- executions -------------------------------------------------------------------------------
    def executions(self) -> list[dict[str, Any]]:
        return [row.wire() for row in executions.list_rows(self._aws, self._machine(), LIST_LIMIT)]

    def execution(self, arn: str) -> dict[str, Any]:
        sfn = self._client("stepfunctions")
        try:
            describe = sfn.describe_execution(executionArn=arn)
        except ClientError as e:
            raise NotFound(f"No execution {arn}.") from e
        execution = executions.detail_from(describe, executions.history(sfn, arn))
        wire = execution.wire()
        for shown, entry in zip(wire["timeline"], execution.timeline, strict=True):
            shown.update(input=entry.input, output=entry.output)  # left out of --json, shown by the page
        asl = graph.asl_graph(self._definition(sfn, arn, describe))
        wire["graph"] = asl
        wire["path"] = graph.run_path(asl, wire["timeline"], execution.execution_status)
        wire["network"] = self.network(execution.row)
        wire["routes"] = self.routes(execution.outcome.details if execution.outcome else "", execution.row.peering_id)
        return wire

    # -- the run store -------------------------------------------------------------------------------
    def routes(self, details: str, peering_id: str) -> dict[str, Any] | None:
        """The routes the run created, found already in place and removed, from its run store (the summary's
        ``details``, ``s3://bucket/runs/<execution>/``: ``peering.runstore``), at most ``ROUTES_SHOWN`` of each
        kind; None when the run stored nothing or the store cannot be read (the counts still show)."""
        if not details.startswith("s3://"):
            return None
        bucket, _, prefix = details.removeprefix("s3://").partition("/")
        s3 = self._client("s3", region_name=self.region)
        try:
            plan = self._stored(s3, bucket, f"{prefix}plan.json") or {}
            keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=f"{prefix}applied/") for o in page.get("Contents", [])]
            applied = [self._stored(s3, bucket, key) or {} for key in sorted(keys)]
            rollback = self._stored(s3, bucket, f"{prefix}rollback.json") or {}
        except (ClientError, BotoCoreError, ValueError):
            return None
        present = [r for role in ("requester", "accepter") for r in (plan.get(role) or {}).get("present", [])]
        kinds = {"created": [r for a in applied for r in a.get("created", [])],
                 "alreadyPresent": present + [r for a in applied for r in a.get("alreadyPresent", [])],
                 "removed": rollback.get("removed", [])}
        return {kind: [{"routeTableId": r["routeTableId"], "destination": r["destination"], "target": peering_id}
                       for r in found[:ROUTES_SHOWN]] for kind, found in kinds.items()}

    @staticmethod
    def _stored(s3: Any, bucket: str, key: str) -> Any:
        try:
            return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    @staticmethod
    def _definition(sfn: Any, arn: str, describe: dict) -> str:
        try:  # the definition this execution ran (a redeploy may have changed the machine since)
            return sfn.describe_state_machine_for_execution(executionArn=arn)["definition"]
        except ClientError:
            return sfn.describe_state_machine(stateMachineArn=describe["stateMachineArn"])["definition"]

    # -- the two VPCs ------------------------------------------------------------------------------
    def network(self, row: executions.ExecutionRow) -> dict[str, Any] | None:
        """Both VPCs (blocks, subnets, route tables and their routes) and the peering, as EC2 has them
        now. Each side is read in its own region and as its own account (the emulator holds every
        account); what cannot be read is left out and said."""
        sides = [s for s in (row.requester, row.accepter) if s is not None]
        if not sides:
            return None
        vpcs = []
        unreadable = []
        peering: dict[str, Any] | None = None
        for role, side in (("requester", row.requester), ("accepter", row.accepter)):
            if side is None:
                continue
            try:
                ec2 = self._client("ec2", account=side.account_id, region_name=side.region)
                snap = read_snapshot([(ec2, [side.vpc_id])], [row.peering_id])
            except (ClientError, BotoCoreError) as e:
                unreadable.append(f"{side.vpc_id}: {one_line(str(e))}")
                continue
            if side.vpc_id not in snap.vpc_cidrs:  # deleted since, or the run recorded no account for it
                unreadable.append(f"{side.vpc_id}: not found in account {side.account_id or self.account} "
                                  f"in {side.region}")
                continue
            vpcs.append(_vpc_view(role, side, snap, row.peering_id))
            info = snap.peerings.get(row.peering_id)
            if info is not None and peering is None:
                peering = {"peeringId": info.peering_id, "state": info.state, "requesterVpc": info.requester.vpc_id,
                           "accepterVpc": info.accepter.vpc_id}
        return {"peering": peering or {"peeringId": row.peering_id, "state": "not found"}, "vpcs": vpcs,
                "unreadable": unreadable}

    # -- runs that are not executions ------------------------------------------------------------
    def activity(self) -> dict[str, Any]:
        """The intake's decisions (events refused or skipped before any execution), sweeps and cleanups
        of the last ``ACTIVITY_DAYS`` days, newest first: what ``peering executions list --all`` reads
        from the functions' log group (the stack's ``FunctionLogGroupName`` output)."""
        group = find_log_group(self._aws, self.stack_name)
        since = datetime.now(UTC) - timedelta(days=ACTIVITY_DAYS)
        try:
            found = activity.read(self._client("logs"), group, since, LIST_LIMIT)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            found = []  # no function has logged yet
        return {"logGroup": group, "days": ACTIVITY_DAYS, "items": [a.wire() for a in found]}


def _vpc_view(role: str, side: executions.VpcRef, snap: Any, peering_id: str) -> dict[str, Any]:
    tables = [t for t in snap.route_tables if t.vpc_id == side.vpc_id]
    return {
        "role": role,
        "vpcId": side.vpc_id,
        "accountId": side.account_id,
        "region": side.region,
        "name": snap.vpc_names.get(side.vpc_id, ""),
        "cidrs": list(snap.vpc_cidrs.get(side.vpc_id, ())),
        "subnets": [{"subnetId": s.subnet_id, "cidr": s.cidr} for s in snap.subnets.values()
                    if s.vpc_id == side.vpc_id],
        "instances": [{"instanceId": i.instance_id, "ips": list(i.ips), "state": i.state, "subnetId": i.subnet_id}
                      for i in snap.interfaces if i.vpc_id == side.vpc_id and i.instance_id],
        "routeTables": [{
            "routeTableId": t.route_table_id,
            "main": t.main,
            "subnetIds": list(t.subnet_ids),
            "routes": [{"destination": r.destination, "target": r.target or "", "state": r.state,
                        "viaPeering": r.target == peering_id} for r in t.routes],
        } for t in tables],
    }


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=str).encode()
