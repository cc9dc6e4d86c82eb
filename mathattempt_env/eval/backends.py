"""Where replies come from: a chat backend answers a conversation with text and a token count.

- :class:`HFBackend`: a local ``transformers`` model directory, batched across episodes.
- :class:`VLLMBackend`: an offline ``vllm.LLM``, when vLLM is installed.
- :class:`~mathattempt_env.eval.openai.OpenAIBackend`: any OpenAI-compatible server.

Every backend renders the conversation with the model's chat template (or lets the server do
it), generates at most ``max_tokens`` new tokens, and says whether it stopped at that limit.
When the conversation ends with an assistant message (a tool env's turn so far, its tool
output included), the backend continues that message rather than starting a new one, and it
stops at ``stop`` strings (a tool call's ``"```output"``), which the reply keeps at its end.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mathattempt_env.errors import MathAttemptError
from mathattempt_env.prompts import Message
from mathattempt_env.rollout.batching import Batcher, BatchResult
from mathattempt_env.rollout.chat import TokenCounter, opens_think, render
from mathattempt_env.rollout.turns import finish_turn


class BackendError(MathAttemptError, RuntimeError):
    """A backend cannot be built or cannot be reached (bad path, refused connection, ...)."""


@dataclass(frozen=True)
class Reply:
    """One generated turn.

    Attributes:
        text: the reply text.
        tokens: how many tokens the model generated for it.
        cut: generation stopped at ``max_tokens`` rather than at the end of the turn.

    Examples:
        >>> Reply("\\\\boxed{4}", 5, False).tokens
        5
    """

    text: str
    tokens: int
    cut: bool


class ChatBackend(Protocol):
    """Anything that answers a conversation; ``name`` identifies the model in results."""

    name: str

    async def chat(
        self, messages: list[Message], max_tokens: int, stop: Sequence[str] = ()
    ) -> Reply:
        """Generate the next assistant turn of ``messages``, at most ``max_tokens`` tokens.

        When ``messages`` ends with an assistant message, continue it. Stop after any of
        ``stop`` (the reply ends with it). Only tool envs pass ``stop`` or end with an
        assistant message; a backend for the other envs may ignore both.
        """
        ...

    async def aclose(self) -> None:
        """Release connections or memory."""
        ...


def _local_model_dir(path: str) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise BackendError(f"--model: {path!r} is not a directory; expected a local model folder")
    if not (folder / "config.json").is_file():
        raise BackendError(f"--model: {str(folder)!r} has no config.json; not a model folder")
    return folder


class _TemplatedBackend:
    """Shared by the local backends: chat template -> token ids -> batched generation."""

    name: str
    tokenizer: Any
    batcher: Batcher

    async def chat(
        self, messages: list[Message], max_tokens: int, stop: Sequence[str] = ()
    ) -> Reply:
        """Generate the next assistant turn; see :class:`ChatBackend`."""
        ids = self.tokenizer.encode(self.render(messages), add_special_tokens=False)
        new, _ = await self.batcher(list(ids), max_tokens, tuple(stop))
        turn = finish_turn(self.tokenizer, self._special, new, max_tokens, stop)
        return Reply(turn.text, len(turn.ids), cut=turn.cut)

    def render(self, messages: list[Message]) -> str:
        """The prompt text: a new assistant turn, or the last assistant message continued.

        A template may close the last message in its own way (``<|im_end|>``, or by
        dropping a trailing newline), so the continued text is found by rendering the
        conversation with a marker appended to the message and cutting there.
        """
        if not messages or messages[-1]["role"] != "assistant":
            return render(self.tokenizer, messages, generation=True)
        marker = "\u2063\u2063mathattempt-continue\u2063\u2063"
        *earlier, last = messages
        marked = [*earlier, {**last, "content": last["content"] + marker}]
        text = render(self.tokenizer, marked, generation=False)
        if marker not in text:
            raise BackendError("the chat template does not show the assistant's message")
        return text[: text.index(marker)]

    @functools.cached_property
    def count_tokens(self) -> TokenCounter:
        """Counts tokens in this model's tokenizer (a tool output's share of the budget)."""
        return TokenCounter(self.tokenizer)

    @functools.cached_property
    def opens_think(self) -> bool:
        """Whether the chat template opens a ``<think>`` block for the model.

        DeepSeek-R1's does; then a reply without ``</think>`` was cut mid-thought.
        """
        return opens_think(self.tokenizer)

    @functools.cached_property
    def _special(self) -> set[int]:
        return set(self.tokenizer.all_special_ids)

    async def aclose(self) -> None:
        """Nothing to release."""


class HFBackend(_TemplatedBackend):
    """A local ``transformers`` causal LM; concurrent episodes are batched together.

    Args:
        path: a model directory (``config.json``, weights, tokenizer with a chat template).
        temperature: 0 for greedy decoding.
        batch_size: the most prompts per ``generate`` call.
        seed: seeds sampling (unused when greedy).
        device: ``"cuda"``, ``"cpu"``, ... (default: CUDA when available).
    """

    def __init__(
        self,
        path: str,
        *,
        temperature: float = 0.0,
        batch_size: int = 32,
        seed: int = 0,
        device: str | None = None,
    ) -> None:
        folder = _local_model_dir(path)
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from mathattempt_env.rollout.hf import HFGenerator

        self.name = str(folder)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        # The eval has its own progress bar; the weight-loading bars would only add noise.
        was_enabled = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            model = AutoModelForCausalLM.from_pretrained(folder, dtype="auto").to(device)
        finally:
            if was_enabled:
                hf_logging.enable_progress_bar()
        model.eval()
        self.batcher = HFGenerator(
            model, self.tokenizer, temperature=temperature, seed=seed, max_batch=batch_size
        )


class VLLMBackend(_TemplatedBackend):
    """An offline ``vllm.LLM``; concurrent episodes are gathered into one ``generate`` call.

    Args:
        path: a model directory or hub id that vLLM can load.
        temperature: 0 for greedy decoding.
        batch_size: the most prompts per ``generate`` call.
        seed: vLLM's sampling seed.
    """

    def __init__(
        self, path: str, *, temperature: float = 0.0, batch_size: int = 256, seed: int = 0
    ) -> None:
        try:
            import vllm
        except ModuleNotFoundError as error:
            raise BackendError(
                "--backend vllm: vLLM is not installed (pip install vllm, on a CUDA machine)"
            ) from error
        self.name = path
        self._vllm = vllm
        self.llm = vllm.LLM(model=path, seed=seed)
        self.tokenizer = self.llm.get_tokenizer()
        self.temperature = temperature
        self.batcher = Batcher(self._generate_batch, max_batch=batch_size)

    def _generate_batch(
        self, prompts: list[list[int]], max_new_tokens: int | None, stop: Sequence[str] = ()
    ) -> BatchResult:
        params = self._vllm.SamplingParams(
            temperature=self.temperature, max_tokens=max_new_tokens, stop=list(stop) or None,
            include_stop_str_in_output=True,
        )  # fmt: skip
        outputs = self.llm.generate(
            [{"prompt_token_ids": ids} for ids in prompts], params, use_tqdm=False
        )
        return [(list(out.outputs[0].token_ids), None) for out in outputs]
