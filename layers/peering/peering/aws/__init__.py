"""The only package of the library that imports boto3: sessions, assumed roles and adapters.

Adapters take an injected client, turn ``ClientError`` into the project's errors through the one translator
(``peering.aws.errors``, ``raise ... from``) and return the project's records (``peering.records``, parsed in
``peering.aws.parse``), so the rest of the library never sees botocore's shapes. ``Clients`` hands out the
adapters, never a boto3 client (``tests/unit/test_layering.py`` checks the rest of the layer).
"""
