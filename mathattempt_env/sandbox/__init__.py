"""Run model-written Python in isolated, supervised processes (the tool-integrated recipe).

:class:`Sandbox` holds a pool of warm servers; :meth:`Sandbox.run` returns a
:class:`ToolResult`. Each call runs in a fresh child with a new session, resource limits, a
uid of its own when root, per-call cgroups where the host allows them, Landlock and seccomp
(:mod:`~mathattempt_env.sandbox.layers`), reading only the runtime
(:mod:`~mathattempt_env.sandbox.runtime`), supervised by a subreaper that counts its CPU
time, caps the output and kills anything left (:mod:`~mathattempt_env.sandbox.supervise`);
the servers themselves run in a bubblewrap jail of namespaces when the host allows it
(:mod:`~mathattempt_env.sandbox.jail`), else, as root, in a tree of the runtime alone
(:mod:`~mathattempt_env.sandbox.tree`). It fails closed: without a layer that keeps the code
from the host's files and one that keeps it from the network it refuses to run unless
``isolation="none"`` is passed. :class:`RemoteSandbox` sends the calls to a
SandboxFusion-compatible service instead.

Examples:
    >>> from mathattempt_env.sandbox import Sandbox
    >>> sandbox = Sandbox(size=1)
    >>> sandbox.run("import sympy; print(sympy.factorint(360))").output
    '{2: 3, 3: 2, 5: 1}\\n'
    >>> sandbox.close()
"""

from mathattempt_env.sandbox.layers import Limits, probe
from mathattempt_env.sandbox.pool import (
    Sandbox,
    SandboxUnavailableError,
    ToolResult,
    shared_sandbox,
)
from mathattempt_env.sandbox.remote import RemoteSandbox

__all__ = [
    "Limits",
    "RemoteSandbox",
    "Sandbox",
    "SandboxUnavailableError",
    "ToolResult",
    "probe",
    "shared_sandbox",
]
