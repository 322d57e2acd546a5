"""template.yaml as the emulator and the tests see it: transformed by aws-sam-translator, intrinsics
resolved, reduced to what must be created (functions, rules, the state machine, the topic, DynamoDB tables,
S3 buckets).

Nothing here is a hand-kept copy of the stack: every name, handler, environment variable, event
pattern and substitution comes from the template itself.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from . import REPO_ROOT, TEMPLATE

LOCAL_BUCKET = "peering-local-artifacts"
NAME_PROPERTIES = ("StateMachineName",)
"""Name properties honoured locally (others keep the ``<stack>-<logical id>`` naming)."""
NO_VALUE = object()


class TemplateError(Exception):
    """The template cannot be turned into a local stack; the message says why in one sentence."""


# -- loading ---------------------------------------------------------------------------------------
class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load(path: Path = TEMPLATE) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


# -- specs -----------------------------------------------------------------------------------------
@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    runtime: str
    environment: dict[str, str]
    architectures: list[str] = field(default_factory=lambda: ["arm64"])
    timeout: int = 60
    vpc_config: dict[str, list[str]] | None = None
    log_group: str | None = None
    """LoggingConfig.LogGroup: where Lambda sends what the function prints."""


@dataclass
class RuleSpec:
    logical_id: str
    name: str
    pattern: dict | None
    target_function: str
    enabled: bool = True
    schedule: str | None = None
    """A scheduled rule's expression (``rate(15 minutes)``); such a rule has no pattern."""


@dataclass
class TableSpec:
    """An ``AWS::DynamoDB::Table`` as CreateTable and UpdateTimeToLive take it."""

    logical_id: str
    name: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    billing_mode: str = "PAY_PER_REQUEST"
    ttl_attribute: str | None = None


@dataclass
class BucketSpec:
    """An ``AWS::S3::Bucket`` with its resolved properties and its ``AWS::S3::BucketPolicy`` document."""

    logical_id: str
    name: str
    properties: dict[str, Any]
    policy: dict[str, Any] | None = None


