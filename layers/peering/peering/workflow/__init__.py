"""The workflow's stages, one module per stage group, each stage a function of ``(deps, input)``.

``intake`` (EventBridge -> executions), ``inspect``, ``accept`` (accept and wait until active), ``routes`` (plan,
apply, rollback, DNS), ``verify`` (the probe's plan, the probe, the verdict) and ``report``. Each stage reads what
it needs live, decides with the pure functions of ``peering.plan``, ``peering.flows`` and ``peering.analysis``,
and changes things only through the adapters that ``peering.deps.Deps`` hands out. Every stage is idempotent:
Step Functions may run it again after a retry, and a second run finds its work done and does nothing more.
"""
