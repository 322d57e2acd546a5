"""Create a StackSpec's resources through ordinary AWS API calls (against moto, in-process or served).

The functions get a placeholder zip: their code runs in-process through ``inprocess`` instead.
"""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

import boto3

from . import conditional_writes, distributed_map, inprocess
from .template import StackSpec

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                   "Action": "sts:AssumeRole"}],
}


@dataclass
class DeployedStack:
    spec: StackSpec
    state_machine_arn: str
    topic_arn: str
    function_arns: dict[str, str]
    rule_arns: dict[str, str]
    table_names: dict[str, str]
    log_groups: list[str] = field(default_factory=list)
    bucket_names: dict[str, str] = field(default_factory=dict)

    def resources(self) -> dict[str, tuple[str, str]]:
        """The template's resources this deployment created: logical id -> (type, physical id). The others
        (roles, permissions, the layer, alarms, subscriptions...) are not made locally."""
        by_logical = set(self.function_arns) | set(self.rule_arns) | set(self.table_names) | set(self.bucket_names)
        by_physical = {("AWS::StepFunctions::StateMachine", self.state_machine_arn),
                       ("AWS::SNS::Topic", self.topic_arn), *(("AWS::Logs::LogGroup", g) for g in self.log_groups)}
        return {logical: (kind, physical) for logical, (kind, physical) in self.spec.resources.items()
                if logical in by_logical or (kind, physical) in by_physical}


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# runs in-process from the repository; see peering_tools.inprocess\n")
    return buffer.getvalue()


def deploy(spec: StackSpec, session: boto3.session.Session | None = None, **client_kwargs: Any) -> DeployedStack:
    """Create roles, topic, tables, functions, state machine and rules; register the functions' code."""
    session = session or boto3.session.Session(region_name=spec.region)
    client = lambda name: session.client(name, region_name=spec.region, **client_kwargs)  # noqa: E731
    inprocess.install()
    inprocess.cold_start()  # a new deployment runs in new containers: no client of an earlier emulator survives
    conditional_writes.install()  # conditional writes and named starts atomic, as on AWS (not in moto)
    distributed_map.install()  # a failed Distributed Map item fails the Map Run, as on AWS (not in moto)
    iam = client("iam")
    role_name = f"{spec.stack_name}-role"[:64]
    try:
        role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role_arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]

    topic_arn = client("sns").create_topic(Name=spec.topic_name)["TopicArn"]
    table_names = create_tables(client("dynamodb"), spec)
    bucket_names = create_buckets(client("s3"), spec)

    logs = client("logs")
    log_groups = sorted({fn.log_group for fn in spec.functions.values() if fn.log_group})
    for group in log_groups:
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=group)

    lam = client("lambda")
    function_arns = {}
    code = _placeholder_zip()
    for fn in spec.functions.values():
        inprocess.register(fn.name, fn.code_dir, fn.log_group)
        kwargs = {"FunctionName": fn.name, "Runtime": fn.runtime, "Role": role_arn, "Handler": fn.handler,
                  "Environment": {"Variables": fn.environment}, "Timeout": fn.timeout,
                  "Architectures": fn.architectures}
        if fn.vpc_config:
            kwargs["VpcConfig"] = {"SubnetIds": fn.vpc_config.get("SubnetIds", []),
                                   "SecurityGroupIds": fn.vpc_config.get("SecurityGroupIds", [])}
        try:
            arn = lam.create_function(Code={"ZipFile": code}, **kwargs)["FunctionArn"]
        except lam.exceptions.ResourceConflictException:
            arn = lam.update_function_configuration(**{k: v for k, v in kwargs.items() if k != "Architectures"})[
                "FunctionArn"]
        function_arns[fn.logical_id] = arn

    sfn = client("stepfunctions")
    existing = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    if spec.state_machine_name in existing:
        machine_arn = existing[spec.state_machine_name]
        sfn.update_state_machine(stateMachineArn=machine_arn, definition=spec.definition, roleArn=role_arn)
    else:
        machine_arn = sfn.create_state_machine(name=spec.state_machine_name, definition=spec.definition,
                                               roleArn=role_arn, type="STANDARD")["stateMachineArn"]

    events = client("events")
    rule_arns = {}
    for rule in spec.rules:
        trigger = {"ScheduleExpression": rule.schedule} if rule.schedule else {"EventPattern": json.dumps(rule.pattern)}
        rule_arns[rule.logical_id] = events.put_rule(
            Name=rule.name, State="ENABLED" if rule.enabled else "DISABLED", **trigger
        )["RuleArn"]
        target = next(arn for f, arn in function_arns.items() if spec.functions[f].name == rule.target_function)
        events.put_targets(Rule=rule.name, Targets=[{"Id": "intake", "Arn": target}])
    return DeployedStack(spec, machine_arn, topic_arn, function_arns, rule_arns, table_names, log_groups,
                         bucket_names)


def create_tables(dynamodb: Any, spec: StackSpec) -> dict[str, str]:
    """The template's DynamoDB tables (key schema, billing mode, TTL attribute); an existing one is kept."""
    names = {}
    for table in spec.tables.values():
        with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
            dynamodb.create_table(TableName=table.name, KeySchema=table.key_schema,
                                  AttributeDefinitions=table.attribute_definitions, BillingMode=table.billing_mode)
        if table.ttl_attribute:
            dynamodb.update_time_to_live(TableName=table.name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": table.ttl_attribute})
        names[table.logical_id] = table.name
    return names


def create_buckets(s3: Any, spec: StackSpec) -> dict[str, str]:
    """The template's S3 buckets with their encryption, public access block, lifecycle rules and policy; an
    existing one is kept (and configured again)."""
    names = {}
    for bucket in spec.buckets.values():
        props = bucket.properties
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            kwargs = {} if spec.region == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": spec.region}}
            s3.create_bucket(Bucket=bucket.name, **kwargs)
        if "BucketEncryption" in props:
            s3.put_bucket_encryption(Bucket=bucket.name, ServerSideEncryptionConfiguration={"Rules": [
                {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]]})
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(Bucket=bucket.name,
                                       PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        rules = (props.get("LifecycleConfiguration") or {}).get("Rules", [])
        if rules:
            s3.put_bucket_lifecycle_configuration(Bucket=bucket.name, LifecycleConfiguration={"Rules": [
                _lifecycle_rule(rule) for rule in rules]})
        # The bucket policy (TLS only: Deny when aws:SecureTransport is false) is not put: moto 5.2.5 answers a
        # Deny statement whose condition does not hold with DENIED (moto/iam/access_control.py:495-496, called
        # for every object request at moto/s3/responses.py:1937-1939), so every PutObject would be refused.
        # tests/unit/test_moto_seams.py fails when moto changes this.
        names[bucket.logical_id] = bucket.name
    return names


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule as PutBucketLifecycleConfiguration takes it."""
    made: dict[str, Any] = {"ID": rule.get("Id", "rule"), "Status": rule.get("Status", "Enabled"),
                            "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "ExpirationInDays" in rule:
        made["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        made["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])}
    return made
