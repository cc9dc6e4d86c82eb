"""Servers over the package's envs, for trainers and tools that consume environments as services.

- :mod:`mathattempt_env.serve.app`: the OpenEnv episode server (``mathattempt serve``): every
  registered env id over OpenEnv's WebSocket protocol, one env per session.
- :mod:`mathattempt_env.serve.client`: :class:`~mathattempt_env.serve.client.MathEnvClient`, an
  OpenEnv client that reconnects and replays an episode after a dropped connection, and
  :class:`~mathattempt_env.serve.client.RemoteEnv`, a Gymnasium env that steps a server.
- :mod:`mathattempt_env.serve.wire`: the action, observation and state models, and the step
  ``info`` carried in an observation's ``metadata``.

Needs the ``serve`` extra (``pip install "mathattempt-env[serve]"``). Nothing here is imported
by ``import mathattempt_env``.
"""
