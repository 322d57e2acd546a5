"""The AWS CLI against `peering local up` with no credentials at all: `aws --no-sign-request`.

The newcomer's path of docs/tutorial.md ("The same steps with the AWS CLI, against the local emulator") is
run here as written — the doc's bash block, only the port changed — by bash in an environment with no
AWS_* variable, an empty HOME and no AWS config or credentials file, against `peering local up` started in
the same kind of environment. Were a credential step needed again (the emulator routing unsigned requests
wrongly, or the doc relying on a configured profile), the block fails here.

Unsigned requests: moto's server tells services apart by the SigV4 credential scope and sends an unsigned
request it cannot place to S3 (``moto/moto_server/werkzeug_app.py:169-186``, ``:299-302``); the emulator's
``unsigned.UnsignedRequests`` names the service from botocore's models instead (canary below).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from peering_tools import unsigned
from peering_tools.regions import RegionGuard
from tests.emulator.test_local_up import Server, free_port, start_up, stop

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
MARKER = "tests/emulator/test_aws_cli_unsigned.py runs this block"
DOC_URL = "http://127.0.0.1:5000"


def no_aws_env(home: Path) -> dict[str, str]:
    """A newcomer's shell: no AWS_* variable, an empty home, no config or credentials file; `aws` on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), AWS_CONFIG_FILE=str(home / "no-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "no-credentials"),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]))
    return env


def tutorial_block() -> str:
    """The bash block docs/tutorial.md marks as run by this test."""
    after = TUTORIAL.read_text().split(MARKER, 1)[1]
    return after.split("```bash\n", 1)[1].split("```", 1)[0]


@pytest.fixture(scope="module")
def up(tmp_path_factory) -> Iterator[tuple[Server, list[str]]]:
    """`peering local up` in an environment with no AWS settings; (server, its stderr lines so far)."""
    home = tmp_path_factory.mktemp("newcomer")
    server = start_up(free_port(), env=no_aws_env(home))
    stderr = []
    while not any(line.startswith("aws cli:") for line in stderr):
        stderr.append(server.errors.get(timeout=10))
    try:
        yield server, stderr
    finally:
        assert stop(server.process) == 0


def run_bash(script: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", "set -euo pipefail\nshopt -s expand_aliases\n" + script],
                          capture_output=True, text=True, timeout=300, env=no_aws_env(home))


def test_up_prints_the_aws_cli_prefix_the_tutorial_uses(up):
    server, stderr = up
    hint = next(line for line in stderr if line.startswith("aws cli:"))
    prefix = f"aws --endpoint-url {server.url} --region us-east-1 --no-sign-request"
    assert hint == f"aws cli: {prefix} ...  (no credentials needed)\n"
    assert f"alias awsl='{prefix.replace(server.url, DOC_URL)} --output text'" in tutorial_block()


def test_without_no_sign_request_this_environment_has_no_credentials(up, tmp_path):
    """The control: the environment below really has none, so the block's success is the unsigned path's."""
    server, _ = up
    done = run_bash(f"aws --endpoint-url {server.url} --region us-east-1 ec2 describe-vpcs", tmp_path)
    assert done.returncode != 0 and "Unable to locate credentials" in done.stderr


@pytest.fixture(scope="module")
def tutorial_run(up, tmp_path_factory) -> subprocess.CompletedProcess:
    """The doc's block, run once against `up` by bash with no AWS settings."""
    server, _ = up
    script = tutorial_block()
    assert DOC_URL in script and "AWS_ACCESS_KEY_ID" not in script and "configure" not in script
    return run_bash(script.replace(DOC_URL, server.url), tmp_path_factory.mktemp("shell"))


