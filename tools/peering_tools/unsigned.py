"""Unsigned requests to the emulator (``aws --no-sign-request``), answered as the stack's account and region.

moto's server tells services apart by the SigV4 ``Authorization`` header's credential scope: an unsigned
request carries none, and apart from a few Cognito and STS calls moto then falls back to S3
(``moto/moto_server/werkzeug_app.py:169-186`` and ``:299-302``, ``DEFAULT_SERVICE_REGION``), so
``aws --no-sign-request ec2 describe-vpcs`` gets S3's ``ListAllMyBucketsResult``. ``UnsignedRequests`` is
WSGI middleware in front of it that names the service from what the request does carry, read from
botocore's own service models of the services this project uses (``SERVICES``):

- a JSON-protocol request: its ``X-Amz-Target`` prefix (``AWSStepFunctions.ListExecutions``);
- a Smithy RPC v2 request: the service in its path (``/service/<target prefix>/operation/<op>``);
- a query or EC2-protocol request: the ``Version`` in its form body (EC2 ``2016-11-15``, CloudFormation
  ``2010-05-15``), when one service has that version;
- a REST request: the first segment of its path, when only one REST service's operations start with it
  (Lambda's ``/2015-03-31/...``);

and gives it the Authorization header the project's own clients send (access key ``testing``, the
emulator's region), which moto reads without checking the signature. So an unsigned request is the
same request signed with the dummy credentials: moto's default account (an access key it does not know:
``moto/iam/models.py:69-75``, ``DEFAULT_ACCOUNT_ID``) and the stack's region, since nothing in an
unsigned request names a region. A request moto can place without help (signed, presigned, ``/moto-api``,
S3) is passed on untouched. Tooling only; never imported by deployed code.
"""

from __future__ import annotations

import io
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

ACCESS_KEY = "testing"  # the dummy access key the project's own clients sign with (emulator.CREDENTIALS)
PASS_THROUGH_PATHS = ("/moto-api", "/latest/", "/favicon.ico")
SERVICES = ("ec2", "cloudformation", "stepfunctions", "events", "lambda", "logs", "sns", "sqs", "dynamodb", "sts",
            "iam", "cloudwatch", "resourcegroupstaggingapi")
"""The stack's services and the tutorial's (botocore names); an unsigned request for another (S3 aside) is
passed on as it came (loading every model botocore ships took 3.5 s of CPU, these few a fraction)."""


@dataclass(frozen=True)
class ServiceIndex:
    """Signing names by what an unsigned request shows of its service (only keys naming one service)."""

    by_target: dict[str, str]
    by_version: dict[str, str]
    by_rest_segment: dict[str, str]


def _unique(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    seen: dict[str, set[str]] = {}
    for key, name in pairs:
        seen.setdefault(key, set()).add(name)
    return {key: next(iter(names)) for key, names in seen.items() if len(names) == 1}


@cache
def index() -> ServiceIndex:
    """Built once, from botocore's models of ``SERVICES``."""
    import botocore.session  # noqa: PLC0415 - keep `peering --help` fast

    session = botocore.session.get_session()
    targets, versions, segments = [], [], []
    for name in SERVICES:
        model = session.get_service_model(name)
        meta = model.metadata
        protocols = set(meta.get("protocols", [meta["protocol"]])) | {meta["protocol"]}
        signing = model.signing_name
        if meta.get("targetPrefix"):
            targets.append((meta["targetPrefix"], signing))
        if protocols & {"query", "ec2"}:
            versions.append((meta["apiVersion"], signing))
        if meta["protocol"] in ("rest-json", "rest-xml"):
            for operation in model.operation_names:
                uri = model.operation_model(operation).http.get("requestUri", "/")
                first = uri.split("?")[0].split("/")[1] if uri.count("/") else ""
                if first and "{" not in first:
                    segments.append((first, signing))
    return ServiceIndex(_unique(targets), _unique(versions), _unique(segments))


def _form(environ: dict[str, Any]) -> dict[str, str]:
    """The url-encoded form body's fields (the body is put back for moto)."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return {}
    if size <= 0:  # no declared length (chunked): left for moto to read as it came
        return {}
    body = environ["wsgi.input"].read(size)
    environ["wsgi.input"] = io.BytesIO(body)
    return {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}


def service_of(environ: dict[str, Any]) -> str | None:
    """The signing name of the service an unsigned request is for, or None when it cannot be told."""
    found = index()
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return found.by_target.get(target.split(".", 1)[0])
    path = environ.get("PATH_INFO", "")
    parts = path.split("/")
    if len(parts) > 4 and parts[1] == "service" and parts[3] == "operation":  # Smithy RPC v2 (CBOR)
        return found.by_target.get(parts[2])
    version = _form(environ).get("Version") or urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get(
        "Version", [""])[0]
    if version:
        return found.by_version.get(version)
    return found.by_rest_segment.get(parts[1]) if len(parts) > 1 else None


def _signed_elsewhere(environ: dict[str, Any]) -> bool:
    query = environ.get("QUERY_STRING", "")
    return bool(environ.get("HTTP_AUTHORIZATION")) or "X-Amz-Credential=" in query or "AWSAccessKeyId=" in query


class UnsignedRequests:
    """Give an unsigned request for a service moto cannot place the dummy credentials' Authorization header."""

    def __init__(self, app: Callable[..., Iterable[bytes]], region: str):
        self.app, self.region = app, region

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not _signed_elsewhere(environ) and not environ.get("PATH_INFO", "").startswith(PASS_THROUGH_PATHS):
            service = service_of(environ)
            if service is not None:
                day = datetime.now(UTC).strftime("%Y%m%d")
                environ["HTTP_AUTHORIZATION"] = (
                    f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{day}/{self.region}/{service}/aws4_request, "
                    "SignedHeaders=host, Signature=unsigned")
        return self.app(environ, start_response)
