"""Every stage of the workflow, fuzzed through the state machine's own definition.

Each generated example is a world (which two VPCs, their consent tags, the peering's tags and state, routes
and opt-out tags someone else put in the route tables, the stack's parameters, a concurrent actor acting
between two stages) and a run of ``statemachine/peering.asl.json`` over it (``tests/fault/asl_driver.py``):
every Task gets the document the state machine would give it, and is invoked through the deployed function
(moto's Lambda, in-process), as Step Functions invokes it. Each example also takes the failure path from a
drawn point (a Task whose response was lost: ``States.Timeout``, then Rollback and ReportFailure), so the
stages that only a failure reaches are fuzzed as often as the others.

Properties, checked at every stage invocation (each can be violated; ``test_..._catches_...`` below shows the
route check failing when a stage touches a foreign route):

* the stage returns, or fails with one of the project's errors (never ``Unexpected``) in one line;
* no foreign route changed: every route whose target is not this run's peering is exactly as before, in
  every route table of the account; routes to this run's peering are added only by ApplyRoutes and only
  where its plan says, and removed only by Rollback and only where the run's plan created them; no other
  peering changes state, and only Accept changes this one's;
* a refusal (Inspect's ``refuse``) is one sentence, and a refused run changes no route and accepts nothing;
  a peering is refused exactly when the example was made to break one rule (``FLAWS``);
* idempotence: a re-run of the same stage with the same document (Step Functions retries) fails or succeeds
  as the first run did and changes nothing more; a stage that only reads answers it exactly as before.

The examples are counted per stage: an example *reached* a stage when the stage's function was invoked and
did not refuse its input as malformed (it returned, or failed with an error of the stage's own logic). Each
stage's own test asserts at least ``PER_STAGE`` of them. One generated run (a module fixture) feeds the
stages' tests: an example is a whole run, so it reaches every stage on its path; a generator per stage would
run the stages before it again for each one, several times the time for the same examples.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.client
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from peering import errors, stages
from peering_tools import deploy, inprocess, probes, seed, template
from tests.conftest import ACCOUNT, MOTO_CONFIG, REGION
from tests.fault.asl_driver import ASL, Driver, TaskFailed

PER_STAGE = 200
EXAMPLES = 300
"""Examples generated; the per-stage counts (what a test asserts) are what reached each stage of them."""
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
"""Derandomized and without an example database: CI runs exactly the same examples each time, so the
per-stage counts are the same on every run of the same code."""

WORKFLOW_STAGES = [s for s in stages.STAGES if s.in_workflow]
READ_ONLY = (stages.WAIT_ACTIVE, stages.PLAN_ROUTES, stages.PREPARE_PROBE, stages.PROBE, stages.VERIFY)
"""Stages that change nothing: a re-run with the same document in the same world gives the same answer."""
TRIGGER = seed.TRIGGER_TAG
CONSENT = seed.CONSENT_TAG
SKIP = "peering-automation/skip"
PROJECT_ERRORS = {name for name, cls in vars(errors).items()
                  if isinstance(cls, type) and issubclass(cls, errors.PeeringError)}
PROBE_IN_A = "ProbeSubnetIds"
STACK_PARAMETERS = [{}] * 8 + [{PROBE_IN_A: "A"}] * 2 + [
    {"ConsentMode": "account", "AllowShadowing": "true", "EnableDnsResolution": "false"},
    {"RouteTableQuota": "3", "MaxActivationChecks": "1"}]
NARROW = {"AllowedPeerCidrs": "10.6.0.0/17,10.7.0.0/17,10.8.0.0/17"}  # every VPC overlaps one, none is inside
"""Few variants of the stack's parameters: each is a new Settings, so a new warm container per function."""


# -- the world --------------------------------------------------------------------------------------------

@dataclass
class World:
    ec2: Any
    lam: Any
    spec: template.StackSpec
    vpcs: dict[str, str]  # name -> vpc id
    cidr: dict[str, str]  # name -> IPv4 block
    subnets: dict[str, str]
    tables: dict[str, list[str]]  # name -> its route tables (main first)
    igws: dict[str, str]
    other_peering: str  # A <-> C, accepted and routed before any example: its routes are foreign to every run
    baseline: dict[tuple[str, str], str] = field(default_factory=dict)
    examples: int = 0