@dataclass
class StackSpec:
    stack_name: str
    account_id: str
    region: str
    parameters: dict[str, str]
    functions: dict[str, FunctionSpec]
    rules: list[RuleSpec]
    state_machine_name: str
    definition: str
    topic_name: str
    outputs: dict[str, str]
    tables: dict[str, TableSpec] = field(default_factory=dict)
    resources: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Every resource of the transformed template whose condition holds: logical id -> (type, physical id)."""
    buckets: dict[str, BucketSpec] = field(default_factory=dict)

    def arn(self, service: str, kind: str, name: str) -> str:
        sep = ":" if service in ("lambda", "states") else ""
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{kind}{sep}{name}"

    @property
    def state_machine_arn(self) -> str:
        return self.arn("states", "stateMachine", self.state_machine_name)

    @property
    def topic_arn(self) -> str:
        return f"arn:aws:sns:{self.region}:{self.account_id}:{self.topic_name}"


# -- translation -----------------------------------------------------------------------------------
def _parameter_values(template: dict, overrides: dict[str, str]) -> dict[str, str]:
    declared = template.get("Parameters", {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"Unknown parameter(s) {', '.join(unknown)}; the template declares {', '.join(declared)}.")
    values = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
    values.update({k: str(v) for k, v in overrides.items()})
    for name, spec in declared.items():
        _check_parameter(name, spec, values[name])
    return values


def _check_parameter(name: str, spec: dict, value: str) -> None:
    """The constraints CloudFormation checks before it creates anything (user guide, "Parameters" section:
    Type Number, AllowedValues, AllowedPattern, MinLength/MaxLength, MinValue/MaxValue); one sentence."""
    shown = f"Parameter {name}={'****' if spec.get('NoEcho') else repr(value)}"  # a NoEcho value is never shown
    allowed = spec.get("AllowedValues")
    if allowed and value not in [str(a) for a in allowed]:
        raise TemplateError(f"{shown} is not one of {allowed}.")
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise TemplateError(f"{shown} must be a number.")
        low, high = spec.get("MinValue"), spec.get("MaxValue")
        if (low is not None and number < float(low)) or (high is not None and number > float(high)):
            raise TemplateError(f"{shown} must be a number from {low if low is not None else '-inf'} to "
                                f"{high if high is not None else 'inf'}.")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), value) is None:
        why = spec.get("ConstraintDescription") or f"the pattern {pattern}"
        raise TemplateError(f"{shown} does not satisfy its constraint: {why}.")
    shortest, longest = spec.get("MinLength"), spec.get("MaxLength")
    if (shortest is not None and len(value) < int(shortest)) or (longest is not None and len(value) > int(longest)):
        raise TemplateError(f"{shown} must be {shortest or 0} to {longest if longest is not None else 'any number of'} "
                            "characters long.")


def _stage_artifacts(template: dict) -> tuple[dict, dict[str, str]]:
    """Point every local path at a fake bucket (the translator wants S3), remembering the folders."""
    staged = copy.deepcopy(template)
    code_dirs: dict[str, str] = {}
    global_uri = staged.get("Globals", {}).get("Function", {}).get("CodeUri")
    for logical_id, resource in staged.get("Resources", {}).items():
        props = resource.setdefault("Properties", {})
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function":
            uri = props.get("CodeUri", global_uri)
            if not isinstance(uri, str):
                raise TemplateError(f"{logical_id} has no local CodeUri folder.")
            code_dirs[logical_id] = uri
            props["CodeUri"] = f"s3://{LOCAL_BUCKET}/{uri.strip('/')}"
        elif kind == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = f"s3://{LOCAL_BUCKET}/{str(props.get('ContentUri', '')).strip('/')}"
        elif kind == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            code_dirs[logical_id] = props["DefinitionUri"]
            props["DefinitionUri"] = {"Bucket": LOCAL_BUCKET, "Key": props["DefinitionUri"]}
    return staged, code_dirs


def translate(template: dict, parameters: dict[str, str], region: str = "us-east-1") -> tuple[dict, dict[str, str]]:
    staged, paths = _stage_artifacts(template)
    session = boto3.session.Session(region_name=region)  # only its region is read: no call is made
    # The translator records usage metrics; published (to its no-op publisher) here, or its __del__
    # logs "There are unpublished metrics" at exit.
    metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
    try:
        cfn = Translator({}, Parser(), boto_session=session, metrics=metrics).translate(
            staged, parameter_values=dict(parameters), get_managed_policy_map=lambda: {})
    except Exception as e:  # the translator's own errors carry their message
        raise TemplateError(f"aws-sam-translator rejected the template: {e}") from e
    finally:
        metrics.publish()
    return cfn, paths


# -- intrinsic functions ---------------------------------------------------------------------------
class Resolver:
    """Resolves the intrinsic functions the template uses, for one account, region and stack."""

    def __init__(self, cfn: dict, parameters: dict[str, str], account: str, region: str, stack: str,
                 list_parameters: frozenset[str] = frozenset()):
        self.resources = cfn.get("Resources", {})
        self.region, self.account, self.stack = region, account, stack
        # CommaDelimitedList / List<...> parameters are lists to Ref, as in CloudFormation ("" -> [""])
        lists = {name: parameters[name].split(",") for name in list_parameters}
        self.refs: dict[str, Any] = {
            **parameters,
            **lists,
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::Partition": "aws",
            "AWS::StackName": stack,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        self.conditions_src = cfn.get("Conditions", {})
        self.conditions: dict[str, bool] = {}

    def physical_name(self, logical_id: str) -> str:
        """The resource's own name property when the template sets one, else ``<stack>-<logical id>``."""
        props = self.resources.get(logical_id, {}).get("Properties", {})
        for key in NAME_PROPERTIES:
            if isinstance(props.get(key), str | dict):
                return str(self.resolve(props[key]))
        if self.resources.get(logical_id, {}).get("Type") == "AWS::S3::Bucket":  # lower case, globally unique
            return f"{self.stack}-{logical_id}-{self.account}-{self.region}".lower()[:63]
        return f"{self.stack}-{logical_id}"[:64]

    def _ref_resource(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        arn_of = {
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{self.region}:{self.account}:{name}",
            "AWS::IAM::ManagedPolicy": f"arn:aws:iam::{self.account}:policy/{name}",
            "AWS::Lambda::LayerVersion": f"arn:aws:lambda:{self.region}:{self.account}:layer:{name}:1",
        }
        return arn_of.get(kind, name)

    def physical_id(self, logical_id: str) -> str:
        """The resource's physical id as CloudFormation lists it (what ``Ref`` returns for these types)."""
        return self._ref_resource(logical_id)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.resources:
            raise TemplateError(f"Fn::GetAtt names {logical_id}, which the template does not define.")
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        if attribute == "Arn":
            if kind == "AWS::Lambda::Function":
                return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
            if kind == "AWS::IAM::Role":
                return f"arn:aws:iam::{self.account}:role/{name}"
            if kind == "AWS::Events::Rule":
                return f"arn:aws:events:{self.region}:{self.account}:rule/{name}"
            if kind == "AWS::DynamoDB::Table":
                return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}"
            if kind == "AWS::S3::Bucket":
                return f"arn:aws:s3:::{name}"
            return self._ref_resource(logical_id)
        if attribute in ("Name", "TopicName"):
            return name
        raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} is not supported locally.")

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.conditions_src[name]))
        return self.conditions[name]

    def resolve(self, value: Any) -> Any:  # noqa: C901 - one branch per intrinsic
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                if arg in self.refs:
                    return self.refs[arg]
                if arg in self.resources:
                    return self._ref_resource(arg)
                raise TemplateError(f"Ref {arg} names nothing the template defines.")
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                left, right = (self.resolve(a) for a in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(i) for i in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in variables:
                return str(variables[token])
            if "." in token and token.split(".", 1)[0] in self.resources:
                return self.get_att(*token.split(".", 1))
            return str(self.resolve({"Ref": token}))

        return re.sub(r"\$\{([^}]+)\}", replace, text)


# -- the stack -------------------------------------------------------------------------------------
def _present(value: Any) -> Any:
    """None for a property that is absent or resolved to AWS::NoValue."""
    return None if value is NO_VALUE or value is None else value


def _string_env(variables: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in variables.items()}


def stack_spec(
    parameters: dict[str, str] | None = None,
    *,
    account_id: str = "123456789012",
    region: str = "us-east-1",
    stack_name: str = "peering-autopilot",
    template_path: Path = TEMPLATE,
    repo_root: Path = REPO_ROOT,
) -> StackSpec:
    """Everything the local stack consists of, derived from ``template_path``."""
    template = load(template_path)
    values = _parameter_values(template, parameters or {})
    cfn, paths = translate(template, values, region)
    list_parameters = frozenset(name for name, p in template.get("Parameters", {}).items()
                                if str(p.get("Type", "")).startswith(("CommaDelimitedList", "List<")))
    resolver = Resolver(cfn, values, account_id, region, stack_name, list_parameters)
    functions: dict[str, FunctionSpec] = {}
    rules: list[RuleSpec] = []
    tables: dict[str, TableSpec] = {}
    resources: dict[str, tuple[str, str]] = {}
    buckets: dict[str, BucketSpec] = {}
    policies: dict[str, dict] = {}
    machine_name = definition = topic_name = ""
    for logical_id, resource in cfn["Resources"].items():
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        props = resource.get("Properties", {})
        kind = resource["Type"]
        resources[logical_id] = (kind, resolver.physical_id(logical_id))
        if kind == "AWS::Lambda::Function":
            env = resolver.resolve(props.get("Environment", {}).get("Variables", {}))
            functions[logical_id] = FunctionSpec(
                logical_id=logical_id,
                name=resolver.physical_name(logical_id),
                code_dir=(repo_root / paths[logical_id]).resolve(),
                handler=props["Handler"],
                runtime=props["Runtime"],
                environment=_string_env(env),
                architectures=props.get("Architectures", ["x86_64"]),
                timeout=int(props.get("Timeout", 3)),
                vpc_config=_present(resolver.resolve(props.get("VpcConfig"))),
                log_group=_present(resolver.resolve((props.get("LoggingConfig") or {}).get("LogGroup"))),
            )
        elif kind == "AWS::Events::Rule":
            targets = resolver.resolve(props.get("Targets", []))
            function_arns = [t["Arn"] for t in targets]
            if len(function_arns) != 1:
                raise TemplateError(f"Rule {logical_id} has {len(function_arns)} targets; one function is expected.")
            rules.append(RuleSpec(
                logical_id=logical_id,
                name=resolver.physical_name(logical_id),
                pattern=resolver.resolve(props["EventPattern"]) if "EventPattern" in props else None,
                target_function=function_arns[0].rsplit(":", 1)[-1],
                enabled=props.get("State", "ENABLED") == "ENABLED",
                schedule=resolver.resolve(props["ScheduleExpression"]) if "ScheduleExpression" in props else None,
            ))
        elif kind == "AWS::StepFunctions::StateMachine":
            machine_name = resolver.physical_name(logical_id)
            substitutions = resolver.resolve(props.get("DefinitionSubstitutions", {}))
            source = (repo_root / paths[logical_id]).read_text()
            definition = substitute(source, substitutions)
        elif kind == "AWS::SNS::Topic":
            topic_name = resolver.physical_name(logical_id)
        elif kind == "AWS::DynamoDB::Table":
            table = resolver.resolve(props)
            ttl = table.get("TimeToLiveSpecification") or {}
            tables[logical_id] = TableSpec(
                logical_id=logical_id, name=resolver.physical_name(logical_id), key_schema=table["KeySchema"],
                attribute_definitions=table["AttributeDefinitions"],
                billing_mode=table.get("BillingMode", "PROVISIONED"),
                ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled") else None)
        elif kind == "AWS::S3::Bucket":
            buckets[logical_id] = BucketSpec(logical_id, resolver.physical_name(logical_id), resolver.resolve(props))
        elif kind == "AWS::S3::BucketPolicy":
            policies[props["Bucket"]["Ref"]] = resolver.resolve(props["PolicyDocument"])
    for logical_id, policy in policies.items():
        if logical_id in buckets:
            buckets[logical_id].policy = policy
    outputs = {name: str(resolver.resolve(o["Value"])) for name, o in cfn.get("Outputs", {}).items()}
    return StackSpec(stack_name, account_id, region, values, functions, rules, machine_name, definition,
                     topic_name, outputs, tables, resources, buckets)


def substitute(definition: str, substitutions: dict[str, str]) -> str:
    """Apply DefinitionSubstitutions as CloudFormation does; a placeholder without a value is an error."""
    missing = sorted(set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", definition)) - set(substitutions))
    if missing:
        raise TemplateError(f"The state machine uses ${{{missing[0]}}}, which DefinitionSubstitutions does not set.")
    result = re.sub(r"\$\{([A-Za-z0-9_]+)\}", lambda m: str(substitutions[m.group(1)]), definition)
    json.loads(result)  # must still be valid JSON
    return result


def write_translated(out: Path, parameters: dict[str, str] | None = None) -> None:
    """The SAM-translated CloudFormation (default parameters) as JSON, for checkov's Lambda checks."""
    source = load()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(translate(source, _parameter_values(source, parameters or {}))[0], indent=1))


if __name__ == "__main__":  # python -m peering_tools.template OUT.json (make lint)
    import sys

    write_translated(Path(sys.argv[1]))
