"""The offline IAM evaluator against AWS's documented semantics (one row per documented rule or example).

Sources (IAM User Guide):
- CO: "IAM JSON policy elements: Condition operators",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
- MV: "Single-valued vs. multivalued context keys",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
- EL: "Policy evaluation logic", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- CL: "IAM JSON policy elements: Condition" (AND across operators and keys, OR across values),
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
"""

import pytest

from peering_tools.iampolicy import ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, Request, Unsupported, evaluate


def allow(condition=None, action="ec2:CreateRoute", resource="*"):
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition is not None:
        statement["Condition"] = condition
    return [statement]


TABLE = "arn:aws:ec2:us-east-1:111122223333:route-table/rtb-1"


def decide(statements, context=None, action="ec2:CreateRoute", resource=TABLE):
    return evaluate(statements, Request(action=action, resource=resource, context=context or {}))


@pytest.mark.parametrize("source, condition, context, expected", [
    # CO, string operators: exact and case-sensitive; the IgnoreCase variant folds case
    ("CO StringEquals", {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
     {"aws:PrincipalTag/job-category": "iamuser-admin"}, ALLOW),
    ("CO StringEquals is case-sensitive", {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
     {"aws:PrincipalTag/job-category": "IAMUser-Admin"}, IMPLICIT_DENY),
    ("CO StringEqualsIgnoreCase", {"StringEqualsIgnoreCase": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
     {"aws:PrincipalTag/job-category": "IAMUser-Admin"}, ALLOW),
    ("CO key names are case-insensitive", {"StringEquals": {"AWS:PrincipalTag/job-category": "iamuser-admin"}},
     {"aws:principaltag/job-category": "iamuser-admin"}, ALLOW),
    ("CO missing key: a non-negated operator is false", {"StringEquals": {"aws:PrincipalTag/job-category": "x"}},
     {}, IMPLICIT_DENY),
    ("CO missing key: a negated operator is true", {"StringNotEquals": {"aws:PrincipalTag/job-category": "x"}},
     {}, ALLOW),
    ("CO StringNotEquals with the listed value", {"StringNotEquals": {"ec2:ResourceTag/env": ["prod", "stage"]}},
     {"ec2:ResourceTag/env": "stage"}, IMPLICIT_DENY),
    ("CO StringNotEqualsIgnoreCase", {"StringNotEqualsIgnoreCase": {"ec2:ResourceTag/skip": "true"}},
     {"ec2:ResourceTag/skip": "TRUE"}, IMPLICIT_DENY),
    ("CO StringLike wildcards", {"StringLike": {"s3:prefix": ["home/*"]}}, {"s3:prefix": "home/jane/x"}, ALLOW),
    ("CO StringLike ? is one character", {"StringLike": {"s3:prefix": ["h?me"]}}, {"s3:prefix": "hoome"},
     IMPLICIT_DENY),
    ("CO StringNotLike", {"StringNotLike": {"ec2:ResourceTag/skip": ["*true*"]}}, {"ec2:ResourceTag/skip": " true "},
     IMPLICIT_DENY),
    # CO, IfExists: true when the key is absent, else the base operator
    ("CO ...IfExists, key absent", {"StringEqualsIfExists": {"ec2:InstanceType": ["t3.micro"]}}, {}, ALLOW),
    ("CO ...IfExists, key present", {"StringEqualsIfExists": {"ec2:InstanceType": ["t3.micro"]}},
     {"ec2:InstanceType": "m5.large"}, IMPLICIT_DENY),
    # CO, Null: "true" means the key must be absent, "false" present
    ("CO Null true, key absent", {"Null": {"aws:TokenIssueTime": "true"}}, {}, ALLOW),
    ("CO Null true, key present", {"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2026"},
     IMPLICIT_DENY),
    ("CO Null false, key absent", {"Null": {"aws:TokenIssueTime": "false"}}, {}, IMPLICIT_DENY),
    # CO, Bool
    ("CO Bool", {"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": False}, ALLOW),
    ("CO Bool mismatch", {"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": True}, IMPLICIT_DENY),
    # CO, ARN operators: per ARN part, wildcards do not cross ':'
    ("CO ArnLike", {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
     {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:topic"}, ALLOW),
    ("CO ArnLike other account", {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
     {"aws:SourceArn": "arn:aws:sns:us-east-1:999999999999:topic"}, IMPLICIT_DENY),
    ("CO ArnLike: * in the region part does not reach the account part",
     {"ArnLike": {"ec2:AccepterVpc": "arn:aws:ec2:*:111122223333:vpc/*"}},
     {"ec2:AccepterVpc": "arn:aws:ec2:us-east-1:444455556666:vpc/vpc-1"}, IMPLICIT_DENY),
    ("CO ArnNotLike", {"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
     {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:topic"}, IMPLICIT_DENY),
    # CL: values of one key are ORed; keys and operators are ANDed
    ("CL OR across values", {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}},
     {"aws:RequestedRegion": "us-west-2"}, ALLOW),
    ("CL AND across keys", {"StringEquals": {"aws:RequestedRegion": "us-east-1", "ec2:ResourceTag/a": "1"}},
     {"aws:RequestedRegion": "us-east-1", "ec2:ResourceTag/a": "2"}, IMPLICIT_DENY),
    ("CL AND across operators", {"StringEquals": {"aws:RequestedRegion": "us-east-1"},
                                 "StringLike": {"ec2:ResourceTag/a": "1*"}},
     {"aws:RequestedRegion": "us-east-1", "ec2:ResourceTag/a": "10"}, ALLOW),
    # MV: ForAllValues / ForAnyValue over a multivalued key such as aws:TagKeys
    ("MV ForAllValues, all keys allowed", {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost"]}},
     {"aws:TagKeys": ["environment"]}, ALLOW),
    ("MV ForAllValues, one key not allowed", {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost"]}},
     {"aws:TagKeys": ["environment", "owner"]}, IMPLICIT_DENY),
    ("MV ForAllValues is true when the key is missing",
     {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment"]}}, {}, ALLOW),
    ("MV ForAnyValue, one key matches", {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment"]}},
     {"aws:TagKeys": ["environment", "owner"]}, ALLOW),
    ("MV ForAnyValue is false when the key is missing", {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment"]}},
     {}, IMPLICIT_DENY),
])
def test_documented_condition_semantics(source, condition, context, expected):
    assert decide(allow(condition), context) == expected, source


def test_el_an_explicit_deny_overrides_any_allow_and_no_match_is_an_implicit_deny():
    statements = [*allow(), {"Effect": "Deny", "Action": "ec2:*", "Resource": "*",
                              "Condition": {"StringEqualsIgnoreCase": {"ec2:ResourceTag/skip": "true"}}}]
    assert decide(statements, {"ec2:ResourceTag/skip": "True"}) == EXPLICIT_DENY
    assert decide(statements, {}) == ALLOW
    assert decide(allow(action="ec2:DeleteRoute"), {}) == IMPLICIT_DENY


def test_actions_match_case_insensitively_with_wildcards_and_resources_by_arn_part():
    assert decide(allow(action="EC2:create*")) == ALLOW
    rt = "arn:aws:ec2:*:111122223333:route-table/*"
    assert decide(allow(resource=rt)) == ALLOW
    assert decide(allow(resource=rt), resource="arn:aws:ec2:us-east-1:444455556666:route-table/rtb-1") == IMPLICIT_DENY
    not_action = [{"Effect": "Allow", "NotAction": "ec2:Delete*", "Resource": "*"}]
    assert decide(not_action, action="ec2:DeleteRoute") == IMPLICIT_DENY and decide(not_action) == ALLOW


def test_trust_policies_match_the_principal_exactly_or_through_the_account_root():
    me = "arn:aws:iam::111122223333:role/pa/fn"
    exact = [{"Effect": "Allow", "Principal": {"AWS": me}, "Action": "sts:AssumeRole"}]
    root = [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]

    def assume(statements, principal):
        return evaluate(statements, Request("sts:AssumeRole", principal=principal))

    assert assume(exact, me) == ALLOW
    assert assume(exact, "arn:aws:iam::111122223333:role/pa/other") == IMPLICIT_DENY
    assert assume(root, me) == ALLOW
    assert assume(root, "arn:aws:iam::444455556666:role/pa/fn") == IMPLICIT_DENY


def test_an_operator_the_evaluator_does_not_know_fails_loudly():
    with pytest.raises(Unsupported):
        decide(allow({"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}), {"aws:CurrentTime": "x"})
    with pytest.raises(Unsupported):
        decide(allow({"StringEquals": {"aws:TagKeys": "a"}}), {"aws:TagKeys": ["a", "b"]})
