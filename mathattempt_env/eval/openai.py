"""A chat backend for any OpenAI-compatible chat-completions server (vLLM, SGLang, ...).

Requests are bounded by a semaphore (``concurrency``), time out after ``timeout`` seconds, and
are retried with exponential backoff on timeouts, dropped connections, 429 and 5xx answers,
and on bad replies: a body that is not UTF-8 or not JSON (an HTML error page), a body cut
mid-way, or JSON that is not a chat completion (no ``choices``, no ``usage``). When the
retries run out, :class:`~mathattempt_env.eval.backends.BackendError` says why; the runner
records that episode as failed and goes on. A server that refuses connections is reported at
once, before any episode starts.

A tool env's turn goes on after the tool's output inside the same assistant message: the
request then asks the server to continue that message (vLLM's and SGLang's
``continue_final_message``, with ``add_generation_prompt`` off) and to stop at the tool's stop
string, kept in the reply (``include_stop_str_in_output``; a server that drops it anyway has
it put back from ``stop_reason``). Tool output is counted toward the token budget at one token
per 4 bytes (this side has no tokenizer): an estimate.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from mathattempt_env.eval.backends import BackendError, Reply
from mathattempt_env.prompts import Message
from mathattempt_env.retry import RetryPolicy

_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAIBackend:
    """Chat completions over HTTP, with bounded concurrency, retries and timeouts.

    Args:
        base_url: the API root, e.g. ``http://localhost:8000/v1``.
        model: the model name the server knows.
        temperature: 0 for greedy decoding.
        concurrency: the most requests in flight.
        timeout: seconds one request may take.
        retries: attempts after the first one for a retryable failure.
        backoff: the first retry's delay in seconds; it doubles each time (with jitter).
        api_key: sent as a bearer token when given.
        seed: sent to servers that accept one.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        temperature: float = 0.0,
        concurrency: int = 32,
        timeout: float = 600.0,
        retries: int = 5,
        backoff: float = 1.0,
        api_key: str | None = None,
        seed: int = 0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = model
        self.temperature = temperature
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.seed = seed
        self.policy = RetryPolicy(retries, backoff, seed)
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._limit = asyncio.Semaphore(concurrency)
        self._session: Any = None

    async def _client(self) -> Any:
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession(
                headers=self.headers, timeout=aiohttp.ClientTimeout(total=self.timeout)
            )
        return self._session

    async def check(self) -> None:
        """Fail fast when the server cannot be reached.

        Raises:
            BackendError: the connection is refused or the server does not answer.
        """
        import aiohttp

        session = await self._client()
        try:
            async with session.get(f"{self.base_url}/models") as answer:
                await answer.read()
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as error:
            raise BackendError(
                f"--base-url: cannot connect to {self.base_url} ({error.__class__.__name__}: "
                f"{error}); is the server running?"
            ) from error

    async def chat(
        self, messages: list[Message], max_tokens: int, stop: Sequence[str] = ()
    ) -> Reply:
        """Generate the next assistant turn; see :class:`~mathattempt_env.eval.ChatBackend`."""
        import aiohttp

        body: dict[str, Any] = {
            "model": self.name,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
        }
        if messages and messages[-1]["role"] == "assistant":
            body.update(continue_final_message=True, add_generation_prompt=False)
        if stop:
            body.update(stop=list(stop), include_stop_str_in_output=True)
        session = await self._client()
        failure = ""
        for delay in self.policy.delays():
            await asyncio.sleep(delay)
            try:
                async with (
                    self._limit,
                    session.post(f"{self.base_url}/chat/completions", json=body) as answer,
                ):
                    if answer.status in _RETRY_STATUS:
                        failure = f"HTTP {answer.status}: {(await answer.text())[:200]}"
                        continue
                    if answer.status != 200:
                        raise BackendError(
                            f"{self.base_url}: HTTP {answer.status}: {(await answer.text())[:500]}"
                        )
                    body_bytes = await answer.read()
                return _reply(body_bytes, self.base_url, stop)
            except (aiohttp.ClientError, asyncio.TimeoutError, BadReply) as error:
                # Refused or dropped connections, a redirect loop, a malformed status line,
                # a header past the client's limit, a bad body: retried, then this episode's.
                failure = f"{error.__class__.__name__}: {error}"[:500]
                continue
        raise BackendError(
            f"{self.base_url}: no answer after {self.policy.tries} tries; last: {failure}"
        )

    def count_tokens(self, text: str) -> int:
        """An estimate of the tokens of ``text``: one per 4 bytes of UTF-8, at least 1."""
        return max(1, -(-len(text.encode("utf-8")) // 4))

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _token_count(value: object) -> int:
    """A reply's completion-token count: a whole number >= 0 (JSON allows ``Infinity``).

    Raises:
        ValueError: anything else (a float that is not whole, ``Infinity``, ``NaN``, < 0).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"completion_tokens is {value!r}")
    if isinstance(value, float) and not value.is_integer():  # inf and nan are not whole
        raise ValueError(f"completion_tokens is {value!r}")
    if value < 0:
        raise ValueError(f"completion_tokens is negative: {value!r}")
    return int(value)


class BadReply(Exception):
    """A reply that is not a chat completion; retried like a transient error."""


def _reply(body: bytes, where: str, stop: Sequence[str] = ()) -> Reply:
    """Read a chat-completions reply body.

    Raises:
        BadReply: not UTF-8, not JSON, or JSON without a choice's text and a token count.
    """
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadReply(f"{where}: not a JSON body ({error}): {body[:200]!r}") from None
    try:
        choice = data["choices"][0]
        text = choice["message"]["content"] or ""
        tokens = _token_count(data["usage"]["completion_tokens"])
        if not isinstance(text, str):
            raise TypeError(f"content is {type(text).__name__}")
    except (KeyError, IndexError, TypeError, ValueError, OverflowError) as error:
        raise BadReply(
            f"{where}: not a chat-completions answer ({error!r}): {str(data)[:200]}"
        ) from None
    matched = choice.get("stop_reason")
    if isinstance(matched, str) and matched in stop and not text.endswith(matched):
        text += matched  # the server dropped the stop string: the tool call needs it
    return Reply(text, tokens, cut=choice.get("finish_reason") == "length")