def test_the_tutorials_aws_cli_block_runs_as_written_with_no_credentials(up, tutorial_run):
    server, _ = up
    done = tutorial_run

    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    assert "Traceback" not in done.stderr and "error" not in done.stderr.lower(), done.stderr
    out = done.stdout
    pcx = re.search(r"^(pcx-[0-9a-f]+): (\w+)$", out, re.MULTILINE)
    assert pcx is not None and pcx.group(2) == "verified", out
    assert re.search(rf"^10\.7\.0\.0/16\t{pcx.group(1)}\tactive$", out, re.MULTILINE), out  # step 9, in A's table
    assert re.search(r"^0\.0\.0\.0/0\tigw-[0-9a-f]+\tactive$", out, re.MULTILINE), out  # step 6-2 kept
    assert re.search(r"^StateMachineArn\tarn:aws:states:us-east-1:123456789012:stateMachine:", out, re.MULTILINE)
    console = re.search(r"^ExecutionsConsoleUrl\t(http://127\.0\.0\.1:\d+/#/executions)$", out, re.MULTILINE)
    assert console is not None and console.group(1) == f"{server.console_url}#/executions", out
    assert re.search(r"^PeeringStateMachine\tAWS::StepFunctions::StateMachine\tarn:aws:states:\S+\tCREATE_COMPLETE$",
                     out, re.MULTILINE), out  # list-stack-resources
    assert re.search(rf"^{pcx.group(1)}-[0-9a-f]+\tSUCCEEDED$", out, re.MULTILINE), out  # list-executions
    assert out.strip().splitlines()[-1] == f"open {server.console_url}#/executions in a browser on this machine"
    with urllib.request.urlopen(f"{server.console_url}api/executions", timeout=30) as answer:  # noqa: S310 - loopback
        listed = json.loads(answer.read())  # the page's data, as the doc's curl line fetches it
    assert [(row["peeringId"], row["status"]) for row in listed] == [(pcx.group(1), "verified")]


def test_the_console_url_the_stack_gives_shows_the_aws_cli_run_in_chromium(up, tutorial_run):
    """The last step of the newcomer's path: open ExecutionsConsoleUrl (read with the AWS CLI above) in a
    browser and see the run: succeeded, verified, both VPCs with the routes through the peering."""
    from tests.emulator.test_console_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _browser_available

    _browser_available()
    from playwright.sync_api import sync_playwright

    assert tutorial_run.returncode == 0, tutorial_run.stderr[-2000:]
    url = re.search(r"^ExecutionsConsoleUrl\t(\S+)$", tutorial_run.stdout, re.MULTILINE).group(1)
    pcx = re.search(r"^(pcx-[0-9a-f]+): ", tutorial_run.stdout, re.MULTILINE).group(1)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(20_000)
            errors: list[str] = []
            requested: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requested.append(r.url))
            page.goto(url)
            page.wait_for_selector("body[data-ready='executions']")
            row = page.locator("#executions tbody tr", has_text=pcx)
            assert row.count() == 1 and "verified" in row.inner_text()
            row.locator("a").first.click()
            page.wait_for_selector("body[data-ready='execution']")
            assert page.locator("#execution-status").inner_text() == "SUCCEEDED"
            assert page.locator(".summary .badge").first.inner_text() == "verified"
            network = page.locator("#network")
            # every table of each VPC routes to the other: A's main table and its own, B's main table
            assert network.locator(".vpc").count() == 2 and network.locator("tr.via").count() == 3
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "console-aws-cli-run.png"), full_page=True)
            assert errors == []
            assert {urlsplit(u).hostname for u in requested} <= {"127.0.0.1"}
        finally:
            browser.close()


# -- the middleware itself, in the in-process emulator (conftest's `emulator`) -----------------------------
def unsigned_client(emulator, service: str):
    return boto3.client(service, region_name="us-east-1", endpoint_url=emulator.url,
                        config=Config(signature_version=UNSIGNED))