def _ids(ec2: Any, vpc: str) -> list[str]:
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]
    main = [t["RouteTableId"] for t in tables if any(a.get("Main") for a in t.get("Associations", []))]
    return main + sorted(t["RouteTableId"] for t in tables if t["RouteTableId"] not in main)


def build_world(spec: template.StackSpec) -> World:
    ec2 = boto3.client("ec2", region_name=REGION)
    net = seed.build(ec2)  # A 10.6/16 and B 10.7/16, each with a subnet, an instance and an internet gateway
    vpcs, cidr = {"A": net.vpc_a, "B": net.vpc_b}, {"A": "10.6.0.0/16", "B": "10.7.0.0/16"}
    subnets, igws = {"A": net.subnet_a, "B": net.subnet_b}, {"A": net.igw_a, "B": net.igw_b}
    # C: a second table; D: overlaps B; E: a range outside the default AllowedPeerCidrs
    for name, block in (("C", "10.8.0.0/16"), ("D", "10.7.128.0/17"), ("E", "198.51.100.0/24")):
        vpc = ec2.create_vpc(CidrBlock=block)["Vpc"]["VpcId"]
        vpcs[name], cidr[name] = vpc, block
        subnets[name] = ec2.create_subnet(VpcId=vpc, CidrBlock=block.replace("/16", "/24").replace("/17", "/24")
                                          )["Subnet"]["SubnetId"]
        igws[name] = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igws[name], VpcId=vpc)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    for name in ("C", "D"):  # something to probe in each VPC a run may go to
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=subnets[name])
    ec2.create_route_table(VpcId=vpcs["C"])
    role = boto3.client("iam", region_name=REGION).get_role(RoleName=f"{spec.stack_name}-role")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    for name, vpc in vpcs.items():  # each VPC's own probe, as probe.yaml deploys it (found by its probe-vpc tag)
        group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"][0]
        probes.deploy_probe(lam, role, vpc, subnets[name], [group["GroupId"]], ACCOUNT)
    tables = {name: _ids(ec2, vpc) for name, vpc in vpcs.items()}
    other = ec2.create_vpc_peering_connection(VpcId=vpcs["A"], PeerVpcId=vpcs["C"])["VpcPeeringConnection"][
        "VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=other)
    ec2.create_route(RouteTableId=tables["A"][0], DestinationCidrBlock=cidr["C"], VpcPeeringConnectionId=other)
    for table in tables["C"]:
        ec2.create_route(RouteTableId=table, DestinationCidrBlock=cidr["A"], VpcPeeringConnectionId=other)
    world = World(ec2, boto3.client("lambda", region_name=REGION), spec, vpcs, cidr, subnets, tables, igws, other)
    world.baseline = routes()
    return world


def destination(route: dict) -> str:
    return route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock") or route.get(
        "DestinationPrefixListId", "?")


def target(route: dict) -> str:
    return next((v for k, v in sorted(route.items()) if k.endswith("Id") and k != "DestinationPrefixListId"), "?")


def described_routes(ec2: Any) -> dict[tuple[str, str], str]:
    """Every route of every table, as DescribeRouteTables gives it: (table, destination) -> target."""
    return {(t["RouteTableId"], destination(r)): target(r)
            for t in ec2.describe_route_tables()["RouteTables"] for r in t["Routes"]}


ROUTE_TARGETS = ("vpc_pcx", "gateway", "nat_gateway", "egress_only_igw", "transit_gateway", "interface",
                 "instance", "carrier_gateway")
"""Attributes of moto's Route that hold a route's target (moto/ec2/models/route_tables.py:199-212; the table's
``routes``, :51); ``test_the_route_check_catches_...`` compares this snapshot with DescribeRouteTables."""


def _backend() -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[ACCOUNT][REGION]


