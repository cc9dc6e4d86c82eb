"""The episode driver: any registered environment, run at the token level.

The driver templates the environment's opening messages, asks ``generate`` for the model's
tokens, decodes them for the environment, and appends the environment's turns as masked
tokens with the chat template's exact markup. The model's tokens are never re-encoded. It
owns the token budget: ``max_total_tokens`` across the attempts of an episode (the
multi-attempt paper trains with 3,000) and ``max_turn_tokens`` per turn. A turn that stops at
a limit is closed with the template's end-of-turn markup (as environment tokens) before the
next turn, or ends the episode when the budget is spent (truncation, as Gymnasium defines it).

``generate(prompt_ids)`` or ``generate(prompt_ids, max_new_tokens=n)`` returns
``(new_token_ids, logprobs_or_None)``, and may be a coroutine function. The new tokens end
with the end-of-turn token (e.g. ``<|im_end|>``) when the model stopped by itself.
"""

from __future__ import annotations

import asyncio
import bisect
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from mathattempt_env.envs.budget import Budget
from mathattempt_env.envs.surface import surface
from mathattempt_env.errors import ConfigError
from mathattempt_env.rollout.chat import ChatMarkup, ChatTokenizer, TokenCounter
from mathattempt_env.rollout.episode import ActionSpan, Episode
from mathattempt_env.rollout.loop import play_episode
from mathattempt_env.rollout.turns import Decoded, accepts, finish_turn
from mathattempt_env.types import Turn

GenerateResult = tuple[Sequence[int], Sequence[float] | None]
Generate = Callable[..., GenerateResult | Awaitable[GenerateResult]]


class _TokenPolicy:
    """The driver's side of one episode: token buffers, generation, the env's turns as tokens."""

    def __init__(self, driver: EpisodeDriver, stop: tuple[str, ...] = ()) -> None:
        self.driver = driver
        self.stop = stop
        self.history: list[dict[str, str]] = []
        self.prompt_ids: list[int] = []
        self.response: list[int] = []
        self.mask: list[int] = []
        self.logprobs: list[float] | None = []
        self.turns: list[tuple[int, int]] = []
        self.decoded: list[Decoded] = []
        self._emitted = ""

    async def turn(self, info: dict[str, Any], limit: int | None) -> Turn:
        driver = self.driver
        if not self.history:  # the opening: template the env's first messages
            self.history = list(info["messages"])
            self.prompt_ids = driver.chat.prompt_ids(self.history)
        context = self.prompt_ids + self.response
        generated, turn_logprobs = await driver._generate(context, limit, self.stop)
        turn = finish_turn(driver.tokenizer, driver._special, generated, limit, self.stop)
        ids = turn.ids
        self.turns.append((len(self.response), len(self.response) + len(ids)))
        self.decoded.append(Decoded(driver.tokenizer, ids))
        self.response += ids
        self.mask += [1] * len(ids)
        if self.logprobs is not None and turn_logprobs is not None:
            self.logprobs += [float(x) for x in list(turn_logprobs)[: len(ids)]]
        else:
            self.logprobs = None
        self._emitted = (
            driver.tokenizer.decode(ids[-1:], skip_special_tokens=False) if turn.stopped else ""
        )
        return Turn(turn.text, length=len(ids), cut=turn.cut)

    def observe(self, turn: Turn, observation: str, info: dict[str, Any], done: bool) -> None:
        if done:
            return
        if info["kind"] == "tool":  # a tool's output, inside the same assistant turn: masked
            extra = self.driver.chat.encode(observation)
            self.response += extra
            self.mask += [0] * len(extra)
            if self.logprobs is not None:
                self.logprobs += [0.0] * len(extra)
            return
        messages = info["messages"]
        extra = self.driver.chat.turn_ids(
            self.history, messages[len(self.history)]["content"], self._emitted,
            messages[len(self.history) + 1 :],
        )  # fmt: skip
        self.response += extra
        self.mask += [0] * len(extra)
        if self.logprobs is not None:
            self.logprobs += [0.0] * len(extra)
        self.history = list(messages)


