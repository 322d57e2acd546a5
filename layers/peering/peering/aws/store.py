"""S3 adapter: a run's store in the stack's RunBucket (layout and meaning: ``peering.runstore``).

Objects are the run store's own JSON documents; each is parsed here, once, into the stage model it holds
(``peering.models``): nothing of an S3 response leaves this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from pydantic import BaseModel, ValidationError

from ..errors import AwsCallFailed
from ..runstore import canonical
from .errors import error_code, failure

WORKERS = 8
"""Objects read or written at once (each chunk is its own object)."""
MISSING_CODES = frozenset({"NoSuchKey", "404"})
"""S3's answers for an object that does not exist (404 with s3:ListBucket on the bucket; 403 without it)."""

M = TypeVar("M", bound=BaseModel)


class RunStore:
    """JSON objects of one bucket, through one S3 client; every object is written whole (a PUT is atomic per
    object)."""

    def __init__(self, client: Any, bucket: str):
        self.client = client
        self.bucket = bucket

    def put(self, key: str, document: Any) -> None:
        body = canonical(document.wire() if hasattr(document, "wire") else document)
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        except ClientError as e:
            raise failure(e, f"PutObject of {key} in the run store", "S3") from e

    def put_many(self, documents: dict[str, Any]) -> None:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(lambda item: self.put(*item), documents.items()))

    def _read(self, key: str) -> Any:
        """The object's JSON; None when it does not exist (e.g. a chunk that never finished)."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as e:
            if error_code(e) in MISSING_CODES:
                return None
            raise failure(e, f"GetObject of {key} in the run store", "S3") from e
        try:
            return json.loads(body)
        except ValueError as e:
            raise AwsCallFailed(f"The run store's {key} is not JSON.") from e

    def get(self, model: type[M], key: str) -> M | None:
        """The object at ``key`` as ``model``; None when it does not exist."""
        found = self._read(key)
        if found is None:
            return None
        try:
            return model.model_validate(found)
        except ValidationError as e:
            raise AwsCallFailed(f"The run store's {key} is not a {model.__name__}.") from e

    def get_many(self, model: type[M], keys: Iterable[str]) -> list[M | None]:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            return list(pool.map(lambda key: self.get(model, key), keys))