def routes() -> dict[tuple[str, str], tuple[str, str]]:
    """Every route of every table in the account: (table, destination) -> (target, the whole route).

    Read from moto's EC2 backend, not through DescribeRouteTables: the fuzz compares every table before and
    after every stage, and serializing them is most of an example's time. ``test_the_route_check_catches_...``
    checks (a canary) that this reads what DescribeRouteTables describes."""
    found = {}
    for table in _backend().route_tables.values():
        for route in table.routes:
            dest = route.destination_cidr_block or route.destination_ipv6_cidr_block or getattr(
                route.destination_prefix_list, "id", "?")
            targets = {name: getattr(getattr(route, name), "id", getattr(route, name)) for name in ROUTE_TARGETS
                       if getattr(route, name, None) is not None}
            main = "local" if route.local else next(iter(targets.values()), "?")
            found[(table.id, dest)] = (main, json.dumps(targets, sort_keys=True, default=str))
    return found


def target_of(entry: tuple[str, str]) -> str:
    return entry[0]


def peering_states() -> dict[str, str]:
    """Every peering's state, from moto's backend (``vpc_pcxs``, moto/ec2/models/vpc_peering_connections.py:141)."""
    return {pcx_id: pcx._status.code for pcx_id, pcx in _backend().vpc_pcxs.items()}


def reset(world: World) -> None:
    """Back to the baseline between examples: routes a run or an actor added go, opt-out tags go; a baseline
    route that was changed (only ever by a defect, which the example reported) is put back."""
    ec2 = world.ec2
    for (table, dest), entry in routes().items():
        key = {"DestinationIpv6CidrBlock" if ":" in dest else "DestinationCidrBlock": dest}
        if (table, dest) not in world.baseline:
            ec2.delete_route(RouteTableId=table, **key)
        elif entry != world.baseline[(table, dest)]:
            ec2.replace_route(RouteTableId=table, **key,
                              **_target_parameter(target_of(world.baseline[(table, dest)])))
    for (table, dest), entry in world.baseline.items():
        if (table, dest) not in routes():
            key = {"DestinationIpv6CidrBlock" if ":" in dest else "DestinationCidrBlock": dest}
            ec2.create_route(RouteTableId=table, **key, **_target_parameter(target_of(entry)))
    assert routes() == world.baseline
    ec2.delete_tags(Resources=[t for ts in world.tables.values() for t in ts], Tags=[{"Key": SKIP}])


def _target_parameter(target_id: str) -> dict[str, str]:
    return {"VpcPeeringConnectionId": target_id} if target_id.startswith("pcx-") else {"GatewayId": target_id}


# -- what an example is -----------------------------------------------------------------------------------

GOOD_PAIRS = [("A", "B")] * 4 + [("A", "D"), ("A", "D"), ("B", "A"), ("C", "B"), ("D", "C")]
"""Mostly from A (the probe's VPC when ProbeSubnetIds is set)."""
FLAWS = ["already-routed", "no-trigger", "trigger-false", "requester-no-consent", "accepter-no-consent",
         "overlapping-vpcs", "public-range", "probe-target-outside", "bad-direction", "rejected", "deleted",
         "narrow-ranges"]
SPECIAL_PAIRS = {"overlapping-vpcs": ("B", "D"), "public-range": ("A", "E"), "already-routed": ("A", "C")}
"""What is wrong with a flawed example (exactly one thing), so every refusal rule is reached; ``already-routed``
is the pair A-C, whose tables already route to each other through the A-C peering (a RouteConflict)."""
ACTORS = ["delete-peering", "conflicting-route", "shadowing-route", "skip-table", "replace-our-route",
          "untag-trigger"]
TASKS = ["Inspect", "Accept", "CheckActive", "PlanRoutes", "ApplyChunk", "ApplyChunk", "ConfigureDns",
         "PrepareProbe", "Probe", "Verify", "Report", "Rollback"]
"""ApplyChunk twice: it was two Tasks (one per side) before the Distributed Map, and keeps their share of the draws."""
FAILURE_POINTS = ["Inspect"] * 2 + ["Accept", "CheckActive", "PlanRoutes"] + ["ApplyRoutes"] * 4 + [
    "ConfigureDns"] * 2 + ["PrepareProbe", "Verify"]
"""Where the failure path leaves: a state with a Catch, its response lost after it did its work."""


