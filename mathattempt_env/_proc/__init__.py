"""Process supervision shared by the grader and the sandbox (internal).

Both run work that may hang or crash in warm processes they start themselves, talk to them
with a deadline on every reply, kill and replace one that overruns or dies, and make sure
none outlives its parent. This layer does each of those once:

- :mod:`~mathattempt_env._proc.wire`: length-prefixed messages over a socket, with a
  deadline on every read (no signals, so it works in any thread);
- :mod:`~mathattempt_env._proc.lifetime`: Linux's parent-death signal;
- :mod:`~mathattempt_env._proc.pool`: a pool of warm members with checkout under a
  deadline, liveness checks, kill-and-replace, and a policy for how many to keep.

The grader (:mod:`mathattempt_env.grading.isolation`: one fork server per process, whose
forked workers run sympy jobs) and the sandbox (:mod:`mathattempt_env.sandbox.pool`: warm
servers that fork a supervisor per call) are its two clients, with two policies. ``wire`` and
``lifetime`` use only the standard library: the sandbox's servers load them from source into
an interpreter that sees nothing else of the package.
"""
