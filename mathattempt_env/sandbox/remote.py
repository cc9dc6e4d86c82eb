"""A client for a SandboxFusion-compatible HTTP sandbox (the one verl and ToRL use).

For users who already run such a service: ``gym.make("ToolMath-v0",
sandbox_url="http://host:8080/run_code")`` sends each call there instead of the local pool.
The request is SandboxFusion's ``POST /run_code`` (``code``, ``language: "python"``,
``run_timeout``); the reply's ``run_result`` (``status``, ``return_code``, ``stdout``,
``stderr``, ``execution_time``) becomes a :class:`~mathattempt_env.sandbox.pool.ToolResult`
like the local sandbox's.

Calls are bounded: at most ``concurrency`` in flight and ``rate`` started per second (a
token bucket shared by every thread of the process). A refused or dropped connection, a
timeout, an HTTP 429 or 5xx, a body that is not a SandboxFusion reply, and the service's own
``SandboxError`` are retried with exponential backoff; when the retries run out the call is a
``sandbox-error``: an infrastructure failure, reported and counted, never the model's error
and never a reward (ToRL lost a run to an executor that answered "UnknownError" 61.7% of the
time behind catch-all handlers).

Examples:
    >>> client = RemoteSandbox("http://127.0.0.1:9/run_code", retries=0)
    >>> result = client.run("print(1)")  # nothing listens on port 9
    >>> result.status, result.infrastructure_error
    ('sandbox-error', True)
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from mathattempt_env.errors import ConfigError
from mathattempt_env.retry import RetryPolicy
from mathattempt_env.sandbox.pool import ToolResult
from mathattempt_env.sandbox.supervise import MAX_OUTPUT

_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
LAYERS = ("sandboxfusion",)


class _Retry(Exception):
    """A failure worth another try."""


class _Fatal(Exception):
    """A failure another try would repeat (a 4xx: a wrong URL, a refused request)."""


class _Bucket:
    """A token bucket: ``rate`` starts per second, at most ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)


class RemoteSandbox:
    """Runs code on a SandboxFusion-compatible service; a drop-in for :class:`Sandbox`.

    Args:
        url: the service's ``run_code`` endpoint.
        rate: the most calls started per second (``None``: no limit).
        burst: calls that may start at once within the rate.
        concurrency: the most calls in flight.
        retries: tries after the first for a retryable failure.
        backoff: the first retry's delay in seconds; it doubles each time (with jitter).
        slack: seconds the HTTP request may take beyond the call's own timeout.
        max_output: characters of output kept; more is cut and flagged.
        seed: seeds the jitter (a private RNG).

    Raises:
        ConfigError: a URL that is not http(s), or a bound that is not positive.
    """

    def __init__(
        self,
        url: str,
        *,
        rate: float | None = None,
        burst: int = 1,
        concurrency: int = 32,
        retries: int = 3,
        backoff: float = 0.5,
        slack: float = 10.0,
        max_output: int = MAX_OUTPUT,
        seed: int = 0,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"sandbox_url: expected an http(s) URL, got {url!r}")
        for name, value in (("rate", rate), ("burst", burst), ("concurrency", concurrency)):
            if value is not None and not value > 0:
                raise ConfigError(f"{name}: expected a positive number, got {value!r}")
        self.policy = RetryPolicy(retries, backoff, seed)
        self.url = url
        self.layers = LAYERS
        self.retries, self.backoff, self.slack = retries, backoff, slack
        self.max_output = max_output
        self._bucket = _Bucket(rate, burst) if rate else None
        self._slots = threading.BoundedSemaphore(concurrency)
        self.infrastructure_errors = 0
        self.retried = 0

    def run(self, code: str, timeout: float = 5.0) -> ToolResult:
        """Run ``code`` remotely; never raises (see :meth:`Sandbox.run <.pool.Sandbox.run>`)."""
        started = time.monotonic()
        body = json.dumps(
            {"code": str(code), "language": "python", "run_timeout": float(timeout)}
        ).encode()
        failure = ""
        for attempt, delay in enumerate(self.policy.delays()):
            if attempt:
                self.retried += 1
                time.sleep(delay)
            if self._bucket is not None:
                self._bucket.take()
            try:
                with self._slots:
                    reply = self._post(body, timeout + self.slack)
                return self._result(reply, started)
            except _Retry as error:
                failure = str(error)
            except _Fatal as error:
                return self._failed(f"{self.url}: {error}", started)
        return self._failed(
            f"{self.url}: no answer after {self.policy.tries} tries; last: {failure}", started
        )

    def _failed(self, note: str, started: float) -> ToolResult:
        self.infrastructure_errors += 1
        return ToolResult("sandbox-error", note, False, time.monotonic() - started, self.layers)

    def _post(self, body: bytes, limit: float) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=limit) as answer:  # noqa: S310
                data = answer.read()
        except urllib.error.HTTPError as error:
            if error.code in _RETRY_STATUS:
                raise _Retry(f"HTTP {error.code}") from None
            raise _Fatal(f"HTTP {error.code}: {error.read()[:200]!r}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
            raise _Retry(f"{type(error).__name__}: {error}") from None
        try:
            reply = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _Retry(f"not a JSON body: {data[:200]!r}") from None
        if not isinstance(reply, dict) or reply.get("status") == "SandboxError":
            raise _Retry(f"the service failed: {str(reply)[:200]}")
        if not isinstance(reply.get("run_result"), dict):
            raise _Retry(f"no run_result in the reply: {str(reply)[:200]}")
        return reply

    def _result(self, reply: dict[str, Any], started: float) -> ToolResult:
        run = reply["run_result"]
        output = f"{run.get('stdout') or ''}{run.get('stderr') or ''}"
        cut = len(output) > self.max_output
        if run.get("status") == "TimeLimitExceeded":
            status = "timeout"
        elif run.get("status") == "Finished" and run.get("return_code") == 0:
            status = "ok"
        else:
            status = "error"
        wall = run.get("execution_time")
        wall_s = float(wall) if isinstance(wall, int | float) else time.monotonic() - started
        return ToolResult(status, output[: self.max_output], cut, wall_s, self.layers)

    def close(self) -> None:
        """Nothing to release (each call is its own request)."""


_clients: dict[str, RemoteSandbox] = {}
_clients_lock = threading.Lock()


def shared_remote(url: str, **options: Any) -> RemoteSandbox:
    """This process's client for ``url`` (one rate limit and one bound per service)."""
    with _clients_lock:
        if url not in _clients:
            _clients[url] = RemoteSandbox(url, **options)
        return _clients[url]