@dataclass
class Example:
    requester: str
    accepter: str
    flaw: str | None
    trigger: str
    consents: tuple[str, str]  # how each side (requester, accepter) names the other: peer | * | account
    probe_targets: str | None
    direction: str | None
    active_before: bool  # accepted by someone before the run started
    prior_routes: list[tuple[str, int, str]]  # (side, table index, kind): routes someone else made
    skip: list[tuple[str, int, str]]  # (side, table index, value): opt-out tags
    parameters: dict[str, str]
    actor: tuple[str | None, str]  # (what someone else does, before which Task)
    fail_at: str
    reruns: frozenset[str]  # Tasks run twice (idempotence)
    reachable_ports: frozenset[int]


@st.composite
def examples(draw: st.DrawFn) -> Example:
    """An example; the proportions (a flaw in about one in eight, a concurrent actor in one in five, ...) are
    drawn from a Random seeded by Hypothesis (uniform, unlike its own choices, which favour edge values), so they
    hold at any number of examples; a failure is reproduced from its seed."""
    rnd = draw(st.randoms(use_true_random=True))
    flaw = rnd.choice(FLAWS) if rnd.random() < 0.12 else None
    pair = SPECIAL_PAIRS.get(flaw or "") or rnd.choice(GOOD_PAIRS)
    consents = [rnd.choice(["peer", "peer", "*", "account"]) for _ in range(2)]
    if flaw in ("requester-no-consent", "accepter-no-consent"):
        consents[flaw.startswith("accepter")] = rnd.choice(["none", "other"])
    trigger = {"no-trigger": None, "trigger-false": rnd.choice(["false", "", "yes"])}.get(
        flaw or "", rnd.choice(["true", "true", "true", " TRUE ", "True"]))
    targets = (rnd.choice(["8.8.8.8:53", "192.168.1.1:22"]) if flaw == "probe-target-outside" else
               rnd.choice([None] * 5 + ["{ip}:22", "{ip}:443,{ip}:22", "icmp:{ip},{ip}:22"]))
    direction = "sideways" if flaw == "bad-direction" else rnd.choice(
        [None] * 6 + ["both", "accepter-to-requester", "Requester-To-Accepter"])
    prior = [] if rnd.random() < 0.75 else [(rnd.choice(["requester", "accepter"]), rnd.randint(0, 1),
                                           rnd.choice(["unrelated"] * 3 + ["egress"] * 3 + ["conflict", "shadow"]))]
    skip = [] if rnd.random() < 0.85 else [(rnd.choice(["requester", "accepter"]), rnd.randint(0, 1),
                                            rnd.choice(["true", " TRUE", "false"]))]
    return Example(
        requester=pair[0], accepter=pair[1], flaw=flaw, trigger=trigger, consents=(consents[0], consents[1]),
        probe_targets=targets, direction=direction, active_before=rnd.random() < 0.08, prior_routes=prior,
        skip=skip, parameters=NARROW if flaw == "narrow-ranges" else rnd.choice(STACK_PARAMETERS),
        actor=(rnd.choice(ACTORS) if rnd.random() < 0.2 else None, rnd.choice(TASKS[1:8])),
        fail_at=rnd.choice(FAILURE_POINTS),
        reruns=frozenset(rnd.sample(TASKS, rnd.choice([1, 1, 2, 2]))),
        reachable_ports=frozenset(p for p in (22, 443) if rnd.random() < 0.7),
    )


# -- one example ------------------------------------------------------------------------------------------

@dataclass
class Tally:
    reached: Counter = field(default_factory=Counter)
    checked: Counter = field(default_factory=Counter)
    reruns: Counter = field(default_factory=Counter)
    outcomes: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    refusals: int = 0
    reasons: Counter = field(default_factory=Counter)
    last_reason: str = ""


def one_line(text: Any) -> None:
    assert isinstance(text, str) and text.strip(), repr(text)
    assert "\n" not in text and "Traceback" not in text and len(text) < 2000, text[:300]


def one_sentence(text: Any) -> None:
    """A refusal reason: one line, one sentence (a full stop at the end and at no sentence boundary before)."""
    one_line(text)
    body = text.rstrip()
    assert body.endswith("."), text
    assert ". " not in body[:-1].replace("e.g. ", "").replace("i.e. ", ""), f"more than one sentence: {text}"


INVOKE = "arn:aws:states:::lambda:invoke"


def function_of(state: dict, payload: Any) -> tuple[str, Any]:
    """The function a Task invokes and the payload it sends."""
    resource = state["Resource"]
    if resource == INVOKE:
        return payload["FunctionName"], payload["Payload"]
    logical = resource.removeprefix("${").removesuffix("Arn}")
    return WORLD_SPEC[0].functions[logical].name, payload


