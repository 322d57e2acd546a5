"""Errors raised by the workflow stages.

A handler that raises one of these ends its Lambda invocation with ``errorType`` set to the class
name, and the state machine's Retry/Catch blocks match on exactly these names, so renaming a class
is a change to ``statemachine/peering.asl.json`` too (a test checks the two agree).
Every message is one plain sentence meant for the person reading the execution or the notification.
"""


class PeeringError(Exception):
    """Base class: ``str(error)`` is a one-sentence explanation."""

    retryable = False


# Retried by the state machine (see RETRYABLE below) -------------------------------------------
class Throttled(PeeringError):
    """EC2 or STS throttled us beyond what botocore's own retries absorbed."""

    retryable = True


class PeeringNotFound(PeeringError):
    """The peering is not visible (yet): EC2 is eventually consistent right after creation."""

    retryable = True


class PeeringNotReady(PeeringError):
    """The peering is still ``initiating-request``: AWS moves it to pending-acceptance within seconds."""

    retryable = True


# Not retried: they fail the execution and lead to rollback ------------------------------------
class InvalidInput(PeeringError):
    """The stage was given input it cannot work with (a malformed event or state)."""


class PeeringNotActive(PeeringError):
    """The peering left the states the workflow can work with (rejected, expired, deleted, failed)."""


class RouteConflict(PeeringError):
    """A route for a planned destination exists with another target."""


class RouteQuotaExceeded(PeeringError):
    """A route table would go past its route quota."""


class LimitExceeded(PeeringError):
    """Something of this run could pass a limit of AWS (Step Functions' payload size, SNS's message size): the
    run stops before any route is changed (``peering.runstore.guard``)."""


class AwsCallFailed(PeeringError):
    """An AWS call failed for a reason the workflow cannot fix by retrying."""


class Unexpected(PeeringError):
    """A defect: anything else a stage raised, wrapped so the cause still reads as a sentence."""


RETRYABLE = tuple(cls.__name__ for cls in (Throttled, PeeringNotFound, PeeringNotReady))
"""Error names the state machine retries on every Lambda task."""


class CleanupIncomplete(PeeringError):
    """A side of a gone peering could not be cleaned; Lambda retries and the OnFailure destination follow."""
