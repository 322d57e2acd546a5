"""Every bad argument to the `peering` CLI, as a user types it: one line on stderr, exit 2, no traceback.

Subprocesses of the real console entry (``python -m peering_tools.cli``), with no AWS credentials and no
region in the environment; nothing is listening where an endpoint is given, and a bad value must be
refused before any request is made.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass

import pytest

from peering_tools import cli, cliargs, local
from peering_tools.local import OverrideError, parse_overrides

PCX = "pcx-0123456789abcdef0"
ARN = "arn:aws:states:us-east-1:123456789012:execution:m:e"


def dead_endpoint() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def no_aws_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true")
    return env


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def peering(tmp_path, *args: str) -> Result:
    """The real console entry in a subprocess."""
    done = subprocess.run([sys.executable, "-m", "peering_tools.cli", *args], capture_output=True, text=True,
                          env=no_aws_env(tmp_path), timeout=60, check=False)
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def in_process(monkeypatch, tmp_path, capsys):
    """``cli.run`` (what ``main`` exits with) in this process, with the subprocesses' environment."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in no_aws_env(tmp_path).items():
        monkeypatch.setenv(key, value)

    def run(*args: str) -> Result:
        code = cli.run(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def assert_one_line(result: Result, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


COMMANDS = [["executions", "list"], ["executions", "show", PCX], ["executions", "show", ARN], ["diagnose", PCX]]


# -- as a user runs it (subprocesses: one per kind of mistake) ---------------------------------------
@pytest.mark.parametrize(("args", "words"), [
    (["executions", "list", "--region", "xx-nowhere-1"], ["'xx-nowhere-1'", "not an AWS region"]),
    (["diagnose", PCX, "--region", "us-east-1", "--endpoint-url", "notaurl"], ["'notaurl'", "not an http(s) URL"]),
    (["executions", "show", "hello", "--region", "us-east-1"], ["'hello'", "neither an execution ARN"]),
    (["local", "up", "--port", "99999"], ["--port", "see 'peering local up --help'"]),
])
def test_the_console_entry_answers_a_bad_argument_with_one_line_and_exit_2(tmp_path, args, words):
    assert_one_line(peering(tmp_path, *args), *words)


def test_the_emulators_loopback_endpoint_needs_no_credentials_or_region(tmp_path):
    endpoint = dead_endpoint()
    # Dummy credentials and the emulator's region: the request is made, and finds nothing listening.
    assert_one_line(peering(tmp_path, "executions", "list", "--endpoint-url", endpoint), f"Cannot reach {endpoint}")


# -- every command and every kind of bad value (in-process) -------------------------------------------
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unknown_region_is_one_line_before_any_request(in_process, command):
    assert_one_line(in_process(*command, "--region", "xx-nowhere-1"), "'xx-nowhere-1'", "not an AWS region")


@pytest.mark.parametrize("variable", ["AWS_DEFAULT_REGION", "AWS_REGION"])
def test_an_unknown_region_from_the_environment_is_one_line_too(in_process, monkeypatch, variable):
    monkeypatch.setenv(variable, "xx-nowhere-1")
    assert_one_line(in_process("executions", "list"), "'xx-nowhere-1'", "not an AWS region")


def test_aws_region_is_read_as_the_aws_cli_reads_it(monkeypatch, tmp_path):
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert cliargs.session(None, None).region_name == "eu-west-1"


@pytest.mark.parametrize("url", ["notaurl", "http://", "ftp://127.0.0.1:5000", "http://127.0.0.1:99999"])
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_endpoint_that_is_not_an_http_url_is_one_line(in_process, command, url):
    assert_one_line(in_process(*command, "--region", "us-east-1", "--endpoint-url", url),
                    f"'{url}'", "not an http(s) URL")


@pytest.mark.parametrize(("args", "words"), [
    (["executions", "show", "hello"], ["'hello'", "neither an execution ARN nor a peering id"]),
    (["executions", "show", "arn:aws:states:us-east-1:1:stateMachine:m"], ["not an execution ARN"]),
    (["diagnose", "vpc-0123"], ["'vpc-0123'", "not a peering id"]),
    (["diagnose", PCX, "--to", "10.7.1.4:99999"], ["port must be a number"]),
    (["diagnose", PCX, "--to", "nowhere"], ["not IP:port"]),
    (["diagnose", PCX, "--from", "somewhere"], ["'somewhere'", "neither an IP address nor a subnet id"]),
])
def test_a_malformed_id_or_address_is_one_line_before_any_request(in_process, args, words):
    assert_one_line(in_process(*args, "--region", "us-east-1", "--endpoint-url", dead_endpoint()), *words)


@pytest.mark.parametrize(("args", "words"), [
    (["local", "up", "--port", "99999"], ["--port", "see 'peering local up --help'"]),
    (["executions", "list", "--max", "0"], ["--max"]),
    (["executions", "list", "--no-such-option"], ["No such option: --no-such-option"]),
    (["executions", "show"], ["Missing argument"]),
    (["diagnose"], ["Missing argument"]),
    (["no-such-command"], ["No such command"]),
    (["local", "up", "--port", "1", "Stray=1"], ["'Stray=1'", "--parameter-overrides"]),
    (["local", "up", "--port", "1", "--parameter-overrides", "A=1", "NotAPair"], ["'NotAPair'", "KEY=VALUE"]),
    (["local", "up", "--port", "1", "--parameter-overrides", "RouteTableQuota=abc"],
     ["RouteTableQuota='abc' must be a number"]),
    (["local", "up", "--port", "1", "--parameter-overrides", "DefaultProbePort=443 MaxProbeTargets=0"],
     ["MaxProbeTargets='0' must be a number from 1 to 50"]),
])
def test_a_usage_error_is_one_line_not_a_usage_block(in_process, args, words):
    assert_one_line(in_process(*args), *words)


def test_aws_itself_still_needs_credentials(in_process):
    assert_one_line(in_process("executions", "list", "--region", "us-east-1"), "No AWS credentials")


def test_executions_never_imports_the_emulator(tmp_path):
    code = ("import sys; from peering_tools import cli; cli.run(['executions', 'list', '--region', 'xx-nowhere-1']);"
            "print('moto' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=no_aws_env(tmp_path),
                          timeout=60, check=False)
    assert done.stdout.strip() == "False", done.stderr


# -- the pieces, in-process ------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["http://127.0.0.1:5000", "http://localhost:5000/", "http://[::1]:5000",
                                 "http://127.1.2.3"])