@pytest.mark.parametrize(("service", "call", "key"), [
    ("ec2", "describe_vpcs", "Vpcs"),                                  # EC2 protocol: Version in the body
    ("cloudformation", "describe_stacks", "Stacks"),                   # query protocol
    ("sts", "get_caller_identity", "Account"),
    ("sns", "list_topics", "Topics"),
    ("iam", "list_roles", "Roles"),
    ("stepfunctions", "list_state_machines", "stateMachines"),         # JSON protocol: X-Amz-Target
    ("events", "list_rules", "Rules"),
    ("logs", "describe_log_groups", "logGroups"),
    ("dynamodb", "list_tables", "TableNames"),
    ("sqs", "list_queues", "ResponseMetadata"),
    ("lambda", "list_functions", "Functions"),                         # REST: the path's first segment
    ("cloudwatch", "list_metrics", "Metrics"),                         # Smithy RPC v2 CBOR: the path
    ("resourcegroupstaggingapi", "get_resources", "ResourceTagMappingList"),
])
def test_an_unsigned_request_reaches_its_service_as_the_stacks_account(emulator, service, call, key):
    answer = getattr(unsigned_client(emulator, service), call)()
    assert key in answer
    signed = getattr(emulator.client(service), call)()
    if key != "ResponseMetadata":
        assert answer[key] == signed[key], "the same answer as a request signed with the dummy credentials"


def test_an_unsigned_request_is_in_the_stacks_region_and_the_default_account(emulator):
    assert unsigned_client(emulator, "sts").get_caller_identity()["Account"] == "123456789012"
    machines = unsigned_client(emulator, "stepfunctions").list_state_machines()["stateMachines"]
    assert [m["stateMachineArn"].split(":")[3] for m in machines] == [emulator.region]


def test_signed_requests_pass_untouched_and_the_region_guard_still_answers(emulator):
    app = emulator._server._server.app
    assert isinstance(app, unsigned.UnsignedRequests) and isinstance(app.app, RegionGuard)
    vpcs = {region: [v["VpcId"] for v in emulator.client("ec2", region_name=region).describe_vpcs()["Vpcs"]]
            for region in ("us-east-1", "eu-west-1")}
    assert vpcs["us-east-1"] != vpcs["eu-west-1"], "a signed request keeps its own region"
    assert [v["VpcId"] for v in unsigned_client(emulator, "ec2").describe_vpcs()["Vpcs"]] == vpcs["us-east-1"]


def test_the_index_names_one_service_per_key_from_botocores_models():
    found = unsigned.index()
    assert found.by_version["2016-11-15"] == "ec2" and found.by_version["2010-05-15"] == "cloudformation"
    assert found.by_target["AWSStepFunctions"] == "states" and found.by_target["DynamoDB_20120810"] == "dynamodb"
    assert found.by_rest_segment["2015-03-31"] == "lambda"
    assert "tags" not in found.by_rest_segment  # a first segment several REST services share names none


def test_moto_seam_an_unsigned_ec2_request_is_not_placed_by_motos_dispatcher():
    """Canary: moto's server infers no service for an unsigned EC2 request (it then answers as S3). When this
    fails, moto places unsigned requests itself and ``unsigned.UnsignedRequests`` may be removed."""
    import io

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    body = b"Action=DescribeVpcs&Version=2016-11-15"
    environ = {"CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8",
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "PATH_INFO": "/",
               "HTTP_HOST": "127.0.0.1:5000"}
    assert DomainDispatcherApplication(create_backend_app).infer_service_region_host(environ, "/") is None


def test_the_form_body_is_left_readable_for_moto():
    import io

    body = b"Action=DescribeStacks&Version=2010-05-15"
    environ = {"CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8", "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body), "PATH_INFO": "/"}
    assert unsigned.service_of(environ) == "cloudformation"
    assert environ["wsgi.input"].read() == body
    chunked = {"CONTENT_TYPE": "application/x-www-form-urlencoded", "wsgi.input": io.BytesIO(body), "PATH_INFO": "/"}
    assert unsigned.service_of(chunked) is None and chunked["wsgi.input"].read() == body
