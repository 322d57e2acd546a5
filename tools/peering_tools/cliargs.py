"""The CLI's checks of --region and --endpoint-url, and its boto3 session (tooling only).

A bad value is refused before any request is made (``ArgumentError``, one sentence; the commands turn
it into one line on stderr and exit 2): a region must be one botocore knows or match the region
pattern of one of its partitions (``botocore/data/endpoints.json``), so a typo never becomes a DNS
lookup of ``ec2.xx-nowhere-1.amazonaws.com``; an endpoint URL must be http(s) with a host.

Against a loopback endpoint (the local emulator) with no credentials configured, the session uses
dummy ones, as ``peering local up`` itself does (the emulator accepts any), and with no region
configured, the emulator's ``us-east-1``.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any
from urllib.parse import urlsplit

from . import regions

DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
EMULATOR_REGION = "us-east-1"  # where `peering local up` deploys the stack
LOOPBACK_NAMES = ("localhost",)


class ArgumentError(ValueError):
    """A command-line value the CLI cannot use; the message is one sentence."""


def check_region(region: str | None) -> str | None:
    """``region`` unchanged when botocore can place it in a partition; ``ArgumentError`` otherwise."""
    if region is None or regions.is_known(region):
        return region
    raise ArgumentError(f"Region {region!r} is not an AWS region (pass --region, e.g. us-east-1).")


def check_endpoint_url(url: str | None) -> str | None:
    """``url`` unchanged when it is http(s)://host[:port][/path]; ``ArgumentError`` otherwise."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ArgumentError(f"--endpoint-url {url!r} is not an http(s) URL (e.g. http://127.0.0.1:5000).")
    return url


def is_loopback(url: str | None) -> bool:
    host = urlsplit(url).hostname if url else None
    if host is None:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def session(region: str | None, endpoint_url: str | None) -> Any:
    """A boto3 session for ``region``; dummy credentials when the endpoint is loopback and none are set."""
    import boto3  # noqa: PLC0415

    check_region(region)
    check_endpoint_url(endpoint_url)
    found = boto3.session.Session(region_name=region)
    if found.region_name is None and os.environ.get("AWS_REGION"):  # boto3 reads only AWS_DEFAULT_REGION
        found = boto3.session.Session(region_name=os.environ["AWS_REGION"])
    check_region(found.region_name)  # also one from the environment or the profile
    if not is_loopback(endpoint_url):
        return found
    local_region = found.region_name or EMULATOR_REGION
    if found.get_credentials() is None:
        return boto3.session.Session(region_name=local_region, **DUMMY_CREDENTIALS)
    return found if found.region_name else boto3.session.Session(region_name=local_region)
