"""Which region names are AWS regions, for the CLI and the emulator (tooling only).

For the CLI a region is known when botocore lists it or it matches the region pattern of one of
botocore's partitions (``botocore/data/endpoints.json``: ``regionRegex``), so a region newer than the
pinned botocore still passes; the emulator serves only the regions botocore lists.

``RegionGuard`` is WSGI middleware for the emulator: a request signed for a region AWS does not have
(``aws --region xx-nowhere-1 --endpoint-url ...``) gets AWS's answer to such a signature —
HTTP 403 ``SignatureDoesNotMatch`` "Credential should be scoped to a valid region, not 'xx-nowhere-1'."
(``InvalidSignatureException`` for JSON protocols) — instead of moto's HTTP 500 and a traceback in the
emulator's log (``moto/core/base_backend.py:292``: ``KeyError`` for a region it does not know).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]*)/")


@cache
def _partitions() -> tuple[tuple[re.Pattern[str], frozenset[str]], ...]:
    import botocore.session  # noqa: PLC0415 - keep `peering --help` fast

    data = botocore.session.get_session().get_data("endpoints")
    return tuple((re.compile(p["regionRegex"]), frozenset(p.get("regions", {}))) for p in data["partitions"])


def is_known(region: str) -> bool:
    """Listed by botocore, or shaped like a region of one of its partitions."""
    return any(region in known or pattern.match(region) for pattern, known in _partitions())


def is_listed(region: str) -> bool:
    """Listed by botocore (moto serves these; a region only shaped like one is a KeyError in moto)."""
    return any(region in known for _, known in _partitions())


def signed_region(environ: dict[str, Any]) -> str | None:
    """The region of a SigV4 Authorization header's credential scope (None when unsigned)."""
    found = SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return found.group(1) if found else None


class RegionGuard:
    """Answer a request signed for an unknown region as AWS does; pass every other request on."""

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        region = signed_region(environ)
        if region is None or is_listed(region):
            return self.app(environ, start_response)
        message = f"Credential should be scoped to a valid region, not '{region}'."
        request_id = str(uuid.uuid4())
        if "json" in environ.get("CONTENT_TYPE", ""):
            body = json.dumps({"__type": "InvalidSignatureException", "message": message}).encode()
            content_type = "application/x-amz-json-1.1"
        else:
            body = (f"<Response><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>{message}</Message>"
                    f"</Error></Errors><RequestID>{request_id}</RequestID></Response>").encode()
            content_type = "text/xml"
        start_response("403 Forbidden", [("Content-Type", content_type), ("Content-Length", str(len(body))),
                                         ("x-amzn-RequestId", request_id)])
        return [body]
