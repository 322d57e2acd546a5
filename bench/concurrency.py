"""Concurrent taggings of one peering in the emulator: how many executions start (the lease: exactly one).

Each round builds a fresh seed network in the local emulator (moto's server on 127.0.0.1, a free port, the
stack deployed from template.yaml with its lease table), requests an untagged peering, and then tags it
``TAGGINGS`` times at once from as many threads (released together by a barrier). Every CreateTags is
recorded as its own CloudTrail event and delivered by the real rule to the intake, one asynchronous
invocation each. Nothing in the product is patched: the race is the natural one, and the handlers' own
calls are counted (``harness.CallRecorder``) to show it happened: how many intake invocations reached the
lease's conditional write, and how many of those writes were in flight at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from peering_tools import seed
from peering_tools.emulator import Emulator

from .harness import CallRecorder
from .report import Section, Table

TAGGINGS = 50
ROUNDS = 3
TIMEOUT = 120.0  # seconds per round, from the first tag until every execution of the peering ended
INTAKE = "peering-autopilot-IntakeFunction"


def _wait(condition: Callable[[], Any], what: str, deadline: float) -> Any:
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {TIMEOUT:.0f} s")
        time.sleep(0.1)


def one_round(emulator: Emulator, recorder: CallRecorder) -> dict[str, Any]:
    ec2, sfn = emulator.client("ec2"), emulator.client("stepfunctions")
    machine = emulator.stack.state_machine_arn
    net = seed.build(ec2)
    pcx = seed.request_peering(ec2, net, tagged=False)
    recorder.take()
    gate = threading.Barrier(TAGGINGS)

    def tag(_: int) -> None:
        client = emulator.client("ec2")
        gate.wait()
        client.create_tags(Resources=[pcx], Tags=[{"Key": seed.TRIGGER_TAG, "Value": "true"}])

    started = time.perf_counter()
    deadline = time.monotonic() + TIMEOUT
    with ThreadPoolExecutor(max_workers=TAGGINGS) as pool:
        list(pool.map(tag, range(TAGGINGS)))

    def intake_writes() -> int:
        return sum(1 for c in recorder.peek().calls if c.function == INTAKE and c.key == "dynamodb:PutItem")

    _wait(lambda: intake_writes() >= TAGGINGS, f"{TAGGINGS} intake invocations reaching the lease", deadline)

    def ended() -> list[dict[str, Any]]:
        runs = [e for e in sfn.list_executions(stateMachineArn=machine)["executions"] if e["name"].startswith(pcx)]
        return runs if runs and all(r["status"] != "RUNNING" for r in runs) else []

    runs = _wait(ended, "the peering's executions ending", deadline)
    seconds = time.perf_counter() - started
    recording = recorder.take()
    no_ops, outcomes = 0, []
    for run in runs:
        history = sfn.get_execution_history(executionArn=run["executionArn"], maxResults=1000)["events"]
        entered = {e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e}
        no_ops += "AlreadyHandled" in entered
        output = sfn.describe_execution(executionArn=run["executionArn"]).get("output") or "{}"
        outcomes.append(json.loads(output).get("status") or run["status"])
    table = emulator.stack.table_names["LeaseTable"]
    return {
        "writes": recording.by_function("dynamodb:PutItem").get(INTAKE, 0),
        "peak": recording.peak_in_flight.get("dynamodb:PutItem", 0),
        "starts": recording.by_function("stepfunctions:StartExecution").get(INTAKE, 0),
        "executions": len(runs),
        "no_ops": no_ops,
        "failed": sum(1 for r in runs if r["status"] != "SUCCEEDED"),
        "outcome": ", ".join(sorted(outcomes)),
        "routes": (len([d for d, t in seed.routes(ec2, net.rtb_a) if t == pcx]),
                   len([d for d, t in seed.routes(ec2, net.rtb_b) if t == pcx])),
        "leases_left": len(emulator.client("dynamodb").scan(TableName=table)["Items"]),
        "seconds": seconds,
    }


def measure() -> Section:
    recorder = CallRecorder()
    with Emulator(port=0) as emulator:
        recorder.install()
        try:
            rounds = [one_round(emulator, recorder) for _ in range(ROUNDS)]
        finally:
            recorder.uninstall()
    table = Table(f"{TAGGINGS} concurrent CreateTags of one peering, {ROUNDS} rounds (a fresh seed network each)",
                  ["round", "intake invocations at the lease write", "peak lease writes in flight",
                   "StartExecution calls", "executions started", "no-op executions", "failed", "outcome",
                   "routes A / B", "leases left", "tags until ended"])
    for i, r in enumerate(rounds, 1):
        table.rows.append([i, r["writes"], r["peak"], r["starts"], f"**{r['executions']}**", f"**{r['no_ops']}**",
                           r["failed"], r["outcome"], f"{r['routes'][0]} / {r['routes'][1]}", r["leases_left"],
                           f"{r['seconds']:.1f} s"])
    section = Section("6. Concurrent taggings: executions per peering", tables=[table])
    section.notes = [
        "Each tagging is its own CloudTrail event (its own event id, so its own execution name): every intake "
        "invocation takes the peering's lease with one conditional PutItem before starting anything; the one "
        "write that succeeds starts the execution, every other finds the holder in the failed write's answer "
        "(ReturnValuesOnConditionCheckFailure) and starts nothing.",
        "\"Peak lease writes in flight\" counts PutItem calls made by the handlers that were in progress at the same "
        "moment: above 1 means the writes really raced. moto's item writes are serialised as DynamoDB's "
        "conditional writes are atomic (`peering_tools.conditional_writes`).",
        "No-op executions are those that entered AlreadyHandled; \"leases left\" is the lease table's item count "
        "after the run: the report released the lease.",
    ]
    executions = sorted({r["executions"] for r in rounds})
    no_ops = sorted({r["no_ops"] for r in rounds})
    section.summary = [f"{TAGGINGS} concurrent taggings: executions started {executions}, no-op executions "
                       f"{no_ops} over {ROUNDS} rounds; peak lease writes in flight "
                       f"{max(r['peak'] for r in rounds)}"]
    return section
