"""template.yaml transformed offline by aws-sam-translator: rules, substitutions, Retry/Catch, IAM."""

import copy
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peering import errors
from peering_tools import REPO_ROOT, template
from peering_tools.iampolicy import ALLOW, Request, evaluate
from tests.conftest import load_event
from tests.iam.policies import resolver, role_statements

ASL_PATH = REPO_ROOT / "statemachine" / "peering.asl.json"
ASL = json.loads(ASL_PATH.read_text())
MUTATIONS = re.compile(r"^ec2:(?!Describe|Get|List)")
TRIGGER = "peering-automation/auto-accept"
STATUS = STATUS_TAG = "peering-automation/status"
STATUS_KEYS = {STATUS, "peering-automation/execution", "peering-automation/reason"}


@pytest.fixture(scope="module")
def cfn() -> dict:
    source = template.load()
    values = template._parameter_values(source, {})
    return template.translate(source, values)[0]


@pytest.fixture(scope="module")
def spec() -> template.StackSpec:
    return template.stack_spec()


def tasks(states: dict):
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        for branch in [*state.get("Branches", []), *([state["ItemProcessor"]] if "ItemProcessor" in state else [])]:
            yield from tasks(branch["States"])


def _variants(name: str) -> dict[str, tuple[dict, bool]]:
    """A recorded CloudTrail event and variants of it, each with whether the intake must receive it."""
    base = load_event(name)
    detail = base["detail"]
    out = {"as recorded": (base, True)}

    def variant(label: str, change, expected: bool) -> None:
        event = copy.deepcopy(base)
        change(event["detail"])
        out[label] = (event, expected)

    variant("failed call", lambda d: d.update(errorCode="Client.UnauthorizedOperation"), False)
    variant("another call", lambda d: d.update(eventName="DeleteTags"), False)
    variant("another service", lambda d: d.update(eventSource="s3.amazonaws.com"), False)
    if detail["eventName"] == "CreateTags":
        variant("not a peering", lambda d: d["requestParameters"]["resourcesSet"].update(
            items=[{"resourceId": "vpc-0aaaaaaaaaaaaaaa1"}]), False)
        variant("another tag", lambda d: d["requestParameters"]["tagSet"].update(
            items=[{"key": "Name", "value": "x"}]), False)
        variant("the tag among others, on several peerings", lambda d: d["requestParameters"].update(
            resourcesSet={"items": [{"resourceId": "vpc-1"}, {"resourceId": "pcx-0a1b2c3d4e5f60718"}]},
            tagSet={"items": [{"key": "Name", "value": "x"}, {"key": TRIGGER, "value": "true"}]}), True)
    else:
        variant("created without the tag", lambda d: d["requestParameters"]["tagSpecificationSet"]["items"][0].update(
            tags=[{"key": "Name", "value": "x"}]), False)
    return out


@pytest.mark.parametrize("name", ["create-tags-peering.json", "create-peering-tagged.json"])
def test_the_intake_receives_successful_tagging_of_peerings_and_nothing_else(spec, name):
    """The rules, read from the template, matched by an EventBridge pattern engine against recorded events."""
    from peering_tools.eventpattern import matches

    intake = [r for r in spec.rules if r.target_function == spec.functions["IntakeFunction"].name]
    assert intake and all(r.pattern is not None for r in intake)
    for label, (event, expected) in _variants(name).items():
        assert any(matches(r.pattern, event) for r in intake) is expected, label
    others = [r for r in spec.rules if r.pattern is not None and r not in intake]
    assert not any(matches(r.pattern, load_event(name)) for r in others), "another function receives it too"


def test_the_cleanup_receives_successful_peering_deletions_and_the_sweeper_runs_on_its_schedule(spec):
    from peering_tools.eventpattern import matches

    deleted = load_event("delete-peering.json")
    failed = copy.deepcopy(deleted)
    failed["detail"]["errorCode"] = "Client.UnauthorizedOperation"
    receivers = {r.target_function for r in spec.rules if r.pattern is not None and matches(r.pattern, deleted)}
    assert receivers == {spec.functions["CleanupFunction"].name}
    assert not any(r.pattern is not None and matches(r.pattern, failed) for r in spec.rules)
    assert not any(r.pattern is not None and matches(r.pattern, load_event("create-tags-peering.json"))
                   for r in spec.rules if r.target_function == spec.functions["CleanupFunction"].name)
    scheduled = {r.target_function: r.schedule for r in spec.rules if r.schedule}
    assert scheduled == {spec.functions["SweeperFunction"].name: spec.parameters["SweepSchedule"]}
    custom = template.stack_spec({"SweepSchedule": "rate(5 minutes)"})
    assert {r.schedule for r in custom.rules if r.schedule} == {"rate(5 minutes)"}


