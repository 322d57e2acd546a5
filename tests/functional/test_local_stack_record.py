"""The stack record the emulator keeps in CloudFormation (local_stack), against moto in-process: created
once, updated by a redeploy with other parameters, and a redeploy that changes nothing is not an error
(AWS answers "No updates are to be performed" there too)."""

from __future__ import annotations

import boto3

from peering_tools import local_stack, template


def describe(cfn) -> dict:
    return cfn.describe_stacks(StackName="peering-autopilot")["Stacks"][0]


def test_register_creates_then_updates_and_a_same_redeploy_changes_nothing(aws):
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    first = template.stack_spec({"ProbeSubnetIds": "subnet-1,subnet-2"})

    outputs = local_stack.register(cfn, first, "http://127.0.0.1:1234/#/executions")

    stack = describe(cfn)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert outputs["ExecutionsConsoleUrl"] == "http://127.0.0.1:1234/#/executions"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["ProbeSubnetIds"] == \
        "subnet-1,subnet-2"

    second = template.stack_spec({"ProbeSubnetIds": "subnet-3"})
    local_stack.register(cfn, second, "http://127.0.0.1:1234/#/executions")
    stack = describe(cfn)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["ProbeSubnetIds"] == "subnet-3"

    local_stack.register(cfn, second, "http://127.0.0.1:1234/#/executions")  # nothing changed: no error
    assert [s["StackName"] for s in cfn.describe_stacks()["Stacks"]] == ["peering-autopilot"]


def test_without_a_console_the_output_keeps_the_templates_aws_console_link(aws):
    spec = template.stack_spec()
    outputs = local_stack.stack_outputs(spec, None)
    assert outputs["ExecutionsConsoleUrl"].startswith("https://us-east-1.console.aws.amazon.com/states/home")
    assert outputs["ExecutionsConsoleUrl"].endswith(spec.state_machine_arn)


def summaries(cfn) -> dict[str, tuple[str, str, str]]:
    rows = cfn.list_stack_resources(StackName="peering-autopilot")["StackResourceSummaries"]
    return {r["LogicalResourceId"]: (r["ResourceType"], r["PhysicalResourceId"], r["ResourceStatus"]) for r in rows}


def test_the_record_lists_the_resources_it_is_given_through_a_redeploy_and_never_deletes_them(aws):
    """The resources are written into moto's record (``local_stack.record_resources``, a moto seam: this
    is its canary too). An update of the record keeps them listed; deleting the record leaves the resource
    itself in place (each is ``DeletionPolicy: Retain`` with a no-op ``delete``)."""
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="peering-autopilot-NotificationTopic")["TopicArn"]
    resources = {"NotificationTopic": ("AWS::SNS::Topic", topic),
                 "IntakeFunction": ("AWS::Lambda::Function", "peering-autopilot-IntakeFunction")}

    local_stack.register(cfn, template.stack_spec(), None, resources=resources)
    assert summaries(cfn) == {"NotificationTopic": ("AWS::SNS::Topic", topic, "CREATE_COMPLETE"),
                              "IntakeFunction": ("AWS::Lambda::Function", "peering-autopilot-IntakeFunction",
                                                 "CREATE_COMPLETE")}
    detail = cfn.describe_stack_resource(StackName="peering-autopilot", LogicalResourceId="NotificationTopic")
    assert detail["StackResourceDetail"]["PhysicalResourceId"] == topic
    body = cfn.get_template(StackName="peering-autopilot")["TemplateBody"]  # botocore parses the JSON
    assert body["Resources"] == {}, "the record's template is left as registered"

    local_stack.register(cfn, template.stack_spec({"RouteTableQuota": "40"}), None, resources=resources)
    assert describe(cfn)["StackStatus"] == "UPDATE_COMPLETE"
    assert set(summaries(cfn)) == {"NotificationTopic", "IntakeFunction"}
    assert [r["PhysicalResourceId"] for r in cfn.describe_stack_resources(
        StackName="peering-autopilot", LogicalResourceId="IntakeFunction")["StackResources"]] == \
        ["peering-autopilot-IntakeFunction"]

    cfn.delete_stack(StackName="peering-autopilot")
    assert topic in [t["TopicArn"] for t in sns.list_topics()["Topics"]], "the record's deletion kept the topic"
