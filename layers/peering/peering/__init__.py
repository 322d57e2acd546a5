"""peering autopilot: the domain library shared by every Lambda of the stack.

Pure modules (``plan``, ``models``, ``errors``, ``config``, ``events``) never import boto3;
``peering.aws`` is the only package that does. ``service`` ties the two together and is what
the handlers call, one function per workflow stage.
"""

__version__ = "0.1.0"