def test_the_state_machine_has_the_fixed_name_its_list_permission_is_built_from(cfn, spec):
    machine = cfn["Resources"]["PeeringStateMachine"]["Properties"]
    assert machine["StateMachineName"] == {"Fn::Sub": "${AWS::StackName}-PeeringStateMachine"}
    assert spec.state_machine_name == "peering-autopilot-PeeringStateMachine"
    (statement,) = cfn["Resources"]["ListWorkflowExecutionsPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "states:ListExecutions"
    assert statement["Resource"]["Fn::Sub"].endswith(":stateMachine:${AWS::StackName}-PeeringStateMachine")


def test_trigger_tag_key_parameter_reaches_the_rules_and_the_functions():
    spec = template.stack_spec({"TriggerTagKey": "team/peer-me"})
    intake = [rule for rule in spec.rules if rule.logical_id.startswith("IntakeFunction")]
    assert intake and all("team/peer-me" in json.dumps(rule.pattern) for rule in intake)
    assert {f.environment["TRIGGER_TAG_KEY"] for f in spec.functions.values()} == {"team/peer-me"}


def test_every_placeholder_has_a_substitution_and_every_substitution_is_used(cfn):
    machine = next(r for r in cfn["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    substitutions = set(machine["Properties"]["DefinitionSubstitutions"])
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", ASL_PATH.read_text()))
    assert placeholders == substitutions


def test_definition_is_jsonpath_and_standard(cfn):
    assert ASL["QueryLanguage"] == "JSONPath"
    machine = next(r for r in cfn["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    assert machine["Properties"].get("StateMachineType", "STANDARD") == "STANDARD"


def test_every_lambda_task_retries_throttling_and_not_found_and_is_caught():
    for name, state in tasks(ASL["States"]):
        retried = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
        assert set(errors.RETRYABLE) <= retried, name
        assert {"Lambda.TooManyRequestsException", "Lambda.ServiceException"} <= retried, name
        in_branch = name in ("ApplyChunk", "Probe")  # their Map catches
        if not in_branch:
            assert any("States.ALL" in c["ErrorEquals"] for c in state["Catch"]), name
    parallel = ASL["States"]["ApplyRoutes"]
    assert parallel["Catch"][0]["ErrorEquals"] == ["States.ALL"] and parallel["Catch"][0]["Next"] == "Rollback"


def test_error_names_in_the_definition_are_the_library_error_classes():
    named = {e for _, s in tasks(ASL["States"]) for r in s.get("Retry", []) for e in r["ErrorEquals"]}
    project_errors = {n for n in named if not n.startswith(("Lambda.", "States."))}
    assert project_errors, "the definition must retry on the project's own errors"
    for error_name in project_errors:
        cls = getattr(errors, error_name, None)
        assert isinstance(cls, type) and issubclass(cls, errors.PeeringError), error_name
        assert cls.retryable, error_name


def test_failures_go_through_rollback_and_report_to_a_fail_state():
    states = ASL["States"]
    caught_to = {c["Next"] for s in states.values() for c in s.get("Catch", [])}
    assert caught_to <= {"Rollback", "ReportFailure", "ReportFailed", "ReportFailedCause", "Verify", "AlreadyHandled"}
    # verification failures keep the routes: neither the probe nor the verdict stage rolls back
    assert states["ProbeEachSide"]["Catch"][0]["Next"] == "Verify"
    assert states["PrepareProbe"]["Catch"][0]["Next"] == "ReportFailure"
    assert states["Verify"]["Catch"][0]["Next"] == "ReportFailure"
    assert states["Rollback"]["Next"] == "ReportFailure" and states["ReportFailure"]["Next"] == "Failed"
    assert states["Failed"]["Type"] == "Fail" and states["ReportFailed"]["Type"] == "Fail"


def test_each_sides_probe_is_invoked_by_the_function_name_prepare_probe_found_and_retried_boundedly():
    probe_map = ASL["States"]["ProbeEachSide"]
    assert probe_map["Type"] == "Map" and probe_map["ItemsPath"] == "$.probe.runs"
    assert ASL["States"]["ProbeApplicable"]["Choices"][0]["Next"] == "ProbeEachSide"
    inner = probe_map["ItemProcessor"]["States"]
    probe = inner["Probe"]
    assert probe["Resource"] == "arn:aws:states:::lambda:invoke"
    assert probe["Parameters"]["FunctionName.$"] == "$.probe.functionName"
    assert inner["ProbeDone"]["Choices"][1]["Next"] == "WaitBeforeProbe" and inner["WaitBeforeProbe"]["Next"] == "Probe"
    assert inner["ProbeDone"]["Default"] == "ProbeFinished"


def test_tagged_probes_are_invoked_and_read_only_when_tagged_for_a_vpc(cfn):
    tagged = {"StringLike": {"aws:ResourceTag/peering-automation/probe-vpc": "vpc-*"}}
    machine_role = next(k for k, r in cfn["Resources"].items() if r["Type"] == "AWS::IAM::Role"
                        and "StateMachine" in k)
    invoke = [s for s in _statements(cfn, machine_role) if "lambda:InvokeFunction" in _actions(s)
              and "function:*" in json.dumps(s["Resource"])]
    assert invoke and all(s.get("Condition") == tagged for s in invoke)
    read = [s for s in _statements(cfn, "PrepareProbeFunctionRole") if "lambda:GetFunctionConfiguration" in _actions(s)]
    assert read and all(s.get("Condition") == tagged for s in read)
    for role in (k for k, r in cfn["Resources"].items() if r["Type"] == "AWS::IAM::Role"):
        found = [s for s in _statements(cfn, role) if "tag:GetResources" in _actions(s)]
        assert not found or role == "PrepareProbeFunctionRole", role


def test_probe_template_attaches_the_function_and_tags_it_with_its_vpc():
    probe = template.load(template.TEMPLATE.parent / "probe.yaml")
    function = probe["Resources"]["ProbeFunction"]["Properties"]
    assert function["CodeUri"] == "functions/probe/" and function["Handler"] == "app.lambda_handler"
    assert function["Tags"] == {"peering-automation/probe-vpc": {"Ref": "VpcId"}}
    assert function["VpcConfig"] == {"SubnetIds": {"Ref": "SubnetIds"}, "SecurityGroupIds": {"Ref": "SecurityGroupIds"}}
    assert function["Runtime"] == "python3.13" and function["Architectures"] == ["arm64"]


def _cycles(states: dict) -> list[list[str]]:
    """Every elementary cycle of a state graph (Next, Default, Choices and Catch edges)."""
    edges = {name: {*([state["Next"]] if "Next" in state else []), *([state["Default"]] if "Default" in state else []),
                    *(c["Next"] for c in state.get("Choices", [])), *(c["Next"] for c in state.get("Catch", []))}
             for name, state in states.items()}
    found: list[list[str]] = []

    def walk(path: list[str]) -> None:
        for nxt in sorted(edges[path[-1]]):
            if nxt == path[0]:
                found.append(path)
            elif nxt not in path and nxt > path[0]:
                walk([*path, nxt])

    for start in sorted(states):
        walk([start])
    return found


def test_every_loop_of_the_state_machine_goes_through_a_function_that_bounds_it():
    """A loop made only of Wait, Choice and Pass states would poll forever: each one passes a Task (CheckActive
    fails the run past MaxActivationChecks; the probe counts its attempts against maxAttempts)."""
    graphs = [ASL["States"]] + [s["ItemProcessor"]["States"] for s in ASL["States"].values() if "ItemProcessor" in s]
    loops = [cycle for states in graphs for cycle in _cycles(states)]
    assert loops, "the activation wait and the probe retries are loops"
    for states in graphs:
        for cycle in _cycles(states):
            assert any(states[name]["Type"] == "Task" for name in cycle), cycle


def _statements(cfn: dict, role_logical_id: str) -> list[dict]:
    resources = cfn["Resources"]
    role = resources[role_logical_id]["Properties"]
    found = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    for arn in role.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and "Ref" in arn:
            found += resources[arn["Ref"]]["Properties"]["PolicyDocument"]["Statement"]
        elif isinstance(arn, dict) and "Fn::If" in arn and isinstance(arn["Fn::If"][1], dict) \
                and "Ref" in arn["Fn::If"][1]:
            found += resources[arn["Fn::If"][1]["Ref"]]["Properties"]["PolicyDocument"]["Statement"]
    return found


def _actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


STACK_ACCOUNT, FOREIGN_ACCOUNT = "123456789012", "222222222222"
WORKING = {"in-progress", "accepted"}
"""Status tag values of a peering the workflow is working on (Inspect set it; Accept may have)."""


@pytest.fixture(scope="module")
def all_roles() -> dict[str, list[dict]]:
    """Every IAM role of the deployed template with its statements resolved (default parameters)."""
    cfn, resolve = resolver()
    return {role: role_statements(cfn, resolve, role) for role, r in cfn["Resources"].items()
            if r["Type"] == "AWS::IAM::Role"}


def _mutations(roles: dict[str, list[dict]]) -> list[str]:
    """Every EC2 action the template names that is not a read, plus the ones a wildcard could hide."""
    named = {a for statements in roles.values() for s in statements
             for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]) if MUTATIONS.match(a)}
    return sorted(named | {"ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute", "ec2:AcceptVpcPeeringConnection",
                           "ec2:ModifyVpcPeeringConnectionOptions", "ec2:CreateTags", "ec2:DeleteTags",
                           "ec2:RejectVpcPeeringConnection", "ec2:DeleteVpcPeeringConnection"})


@st.composite
def ec2_requests(draw: st.DrawFn, actions: list[str]) -> tuple[Request, dict]:
    """An EC2 mutation on a resource of any kind, in this or another account, with any tags."""
    action = draw(st.sampled_from(actions))
    kind = draw(st.sampled_from(["route-table", "vpc-peering-connection", "vpc", "instance", "*"]))
    account = draw(st.sampled_from([STACK_ACCOUNT, FOREIGN_ACCOUNT]))
    tags = {}
    if draw(st.booleans()):
        tags[STATUS] = draw(st.sampled_from(["in-progress", "accepted", "routed", "verified", "failed", "", "x"]))
    if draw(st.booleans()):
        tags["peering-automation/skip"] = draw(st.sampled_from(["true", " TRUE", "tRuE\t", "false", "no", ""]))
    context = {f"{prefix}:ResourceTag/{k}": v for k, v in tags.items() for prefix in ("ec2", "aws")}
    context["aws:RequestedRegion"] = draw(st.sampled_from(["us-east-1", "eu-west-1"]))
    if kind == "vpc-peering-connection":
        for key in ("ec2:RequesterVpc", "ec2:AccepterVpc"):
            owner = draw(st.sampled_from([STACK_ACCOUNT, FOREIGN_ACCOUNT]))
            context[key] = f"arn:aws:ec2:us-east-1:{owner}:vpc/vpc-1"
    if action in ("ec2:CreateTags", "ec2:DeleteTags") and draw(st.integers(0, 4)):
        context["aws:TagKeys"] = draw(st.lists(st.sampled_from(sorted(STATUS_KEYS) + [
            TRIGGER, "peering-automation/skip", "peering-automation/accept-from", "Name"]), min_size=1, max_size=3))
    resource = "*" if kind == "*" else f"arn:aws:ec2:us-east-1:{account}:{kind}/{kind[:3]}-1"
    return Request(action, resource, context), {"kind": kind, "account": account, "tags": tags}


@settings(max_examples=600, deadline=None)
@given(data=st.data())
def test_every_ec2_mutation_any_role_may_make_is_conditioned(all_roles, data):
    """Whatever the role and the request, an allowed EC2 mutation is on a resource of the stack's own account
    (ARN scoping) and meets its condition: a peering the workflow is working on (or only its status tags
    written), a route table not opted out with peering-automation/skip=true in any case or spacing, a VPC only
    for accepting into it. Evaluated by the offline IAM evaluator (checked against AWS's documentation in
    tests/iam), never by reading the statements' text."""
    request, made = data.draw(ec2_requests(_mutations(all_roles)))
    for role, statements in all_roles.items():
        if evaluate(statements, request) != ALLOW:
            continue
        where = (role, request.action, request.resource, dict(request.context))
        assert made["kind"] != "*" and made["account"] == STACK_ACCOUNT, where
        if made["kind"] == "route-table":
            assert request.action in ("ec2:CreateRoute", "ec2:DeleteRoute", "ec2:ReplaceRoute"), where
            assert made["tags"].get("peering-automation/skip", "").strip().lower() != "true", where
        elif made["kind"] == "vpc-peering-connection":
            keys = request.context.get("aws:TagKeys")
            tagging_status_only = request.action in ("ec2:CreateTags", "ec2:DeleteTags") and keys and set(
                keys) <= STATUS_KEYS
            assert tagging_status_only or made["tags"].get(STATUS) in WORKING, where
            if request.action == "ec2:AcceptVpcPeeringConnection":
                assert STACK_ACCOUNT in request.context["ec2:RequesterVpc"], where
                assert STACK_ACCOUNT in request.context["ec2:AccepterVpc"], where
        else:
            assert made["kind"] == "vpc" and request.action == "ec2:AcceptVpcPeeringConnection", where


@pytest.mark.parametrize("action, kind, tags", [
    ("ec2:CreateRoute", "route-table", {}), ("ec2:DeleteRoute", "route-table", {"peering-automation/skip": "false"}),
    ("ec2:AcceptVpcPeeringConnection", "vpc-peering-connection", {STATUS_TAG: "in-progress"}),
    ("ec2:ModifyVpcPeeringConnectionOptions", "vpc-peering-connection", {STATUS_TAG: "accepted"}),
    ("ec2:CreateRoute", "vpc-peering-connection", {STATUS_TAG: "in-progress"}),
])
def test_the_conditioned_mutations_are_granted_to_some_role(all_roles, action, kind, tags):
    """The property above is not vacuous: what the workflow does is allowed to some role on a resource that
    meets the condition (which role: tests/iam, from the calls the functions really make)."""
    context = {f"{p}:ResourceTag/{k}": v for k, v in tags.items() for p in ("ec2", "aws")}
    context |= {"aws:RequestedRegion": "us-east-1", "ec2:RequesterVpc": f"arn:aws:ec2:us-east-1:{STACK_ACCOUNT}:vpc/a",
                "ec2:AccepterVpc": f"arn:aws:ec2:us-east-1:{STACK_ACCOUNT}:vpc/b"}
    request = Request(action, f"arn:aws:ec2:us-east-1:{STACK_ACCOUNT}:{kind}/x-1", context)
    assert any(evaluate(statements, request) == ALLOW for statements in all_roles.values())





def test_only_the_report_may_delete_a_tag_and_only_the_reason_tag_never_all_tags(cfn):
    roles = [k for k, r in cfn["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
    deleting = {role: [s for s in _statements(cfn, role) if "ec2:DeleteTags" in _actions(s)] for role in roles}
    assert {role for role, found in deleting.items() if found} == {"ReportFunctionRole"}
    (statement,) = deleting["ReportFunctionRole"]
    assert statement["Condition"] == {"ForAllValues:StringEquals": {"aws:TagKeys": ["peering-automation/reason"]},
                                      "Null": {"aws:TagKeys": "false"}}
    assert "vpc-peering-connection/*" in json.dumps(statement["Resource"])


def test_every_tagging_statement_names_only_the_status_keys_and_requires_tag_keys(cfn):
    roles = [k for k, r in cfn["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
    tagging = [s for role in roles for s in _statements(cfn, role)
               if s.get("Effect") == "Allow" and {"ec2:CreateTags", "ec2:DeleteTags"} & set(_actions(s))]
    assert tagging
    for statement in tagging:
        condition = statement["Condition"]
        assert set(condition["ForAllValues:StringEquals"]["aws:TagKeys"]) <= STATUS_KEYS, statement
        assert condition["Null"] == {"aws:TagKeys": "false"}, statement


def _all_statements(value):
    if isinstance(value, dict):
        if "Effect" in value and ("Action" in value or "NotAction" in value):
            yield value
        for inner in value.values():
            yield from _all_statements(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _all_statements(inner)


def test_no_wildcard_principal_is_ever_allowed_anything(cfn):
    wildcard = [s for s in _all_statements(cfn) if s.get("Principal") in ("*", {"AWS": "*"})]
    assert wildcard, "the run bucket's TLS-only statement names every principal"
    assert all(s["Effect"] == "Deny" for s in wildcard), wildcard


def test_the_run_bucket_is_private_encrypted_tls_only_and_expires_its_runs(cfn):
    bucket = cfn["Resources"]["RunBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True)
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert (rule["Status"], rule["Prefix"], rule["ExpirationInDays"]) == ("Enabled", "runs/",
                                                                          {"Ref": "LogRetentionInDays"})
    policy = cfn["Resources"]["RunBucketPolicy"]["Properties"]
    (tls,) = policy["PolicyDocument"]["Statement"]
    assert policy["Bucket"] == {"Ref": "RunBucket"}
    assert (tls["Effect"], tls["Action"], tls["Condition"]) == ("Deny", "s3:*",
                                                                {"Bool": {"aws:SecureTransport": "false"}})


RUN_STORE = {"ReadRunStorePolicy": {"VerifyFunction", "ReportFunction", "ApplyRoutesFunction", "RollbackFunction"},
             "WriteRunStorePolicy": {"PlanRoutesFunction", "ApplyRoutesFunction", "PrepareProbeFunction",
                                     "RollbackFunction"}}


def test_only_the_stages_that_use_the_run_store_may_read_or_write_it_and_only_under_runs(cfn):
    resources = cfn["Resources"]
    for policy, functions in RUN_STORE.items():
        holders = {name.removesuffix("Role") for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"
                   and {"Ref": policy} in r["Properties"].get("ManagedPolicyArns", [])}
        assert holders == functions, policy
        actions = {s["Action"]: s["Resource"] for s in resources[policy]["Properties"]["PolicyDocument"]["Statement"]}
        object_action = "s3:GetObject" if policy.startswith("Read") else "s3:PutObject"
        assert actions[object_action] == {"Fn::Sub": "${RunBucket.Arn}/runs/*"}
        assert set(actions) <= {object_action, "s3:ListBucket"}


def test_the_state_machine_may_read_the_chunk_lists_and_run_its_own_child_executions(cfn):
    role = next(r for name, r in cfn["Resources"].items() if name.startswith("PeeringStateMachineRole"))
    statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    by_sid = {s.get("Sid"): s for s in statements}
    assert by_sid["ReadChunkListsForTheApplyRoutesMap"]["Resource"] == {"Fn::Sub": "${RunBucket.Arn}/runs/*"}
    assert by_sid["StartTheApplyRoutesMapsChildExecutions"]["Resource"]["Fn::Sub"].endswith(
        ":stateMachine:${AWS::StackName}-PeeringStateMachine")
    assert by_sid["FollowTheApplyRoutesMapsChildExecutions"]["Resource"]["Fn::Sub"].endswith(
        ":execution:${AWS::StackName}-PeeringStateMachine/*")
    apply = ASL["States"]["ApplyRoutes"]
    assert apply["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert apply["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"


def test_every_topic_is_encrypted_and_every_log_group_expires(cfn):
    resources = cfn["Resources"].values()
    topics = [r["Properties"] for r in resources if r["Type"] == "AWS::SNS::Topic"]
    groups = [r["Properties"] for r in resources if r["Type"] == "AWS::Logs::LogGroup"]
    assert topics and all(t.get("KmsMasterKeyId") for t in topics)
    assert groups and all(g.get("RetentionInDays") == {"Ref": "LogRetentionInDays"} for g in groups)


def test_functions_are_python313_on_arm64_with_the_layer(cfn):
    functions = [r["Properties"] for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 14
    for props in functions:
        assert props["Runtime"] == "python3.13" and props["Architectures"] == ["arm64"]
        (layer,) = props["Layers"]
        assert cfn["Resources"][layer["Ref"]]["Type"] == "AWS::Lambda::LayerVersion"


def test_outputs_give_the_state_machine_and_its_console_link(spec):
    assert spec.outputs["StateMachineArn"] == spec.state_machine_arn
    assert spec.outputs["ExecutionsConsoleUrl"].startswith("https://us-east-1.console.aws.amazon.com/states/")
    assert spec.state_machine_arn in spec.outputs["ExecutionsConsoleUrl"]


def test_unknown_or_invalid_parameters_are_refused_in_one_sentence():
    with pytest.raises(template.TemplateError, match="Unknown parameter"):
        template.stack_spec({"NoSuchParameter": "1"})
    with pytest.raises(template.TemplateError, match="EnableDnsResolution='maybe' is not one of"):
        template.stack_spec({"EnableDnsResolution": "maybe"})


@pytest.mark.parametrize(("overrides", "message"), [
    ({"RouteTableQuota": "abc"}, "Parameter RouteTableQuota='abc' must be a number."),
    ({"RouteTableQuota": "nan"}, "Parameter RouteTableQuota='nan' must be a number."),
    ({"RouteTableQuota": "0"}, "Parameter RouteTableQuota='0' must be a number from 1 to 1000."),
    ({"DefaultProbePort": "65536"}, "Parameter DefaultProbePort='65536' must be a number from 1 to 65535."),
    ({"LogRetentionInDays": "2"}, "Parameter LogRetentionInDays='2' is not one of "),
    ({"AllowedRequesterAccounts": "1234"},
     "Parameter AllowedRequesterAccounts='1234' does not satisfy its constraint: comma-separated 12-digit "
     "account ids, no spaces."),
    ({"AllowedAccepterAccounts": "111122223333, 444455556666"},
     "Parameter AllowedAccepterAccounts='111122223333, 444455556666' does not satisfy its constraint: "),
])
def test_a_value_cloudformation_would_refuse_is_refused_in_one_sentence(overrides, message):
    """CloudFormation checks Type Number, MinValue/MaxValue, AllowedValues and AllowedPattern before it creates
    anything (user guide, "Parameters" section); `peering local up --parameter-overrides` does too."""
    with pytest.raises(template.TemplateError) as refused:
        template.stack_spec(overrides)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


def test_values_within_the_constraints_are_taken():
    spec = template.stack_spec({"RouteTableQuota": "1000", "DefaultProbePort": "443", "LogRetentionInDays": "7",
                                "AllowedRequesterAccounts": "111122223333,444455556666"})
    assert spec.parameters["RouteTableQuota"] == "1000" and spec.parameters["DefaultProbePort"] == "443"


def test_a_refused_noecho_value_is_not_shown():
    source = template.load()
    source["Parameters"]["AccepterRoleExternalId"]["AllowedPattern"] = "^[a-z-]*$"
    with pytest.raises(template.TemplateError) as refused:
        template._parameter_values(source, {"AccepterRoleExternalId": "SECRET"})
    assert "SECRET" not in str(refused.value) and "AccepterRoleExternalId=****" in str(refused.value)


def test_report_failures_of_the_project_errors_end_with_their_one_sentence_message():
    project_errors = sorted(cls.__name__ for cls in vars(errors).values()
                            if isinstance(cls, type) and issubclass(cls, errors.PeeringError)
                            and cls not in (errors.PeeringError, errors.CleanupIncomplete))  # cleanup: no state
    for name in ("Report", "ReportFailure"):
        first, last = ASL["States"][name]["Catch"]
        assert sorted(first["ErrorEquals"]) == project_errors and first["Next"] == "ReportFailedCause"
        assert last["ErrorEquals"] == ["States.ALL"] and last["Next"] == "ReportFailed"
    assert ASL["States"]["ReportFailedWithReason"]["CausePath"] == "$.errorDetail.document.errorMessage"


STATE_MACHINE_LOG_DELIVERY = {
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"}
"""Step Functions' "Logging using CloudWatch Logs" guide (step-functions/latest/dg/cw-logs.html): what the
state machine's role needs to deliver its logs; these actions take no resource-level scoping."""


def test_the_state_machine_logs_errors_to_its_own_expiring_log_group_without_execution_data_by_default(cfn):
    resources = cfn["Resources"]
    machine = next(r["Properties"] for r in resources.values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    logging = machine["LoggingConfiguration"]
    assert logging["Level"] == "ERROR"
    assert logging["IncludeExecutionData"] == {"Fn::If": ["LogExecutionData", True, False]}
    assert cfn["Parameters"]["StateMachineLogExecutionData"]["Default"] == "false"
    assert cfn["Conditions"]["LogExecutionData"] == {"Fn::Equals": [{"Ref": "StateMachineLogExecutionData"}, "true"]}
    (destination,) = logging["Destinations"]
    assert destination == {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["StateMachineLogGroup", "Arn"]}}}
    group = resources["StateMachineLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert group["LogGroupName"]["Fn::Sub"].startswith("/aws/vendedlogs/states/")
    delivery = [s for s in _statements(cfn, "PeeringStateMachineRole") if any(a.startswith("logs:") for a in
                                                                              _actions(s))]
    assert len(delivery) == 1 and set(_actions(delivery[0])) == STATE_MACHINE_LOG_DELIVERY
    assert delivery[0]["Resource"] == "*" and delivery[0]["Effect"] == "Allow"


def test_the_layer_is_built_by_its_makefile_from_exact_pins_without_the_aws_sdk(cfn):
    layer = template.load()["Resources"]["PeeringLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile" and layer["Metadata"]["BuildArchitecture"] == "arm64"
    makefile = (REPO_ROOT / "layers" / "peering" / "Makefile").read_text()
    assert "build-PeeringLayer:" in makefile and "--no-deps" in makefile
    assert "--invalidation-mode unchecked-hash" in makefile and "manylinux2014_aarch64" in makefile
    requirements = [line.split("#")[0].strip() for line in
                    (REPO_ROOT / "layers" / "peering" / "requirements.txt").read_text().splitlines()]
    pins = dict(line.split("==") for line in requirements if line)
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.]*", version) for version in pins.values()), pins
    sdk = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
    assert not sdk & set(pins), "the runtime brings the AWS SDK; the layer must not shadow it"
    assert {"aws-lambda-powertools", "pydantic", "pydantic-core", "aws-xray-sdk", "wrapt"} <= set(pins)
    # the tests run the layer's code with the dev venv's packages: they must be the deployed versions
    from importlib.metadata import version  # noqa: PLC0415

    assert {name: version(name) for name in pins} == pins


def test_the_lease_table_is_on_demand_keyed_by_peering_id_expiring_by_ttl_encrypted_and_recoverable(cfn, spec):
    from peering.aws.lease import KEY, TTL_ATTRIBUTE

    table = cfn["Resources"]["LeaseTable"]
    props = table["Properties"]
    assert table["Type"] == "AWS::DynamoDB::Table" and props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": KEY, "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": KEY, "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    local = spec.tables["LeaseTable"]  # what the emulator and the workflow tests create
    assert (local.key_schema, local.billing_mode, local.ttl_attribute) == (
        props["KeySchema"], "PAY_PER_REQUEST", TTL_ATTRIBUTE)


def test_the_lease_table_reaches_exactly_the_functions_that_take_or_release_leases(spec):
    users = {f.logical_id for f in spec.functions.values() if "LEASE_TABLE" in f.environment}
    assert users == {"IntakeFunction", "SweeperFunction", "InspectFunction", "ReportFunction"}
    assert {spec.functions[f].environment["LEASE_TABLE"] for f in users} == {spec.tables["LeaseTable"].name}


def test_no_execution_can_outlive_its_lease(cfn):
    """A lease is taken at most one Lambda timeout before its execution starts and lasts LEASE_SECONDS; the state
    machine's own timeout ends every execution before that, so an expired lease never has a live holder."""
    from peering.runs import LEASE_SECONDS, START_GRACE_SECONDS

    longest_starter = max(int(r["Properties"].get("Timeout", 3)) for r in cfn["Resources"].values()
                          if r["Type"] == "AWS::Lambda::Function")
    assert ASL["TimeoutSeconds"] + longest_starter < LEASE_SECONDS
    assert longest_starter < START_GRACE_SECONDS, "a starter is dead by the time its unstarted lease is taken over"