def test_a_loopback_endpoint_gets_dummy_credentials_and_the_emulators_region(monkeypatch, tmp_path, url):
    for key, value in no_aws_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("AWS_") and k not in no_aws_env(tmp_path)]:
        monkeypatch.delenv(key)
    session = cliargs.session(None, url)
    assert session.region_name == cliargs.EMULATOR_REGION
    assert session.get_credentials().access_key == "testing"


@pytest.mark.parametrize("url", [None, "https://ec2.us-east-1.amazonaws.com", "http://10.0.0.1:5000"])
def test_any_other_endpoint_gets_no_invented_credentials(monkeypatch, tmp_path, url):
    for key, value in no_aws_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("AWS_") and k not in no_aws_env(tmp_path)]:
        monkeypatch.delenv(key)
    session = cliargs.session("us-east-1", url)
    assert session.get_credentials() is None


def test_configured_credentials_are_kept_for_a_loopback_endpoint(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mine")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert cliargs.session("eu-west-1", "http://127.0.0.1:5000").get_credentials().access_key == "mine"


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-2", "cn-north-1", "us-gov-west-1", "ap-east-9"])
def test_regions_botocore_can_place_are_accepted(region):
    assert cliargs.check_region(region) == region


@pytest.mark.parametrize("region", ["xx-nowhere-1", "us east 1", "useast1", "", "us-east-1 "])
def test_other_regions_are_refused(region):
    with pytest.raises(cliargs.ArgumentError, match="not an AWS region"):
        cliargs.check_region(region)


# -- --parameter-overrides as sam deploy takes it --------------------------------------------------
@pytest.mark.parametrize("words", [
    ["A=1", "B=2"],                                                        # separate words
    ["A=1 B=2"],                                                           # one quoted string
    ["ParameterKey=A,ParameterValue=1", "ParameterKey=B,ParameterValue=2"],  # the long form
    ["ParameterKey=A,ParameterValue=1 B=2"],                               # mixed, in one string
])
def test_parse_overrides_accepts_every_form_sam_deploy_accepts(words):
    assert parse_overrides(words) == {"A": "1", "B": "2"}


def test_parse_overrides_keeps_quoted_spaces_and_equals_signs():
    assert parse_overrides(["Name='a b' Cidrs=10.0.0.0/8,172.16.0.0/12 Expr=x=y"]) == {
        "Name": "a b", "Cidrs": "10.0.0.0/8,172.16.0.0/12", "Expr": "x=y"}


@pytest.mark.parametrize("words", [["A"], ["=1"], ["ParameterKey=A"], ["ParameterKey=A,ParameterValue=1,X=2"],
                                   ["A='unclosed"]])
def test_parse_overrides_refuses_malformed_words(words):
    with pytest.raises(OverrideError):
        parse_overrides(words)


@pytest.mark.parametrize("args", [
    ["--parameter-overrides", "DefaultProbePort=23", "MaxProbeTargets=3"],
    ["--parameter-overrides", "DefaultProbePort=23 MaxProbeTargets=3"],
    ["--parameter-overrides", "ParameterKey=DefaultProbePort,ParameterValue=23",
     "ParameterKey=MaxProbeTargets,ParameterValue=3"],
    ["--parameter-overrides", "DefaultProbePort=23", "--parameter-overrides", "MaxProbeTargets=3"],
])
def test_local_up_passes_every_form_to_the_emulator(monkeypatch, args):
    from typer.testing import CliRunner

    seen: dict[str, str] = {}

    class Stop(Exception):
        pass

    class Recording:
        def __init__(self, port: int, parameter_overrides: dict[str, str], **_options):
            seen.update(parameter_overrides)
            raise Stop

    monkeypatch.setattr(local, "Emulator", Recording)
    result = CliRunner().invoke(local.app, ["up", "--port", "5999", *args])
    assert isinstance(result.exception, Stop)
    assert seen == {"DefaultProbePort": "23", "MaxProbeTargets": "3"}
