"""The only package of the library that imports boto3: sessions, assumed roles and adapters.

Adapters take an injected client, turn ``ClientError`` into the project's errors (``raise ... from``)
and return the project's models, so the rest of the library never sees botocore's shapes.
"""