WORLD_SPEC: list[template.StackSpec] = []


def set_up(world: World, example: Example) -> tuple[str, str, dict[str, str]]:
    """The example's peering and its surroundings; returns (peering id, execution id, env overrides)."""
    ec2 = world.ec2
    world.examples += 1
    req, acc = example.requester, example.accepter
    for name, peer, consent in ((req, acc, example.consents[0]), (acc, req, example.consents[1])):
        value = {"peer": world.vpcs[peer], "*": "*", "account": ACCOUNT, "other": world.vpcs["E"] if peer != "E"
                 else world.vpcs["D"], "none": None}[consent]
        if value is None:
            ec2.delete_tags(Resources=[world.vpcs[name]], Tags=[{"Key": CONSENT}])
        else:
            ec2.create_tags(Resources=[world.vpcs[name]], Tags=[{"Key": CONSENT, "Value": value}])
    tags = []
    if example.trigger is not None:
        tags.append({"Key": TRIGGER, "Value": example.trigger})
    ip = ".".join(world.cidr[acc].split("/")[0].split(".")[:3]) + ".4"
    if example.probe_targets:
        tags.append({"Key": "peering-automation/probe-targets", "Value": example.probe_targets.format(ip=ip)})
    if example.direction:
        tags.append({"Key": "peering-automation/verify-direction", "Value": example.direction})
    kwargs: dict[str, Any] = {"VpcId": world.vpcs[req], "PeerVpcId": world.vpcs[acc]}
    if tags:
        kwargs["TagSpecifications"] = [{"ResourceType": "vpc-peering-connection", "Tags": tags}]
    pcx = ec2.create_vpc_peering_connection(**kwargs)["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    if example.flaw == "rejected":
        ec2.reject_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    elif example.flaw == "deleted":
        ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    elif example.active_before:
        ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    side = {"requester": req, "accepter": acc}
    for role, index, kind in example.prior_routes:
        name = side[role]
        table = world.tables[name][min(index, len(world.tables[name]) - 1)]
        peer_block = world.cidr[acc if role == "requester" else req]
        dest = {"conflict": peer_block, "shadow": "10.0.0.0/8", "unrelated": "192.168.77.0/24",
                "egress": "0.0.0.0/0"}[kind]
        with contextlib.suppress(ec2.exceptions.ClientError):  # already there: someone made it before
            ec2.create_route(RouteTableId=table, DestinationCidrBlock=dest, GatewayId=world.igws[name])
    for role, index, value in example.skip:
        name = side[role]
        table = world.tables[name][min(index, len(world.tables[name]) - 1)]
        ec2.create_tags(Resources=[table], Tags=[{"Key": SKIP, "Value": value}])
    parameters = {k: world.subnets[v] if k == PROBE_IN_A else v for k, v in example.parameters.items()}
    env = stack_env(parameters)
    execution = (f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{world.spec.state_machine_name}:"
                 f"{pcx}-fuzz{world.examples}")
    return pcx, execution, env


_ENV: dict[tuple, dict[str, str]] = {}


def stack_env(parameters: dict[str, str]) -> dict[str, str]:
    """The functions' environment under these stack parameters, as the template computes it: what differs
    from the deployed (default) stack is set on top of each invocation's environment."""
    key = tuple(sorted(parameters.items()))
    if key not in _ENV:
        base = WORLD_SPEC[0].functions["InspectFunction"].environment
        changed = template.stack_spec(parameters, account_id=ACCOUNT, region=REGION).functions[
            "InspectFunction"].environment
        _ENV[key] = {k: v for k, v in changed.items() if base.get(k) != v}
    return _ENV[key]


def act(world: World, example: Example, pcx: str, side: dict[str, str]) -> None:
    """The concurrent actor: someone else changes the world between two stages."""
    ec2, what = world.ec2, example.actor[0]
    req, acc = side["requester"], side["accepter"]
    table = world.tables[acc][0]
    if what == "delete-peering":
        with contextlib.suppress(ec2.exceptions.ClientError):
            ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    elif what in ("conflicting-route", "shadowing-route"):
        dest = world.cidr[req] if what == "conflicting-route" else "10.0.0.0/8"
        with contextlib.suppress(ec2.exceptions.ClientError):
            ec2.create_route(RouteTableId=table, DestinationCidrBlock=dest, GatewayId=world.igws[acc])
    elif what == "skip-table":
        ec2.create_tags(Resources=[table], Tags=[{"Key": SKIP, "Value": "true"}])
    elif what == "replace-our-route":
        for (rtb, dest), entry in routes().items():
            if target_of(entry) == pcx:
                ec2.replace_route(RouteTableId=rtb, DestinationCidrBlock=dest,
                                  GatewayId=world.igws[next(n for n, ts in world.tables.items() if rtb in ts)])
                break
    elif what == "untag-trigger":
        ec2.delete_tags(Resources=[pcx], Tags=[{"Key": TRIGGER}])


def invoke(world: World, function: str, payload: Any) -> tuple[bool, Any]:
    """(True, result) or (False, the error payload Lambda returns: errorType, errorMessage)."""
    response = world.lam.invoke(FunctionName=function, Payload=json.dumps(payload))
    body = json.loads(response["Payload"].read())
    return "FunctionError" not in response, body


def stored(bucket: str, key: str) -> Any:
    """A run store object (``peering.runstore``), read from moto's S3."""
    return json.loads(boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)["Body"].read())


