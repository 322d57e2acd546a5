"""S3 adapter: a run's store in the stack's RunBucket (layout and meaning: ``peering.runstore``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from pydantic import BaseModel, ValidationError

from ..errors import AwsCallFailed, Throttled
from ..runstore import canonical

THROTTLING_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded"})
WORKERS = 8
"""Objects read or written at once (each chunk is its own object)."""

M = TypeVar("M", bound=BaseModel)


def _failed(action: str, key: str, error: ClientError) -> Exception:
    code = error.response.get("Error", {}).get("Code", "")
    if code in THROTTLING_CODES:
        return Throttled(f"S3 throttled {action} of {key} ({code}) after retries.")
    return AwsCallFailed(f"{action} of {key} in the run store failed with {code or 'an error'}.")


class RunStore:
    """JSON objects of one bucket; every object is written whole (S3 PUT is atomic per object)."""

    def __init__(self, client: Any, bucket: str):
        self.client = client
        self.bucket = bucket

    def put(self, key: str, document: Any) -> None:
        body = canonical(document.wire() if hasattr(document, "wire") else document)
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        except ClientError as e:
            raise _failed("PutObject", key, e) from e

    def put_many(self, documents: dict[str, Any]) -> None:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(lambda item: self.put(*item), documents.items()))

    def get(self, key: str) -> Any:
        """The object's JSON; None when it does not exist (e.g. a chunk that never finished)."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as e:
            if e.response.get("Error", {}).get("Code", "") in ("NoSuchKey", "404"):
                return None
            raise _failed("GetObject", key, e) from e
        try:
            return json.loads(body)
        except ValueError as e:
            raise AwsCallFailed(f"The run store's {key} is not JSON.") from e

    def get_model(self, model: type[M], key: str) -> M | None:
        found = self.get(key)
        if found is None:
            return None
        try:
            return model.model_validate(found)
        except ValidationError as e:
            raise AwsCallFailed(f"The run store's {key} is not a {model.__name__}.") from e

    def get_models(self, model: type[M], keys: Iterable[str]) -> list[M | None]:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            return list(pool.map(lambda key: self.get_model(model, key), keys))