class EpisodeDriver:
    """Runs episodes of a mathattempt_env environment at the token level.

    Args:
        tokenizer: a tokenizer with a chat template (a Hugging Face tokenizer).
        generate: the policy: ``generate(prompt_ids[, max_new_tokens=n])`` returning
            ``(new_token_ids, logprobs | None)``, sync or async.
        max_total_tokens: the most model tokens in one episode, across attempts (``None``:
            no limit). The multi-attempt paper trains with 3,000.
        max_turn_tokens: the most model tokens in one turn (``None``: what is left of the
            total).
        stop: strings that end a generation early, the stop string included. An env with a
            tool adds its format's stop string (``"```output"``) by itself. The env's answer
            to a tool call (its output block) is appended inside the same assistant turn as
            masked environment tokens; model tokens are never re-encoded. Tool tokens count
            toward the episode budget when the env counts them in tokens: make it with
            ``length_fn=driver.count_tokens``.

    The driver gives the environment these token limits as reset options
    (``max_total_length``, ``max_response_length``) and steps it with
    :class:`~mathattempt_env.types.Turn` actions that carry their token counts, so nothing
    is re-tokenised and nothing reaches into the environment's state.

    Examples:
        >>> import gymnasium as gym
        >>> from experiments.tiny import tiny_tokenizer
        >>> tokenizer = tiny_tokenizer()
        >>> def generate(prompt_ids, max_new_tokens):
        ...     return tokenizer.encode(r"\\boxed{0}<|im_end|>"), None
        >>> driver = EpisodeDriver(tokenizer, generate, max_total_tokens=3000)
        >>> env = gym.make("MultiAttemptMath-v0", attempts=2)
        >>> episode = driver.run(env, seed=0)
        >>> episode.attempts, episode.reward
        (2, -0.5)
        >>> (_, end), (start, _) = episode.turns
        >>> print(tokenizer.decode(episode.response_ids[end:start]))  # feedback, masked out
        <BLANKLINE>
        <|im_start|>system
        Your answer is incorrect. You have 1 attempts left. Try an alternative.<|im_end|>
        <|im_start|>assistant
        <BLANKLINE>
        >>> set(episode.response_mask[end:start]), set(episode.response_mask[start:])
        ({0}, {1})
    """

    def __init__(
        self,
        tokenizer: ChatTokenizer,
        generate: Generate,
        *,
        max_total_tokens: int | None = 3000,
        max_turn_tokens: int | None = None,
        stop: Sequence[str] = (),
    ) -> None:
        if not callable(generate):
            raise ConfigError(f"generate: expected a callable, got {generate!r}")
        self.chat = ChatMarkup(tokenizer)
        self.tokenizer = tokenizer
        self.generate = generate
        self._pass_limit = accepts(generate, "max_new_tokens")
        self._pass_stop = accepts(generate, "stop")
        self._limits = Budget(max_turn_tokens, max_total_tokens)  # validates both
        self._special = set(getattr(tokenizer, "all_special_ids", None) or ())
        self.stop = tuple(stop)
        self._count = TokenCounter(tokenizer)

    @property
    def max_total_tokens(self) -> int | None:
        """The episode's token budget across attempts."""
        return self._limits.total

    @property
    def max_turn_tokens(self) -> int | None:
        """The token budget of one turn."""
        return self._limits.per_step

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text``.

        Give it as a tool env's ``length_fn``, so the env's budget counts tool tokens as the
        driver counts model tokens.
        """
        return self._count(text)

    async def _generate(
        self, ids: list[int], limit: int | None, stop: tuple[str, ...]
    ) -> GenerateResult:
        kwargs: dict[str, Any] = {"max_new_tokens": limit} if self._pass_limit else {}
        if stop and self._pass_stop:
            kwargs["stop"] = stop
        result = self.generate(ids, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        if not (isinstance(result, tuple) and len(result) == 2):
            raise ConfigError(
                f"generate: expected a (token_ids, logprobs) tuple, got {type(result).__name__}"
            )
        return result

    async def arun(
        self, env: Any, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> Episode:
        """Run one episode (a coroutine); see :meth:`run`."""
        core = surface(env)
        policy = _TokenPolicy(self, (*self.stop, *core.stop))
        played = await play_episode(
            env,
            policy,
            seed=seed,
            options=options,
            max_total_length=self.max_total_tokens,
            max_response_length=self.max_turn_tokens,
        )
        step_rewards = [step.reward for step in played.steps]
        actions = _actions(
            played.info, policy.turns, policy.decoded, [s.actions for s in played.steps],
            step_rewards,
        )  # fmt: skip
        return Episode(
            prompt_ids=policy.prompt_ids,
            response_ids=policy.response,
            response_mask=policy.mask,
            response_logprobs=policy.logprobs,
            reward=float(sum(step_rewards)),
            step_rewards=step_rewards,
            attempts=int(played.info["attempt"]),
            turns=policy.turns,
            actions=actions,
            terminated=played.terminated,
            truncated=played.truncated,
            info=played.info,
        )

    def run(
        self, env: Any, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> Episode:
        """Run one episode of ``env`` to its end.

        Args:
            env: an environment made by ``gym.make`` (wrappers are fine) or a
                mathattempt_env class.
            seed: passed to ``env.reset``.
            options: passed to ``env.reset`` (``index``, ``problem``, ``attempts``).

        Returns:
            The :class:`~mathattempt_env.rollout.Episode`.
        """
        return asyncio.run(self.arun(env, seed=seed, options=options))

    async def arun_many(
        self,
        envs: Sequence[Any],
        *,
        seeds: Sequence[int | None] | None = None,
        options: Sequence[dict[str, Any] | None] | None = None,
    ) -> list[Episode]:
        """Run one episode in each env concurrently (a coroutine); see :meth:`run_many`."""
        seeds = list(seeds) if seeds is not None else [None] * len(envs)
        options = list(options) if options is not None else [None] * len(envs)
        if not (len(seeds) == len(options) == len(envs)):
            raise ConfigError(
                f"run_many: {len(envs)} envs, {len(seeds)} seeds and {len(options)} options"
            )
        if len({id(surface(env)) for env in envs}) != len(envs):
            raise ConfigError("run_many: each concurrent episode needs its own env instance")
        runs = [
            self.arun(env, seed=seed, options=option)
            for env, seed, option in zip(envs, seeds, options, strict=True)
        ]
        return list(await asyncio.gather(*runs))

    def run_many(
        self,
        envs: Sequence[Any],
        *,
        seeds: Sequence[int | None] | None = None,
        options: Sequence[dict[str, Any] | None] | None = None,
    ) -> list[Episode]:
        """Run one episode in each env, all concurrently.

        With an async ``generate`` (a batching generator, a vLLM or verl server), the
        episodes' generations overlap; with a sync one they take turns.

        Args:
            envs: one environment per episode (distinct instances).
            seeds: a reset seed per episode.
            options: reset options per episode.

        Returns:
            The episodes, in the order of ``envs``.
        """
        return asyncio.run(self.arun_many(envs, seeds=seeds, options=options))


def _actions(
    info: dict[str, Any],
    turns: list[tuple[int, int]],
    decoded: list[Decoded],
    records_after: list[int],
    step_rewards: list[float],
) -> list[ActionSpan]:
    """The episode's actions located in response tokens.

    An S²R trajectory holds several actions in one turn: each is located by its span. Otherwise
    each turn is one span with the reward its step paid (a tool env's call turns included), so
    a turn's end-of-turn token belongs to it.
    """
    described = info["actions"]
    if len(described) <= len(turns):
        kinds = [a["type"] for a in described] if len(described) == len(turns) else []
        return [
            ActionSpan(kinds[turn] if kinds else "solve", start, end, reward, turn)
            for turn, ((start, end), reward) in enumerate(zip(turns, step_rewards, strict=True))
        ]
    spans = []
    for number, action in enumerate(described):
        turn = bisect.bisect_right(records_after, number)
        offset, _ = turns[turn]
        first, last = action["span"]
        spans.append(
            ActionSpan(
                action["type"],
                offset + decoded[turn].token_at(first),
                offset + decoded[turn].token_at(last),
                float(action["reward"]),
                turn,
            )
        )
    return spans