def read_items(resource: str, parameters: dict) -> list:
    """The Distributed Map's ItemReader (``arn:aws:states:::s3:getObject``, JSON): the chunk list."""
    return stored(parameters["Bucket"], parameters["Key"])


def planned(document: Any, which: str) -> set[tuple[str, str]]:
    """(table, destination) pairs of one chunk's routes to create (an ApplyRoutes item's ``chunk``) or of the
    run's whole plan (``create`` of both sides), read from the run store the document points at."""
    plan = document.get("plan")
    if not plan:
        return set()
    if which == "chunk":
        plans = [stored(plan["bucket"], document["chunk"]["key"])]
    else:
        whole = stored(plan["bucket"], f"{plan['prefix']}plan.json")
        plans = [whole[role] for role in ("requester", "accepter")]
    return {(r["routeTableId"], r["destination"]) for p in plans for r in p.get("create", [])}


def check_routes(stage: str, before: dict, after: dict, pcx: str, allowed_added: set, allowed_removed: set) -> None:
    """No foreign route changed; routes to ``pcx`` changed only where the stage may change them."""
    foreign_before = {k: v for k, v in before.items() if target_of(v) != pcx}
    foreign_after = {k: v for k, v in after.items() if target_of(v) != pcx}
    assert foreign_after == foreign_before, (
        f"{stage} changed a route that is not its peering's: "
        f"{sorted(set(foreign_before.items()) ^ set(foreign_after.items()))}")
    ours_before = {k for k, v in before.items() if target_of(v) == pcx}
    ours_after = {k for k, v in after.items() if target_of(v) == pcx}
    assert ours_after - ours_before <= allowed_added, f"{stage} added {sorted(ours_after - ours_before)}"
    assert ours_before - ours_after <= allowed_removed, f"{stage} removed {sorted(ours_before - ours_after)}"


