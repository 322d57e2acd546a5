"""The emulator's data plane: the emulated VPCs built with Linux network namespaces and nftables.

Tooling only (never imported by deployed code). :mod:`.layout` translates a
:class:`peering.analysis.Snapshot` into namespaces, links, routes and rules (pure); :mod:`.netns`
makes anonymous namespaces that die with this process; :mod:`.plane` builds and uses them;
:mod:`.emulated` keeps one in step with the emulator's EC2 state and answers the probe's connects.
"""
