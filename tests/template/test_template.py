"""template.yaml transformed offline by aws-sam-translator: rules, substitutions, Retry/Catch, IAM."""

import json
import re

import pytest

from peering import errors
from peering_tools import REPO_ROOT, template

ASL_PATH = REPO_ROOT / "statemachine" / "peering.asl.json"
ASL = json.loads(ASL_PATH.read_text())
MUTATIONS = re.compile(r"^ec2:(?!Describe|Get|List)")


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


def test_rules_match_successful_pcx_tag_calls_only(spec):
    patterns = {rule.logical_id: rule.pattern for rule in spec.rules}
    tagged = patterns["IntakeFunctionPeeringTagged"]
    assert tagged["source"] == ["aws.ec2"] and tagged["detail-type"] == ["AWS API Call via CloudTrail"]
    assert tagged["detail"]["eventName"] == ["CreateTags"]
    assert tagged["detail"]["errorCode"] == [{"exists": False}]
    assert tagged["detail"]["requestParameters"]["resourcesSet"]["items"]["resourceId"] == [{"prefix": "pcx-"}]
    assert tagged["detail"]["requestParameters"]["tagSet"]["items"]["key"] == ["peering-automation/auto-accept"]
    created = patterns["IntakeFunctionPeeringCreatedWithTag"]
    assert created["detail"]["eventName"] == ["CreateVpcPeeringConnection"]
    assert created["detail"]["errorCode"] == [{"exists": False}]
    assert created["detail"]["requestParameters"]["tagSpecificationSet"]["items"]["tags"]["key"] == [
        "peering-automation/auto-accept"]
    intake = [rule for rule in spec.rules if rule.logical_id.startswith("IntakeFunction")]
    assert len(intake) == 2 and all(r.target_function == spec.functions["IntakeFunction"].name for r in intake)


def test_delete_rule_targets_the_cleanup_and_the_schedule_the_sweeper(spec):
    rules = {rule.logical_id: rule for rule in spec.rules}
    deleted = rules["CleanupFunctionPeeringDeleted"]
    assert deleted.target_function == spec.functions["CleanupFunction"].name
    assert deleted.pattern["detail"]["eventName"] == ["DeleteVpcPeeringConnection"]
    assert deleted.pattern["detail"]["errorCode"] == [{"exists": False}]
    sweep = rules["SweeperFunctionSweep"]
    assert (sweep.schedule, sweep.pattern) == ("rate(15 minutes)", None)
    assert sweep.target_function == spec.functions["SweeperFunction"].name
    custom = {r.logical_id: r for r in template.stack_spec({"SweepSchedule": "rate(5 minutes)"}).rules}
    assert custom["SweeperFunctionSweep"].schedule == "rate(5 minutes)"


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


def test_activation_wait_is_a_bounded_poll():
    states = ASL["States"]
    assert states["WaitForActive"]["Type"] == "Wait" and states["WaitForActive"]["Next"] == "CheckActive"
    assert states["IsActive"]["Default"] == "WaitForActive"
    # the bound lives in the CheckActive function (MaxActivationChecks), which fails the run past it
    assert template.stack_spec().functions["CheckActiveFunction"].environment["MAX_ACTIVATION_CHECKS"] == "24"


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


def test_no_ec2_mutation_is_allowed_on_everything_without_a_condition(cfn):
    roles = [k for k, r in cfn["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
    assert roles
    for role in roles:
        for statement in _statements(cfn, role):
            mutations = [a for a in _actions(statement) if MUTATIONS.match(a) or a in ("ec2:*", "*")]
            if not mutations:
                continue
            assert statement.get("Resource") != "*" or "Condition" in statement, (role, statement)
            assert "*" not in mutations and "ec2:*" not in mutations, (role, statement)


STATUS_KEYS = {"peering-automation/status", "peering-automation/execution", "peering-automation/reason"}


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


def test_every_route_writing_statement_on_tables_keeps_out_tables_tagged_skip(cfn):
    """Property: for every statement that allows CreateRoute/DeleteRoute on route tables, a table tagged
    skip = true in any case and with spaces is denied (offline evaluator; see tests/iam for whole roles)."""
    from peering_tools.iampolicy import ALLOW, conditions_hold  # checked against AWS's documentation in tests/iam

    roles = [k for k, r in cfn["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
    found = 0
    for role in roles:
        for s in _statements(cfn, role):
            writes = {"ec2:CreateRoute", "ec2:DeleteRoute"} & set(_actions(s))
            if s.get("Effect") != ALLOW or not writes or "route-table" not in json.dumps(s.get("Resource")):
                continue
            found += 1
            for value in ("true", "TRUE", " True", "tRuE "):
                context = {"ec2:ResourceTag/peering-automation/skip": value}
                assert not conditions_hold(s.get("Condition"), context), (role, s.get("Sid"), value)
            assert conditions_hold(s.get("Condition"), {}), (role, s.get("Sid"), "an untagged table")
    assert found == 4, "ApplyRoutes, Rollback, Sweeper and Cleanup each write route tables"


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


def test_topic_is_encrypted_and_logs_expire(cfn):
    resources = cfn["Resources"]
    assert resources["NotificationTopic"]["Properties"]["KmsMasterKeyId"] == "alias/aws/sns"
    assert resources["FunctionLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


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