def run_example(world: World, example: Example, tally: Tally) -> None:
    reset(world)
    pcx, execution, env = set_up(world, example)
    inprocess.reset_process_env()
    inprocess.set_process_env(**env)
    side = {"requester": example.requester, "accepter": example.accepter}
    reached: set[str] = set()
    refused = False
    entered: dict[str, Any] = {}

    def enter(name: str, document: Any) -> None:
        entered.setdefault(name, document)

    def call(state_name: str, state: dict, payload: Any) -> Any:
        nonlocal refused
        row = stages.for_state(state_name)
        assert row is not None, f"{state_name} invokes no function of the stage table"
        function, event = function_of(state, payload)
        if example.actor[0] and example.actor[1] == state_name:
            act(world, example, pcx, side)
        before, peerings = routes(), peering_states()
        ok, result = invoke(world, function, event)
        after, peerings_after = routes(), peering_states()

        if not ok:
            assert result.get("errorType") in PROJECT_ERRORS, result
            assert result["errorType"] != "Unexpected", f"{row.name} hit a defect: {result['errorMessage']}"
            one_line(result["errorMessage"])
            malformed = result["errorType"] == "InvalidInput" and "malformed" in result["errorMessage"]
            assert not malformed, f"the state machine's own document was refused by {row.name}: {result}"
        tally.outcomes[row.name][result["errorType"] if not ok else "returned"] += 1
        if not ok:
            tally.reasons[result["errorMessage"][:160]] += 1
        reached.add(row.name)

        added = planned(event, "chunk") if row is stages.APPLY_ROUTES else set()
        removed = planned(event, "run") if row is stages.ROLLBACK else set()
        check_routes(row.name, before, after, pcx, added, removed)
        assert {k: v for k, v in peerings_after.items() if k != pcx} == {
            k: v for k, v in peerings.items() if k != pcx}, f"{row.name} changed another peering"
        if row is not stages.ACCEPT:
            assert peerings_after.get(pcx) == peerings.get(pcx), f"{row.name} changed the peering's state"
        if row is stages.INSPECT and ok and result.get("decision") == "refuse":
            one_sentence(result["reason"])
            refused = True
            tally.reasons[result["reason"]] += 1
            tally.last_reason = result["reason"]
        tally.checked[row.name] += 1

        if state_name in example.reruns:  # Step Functions may run a stage again: same outcome, nothing more
            again_ok, again = invoke(world, function, event)
            assert again_ok == ok and (ok or again["errorType"] == result["errorType"]), (row.name, result, again)
            if ok and row in READ_ONLY:
                assert again == result, f"{row.name} answered a re-run of the same document differently"
            assert routes() == after, f"a re-run of {row.name} changed routes again"
            assert peering_states() == peerings_after, f"a re-run of {row.name} changed a peering"
            tally.reruns[row.name] += 1
        if not ok:
            raise TaskFailed(result["errorType"], json.dumps(result))
        return {"Payload": result} if state["Resource"] == INVOKE else result

    start = {"peeringId": pcx, "trigger": {"eventId": f"fuzz-{world.examples}", "eventName": "CreateTags"}}
    Driver(call, execution, enter, read_items).run(start)
    # the oracle is how the example was made, not the rules restated: a flawed example breaks one rule
    consent_waived = (example.flaw or "").endswith("no-consent") and example.parameters.get("ConsentMode") == "account"
    must_refuse = example.flaw not in (None, "already-routed") and not consent_waived
    what = example.flaw or "a peering that breaks no rule"
    assert refused == must_refuse, f"{what} was {'' if refused else 'not '}refused {tally.last_reason * refused}"
    if refused:
        tally.refusals += 1
        assert not [k for k, v in routes().items() if target_of(v) == pcx], \
            "a refused peering got routes"
        assert peering_states()[pcx] != "active" or example.active_before, "a refused peering was accepted"
    # the failure path: the drawn state did its work but its response was lost; its Catch leads on from its input
    if example.fail_at in entered:
        state = ASL["States"][example.fail_at]
        catch = next(c for c in state["Catch"] if "States.ALL" in c["ErrorEquals"])
        document = copy.deepcopy(entered[example.fail_at])
        document[catch["ResultPath"].removeprefix("$.")] = {
            "Error": "States.Timeout", "Cause": f"{example.fail_at} did not answer in time."}
        Driver(call, execution, read_items=read_items).run(document, start=catch["Next"])
    for name in reached:
        tally.reached[name] += 1


# -- the run, and each stage's own count -----------------------------------------------------------------

@contextlib.contextmanager
def fuzz_stack(connector: Callable[..., Any] | None = None) -> Iterator[World]:
    """The deployed stack in moto, the world around it; probes answer from ``reachable_ports``."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
                           "POWERTOOLS_LOG_LEVEL": "WARNING"}.items():
            mp.setenv(key, value)
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        with mock_aws(config=MOTO_CONFIG):
            spec = template.stack_spec(account_id=ACCOUNT, region=REGION)
            WORLD_SPEC[:] = [spec]
            deploy.deploy(spec)
            from peering import probe

            mp.setattr(probe, "connector", connector or PROBE.answer)
            mp.setattr(botocore.client.BaseClient, "_make_api_call", _accept_answers_provisioning(
                botocore.client.BaseClient._make_api_call))
            try:
                yield build_world(spec)
            finally:
                inprocess.reset_process_env()
                inprocess.cold_start()


def _accept_answers_provisioning(original: Callable[..., Any]) -> Callable[..., Any]:
    """AWS answers AcceptVpcPeeringConnection with ``provisioning`` (active seconds later); moto answers
    ``active``, which would let every run skip CheckActive. Here the answer is AWS's."""

    def make_api_call(self: Any, operation: str, params: dict) -> Any:
        response = original(self, operation, params)
        if operation == "AcceptVpcPeeringConnection":
            status = response.get("VpcPeeringConnection", {}).get("Status", {})
            if status.get("Code") == "active":
                status["Code"] = "provisioning"
        return response

    return make_api_call


@dataclass
class Probe:
    """The probe's connector: no socket; a target answers when its port is one the example made reachable."""

    ports: frozenset[int] = frozenset()

    def answer(self, host: str, port: int, timeout: float) -> Any:
        from peering.models import ProbeResult, ProbeTarget

        return ProbeResult(target=ProbeTarget(host=host, port=port), reachable=port in self.ports,
                           error=None if port in self.ports else "timeout")


PROBE = Probe()


def fuzz(world: World, tally: Tally, examples_: int = EXAMPLES, **options: Any) -> None:
    @settings(FUZZ, max_examples=examples_, **options)
    @given(example=examples())
    def check(example: Example) -> None:
        PROBE.ports = example.reachable_ports
        run_example(world, example, tally)

    check()


@pytest.fixture(scope="module")
def fuzzed() -> Tally:
    tally = Tally()
    with fuzz_stack() as world:
        fuzz(world, tally)
    return tally


@pytest.mark.parametrize("stage", [s.name for s in WORKFLOW_STAGES])
def test_each_stage_is_reached_by_at_least_200_fuzzed_examples_and_keeps_its_properties(fuzzed, stage):
    """The count is this stage's own: examples whose run invoked it with a document it accepted."""
    assert fuzzed.reached[stage] >= PER_STAGE, (stage, dict(fuzzed.reached))
    assert fuzzed.checked[stage] >= fuzzed.reached[stage], "every invocation's properties were checked"
    assert fuzzed.reruns[stage] >= 20, (stage, dict(fuzzed.reruns))  # idempotence exercised on this stage
    print(stage, fuzzed.reached[stage], dict(fuzzed.outcomes[stage]))


def test_the_fuzz_sees_refusals_and_failures_of_the_stages_own_logic(fuzzed):
    """The generated worlds are not all happy paths: refusals, conflicts and stage errors all happen."""
    assert fuzzed.refusals >= 30, fuzzed.refusals
    errors_seen = {kind for counts in fuzzed.outcomes.values() for kind in counts if kind != "returned"}
    assert {"RouteConflict", "PeeringNotActive"} <= errors_seen, errors_seen


def test_the_route_check_catches_a_stage_that_changes_a_foreign_route():
    """The property above can fail: with a defect injected that makes every CreateRoute through a peering
    also repoint the A-C peering's route (someone else's), the fuzz stops at the first stage that did it."""
    with fuzz_stack() as world:
        # canary: the snapshot read from moto's backend is what DescribeRouteTables describes
        assert {k: target_of(v) for k, v in routes().items()} == described_routes(world.ec2)
        assert target_of(routes()[(world.tables["A"][0], world.cidr["C"])]) == world.other_peering
        assert peering_states() == {p["VpcPeeringConnectionId"]: p["Status"]["Code"] for p in
                                    world.ec2.describe_vpc_peering_connections()["VpcPeeringConnections"]}

        original = botocore.client.BaseClient._make_api_call

        def defect(self: Any, operation: str, params: dict) -> Any:
            response = original(self, operation, params)
            if operation == "CreateRoute" and "VpcPeeringConnectionId" in params:
                original(self, "ReplaceRoute", {"RouteTableId": world.tables["A"][0],
                                                "DestinationCidrBlock": world.cidr["C"], "GatewayId": world.igws["A"]})
            return response

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(botocore.client.BaseClient, "_make_api_call", defect)
            with pytest.raises(AssertionError, match="apply-routes changed a route that is not its peering's"):
                fuzz(world, Tally(), 20, phases=[Phase.generate])
