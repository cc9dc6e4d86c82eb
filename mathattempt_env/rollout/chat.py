"""Chat-template markup at the token level, without re-encoding the model's own tokens.

The prompt is the chat template applied to the environment's opening messages. After a model
turn, the environment's next turns are appended as the text the template would put between
the model's content and the next generation prompt: the rest of the assistant turn's closing
markup (``"\\n"`` after a model-emitted ``<|im_end|>``, or ``"<|im_end|>\\n"`` when the turn was
cut at a length limit), then each environment turn in full, then the assistant header. That
text is found by rendering the conversation with and without the new turns and taking the
difference, so it is exact for any template that only appends (ChatML, Qwen2.5, Llama 3).

Examples:
    >>> from mathattempt_env.rollout.chat import markup_between
    >>> head = "<s>user: hi</s><s>assistant: "
    >>> before = head + "4</s>"
    >>> after = before + "<s>system: wrong</s><s>assistant: "
    >>> markup_between(head, before, after, content="4", emitted="")
    '</s><s>system: wrong</s><s>assistant: '
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from mathattempt_env.errors import ConfigError
from mathattempt_env.prompts import Message


class ChatTokenizer(Protocol):
    """What the driver needs of a tokenizer: a Hugging Face tokenizer has all of it."""

    def apply_chat_template(self, conversation: Any, **kwargs: Any) -> Any: ...  # noqa: D102

    def encode(self, text: str, **kwargs: Any) -> list[int]: ...  # noqa: D102

    def decode(self, token_ids: Any, **kwargs: Any) -> str: ...  # noqa: D102


def render(tokenizer: ChatTokenizer, messages: Sequence[Message], *, generation: bool) -> str:
    """The chat template applied to ``messages``, as text."""
    text = tokenizer.apply_chat_template(
        [dict(m) for m in messages], tokenize=False, add_generation_prompt=generation
    )
    if not isinstance(text, str):
        raise ConfigError(f"apply_chat_template(tokenize=False) returned {type(text).__name__}")
    return text


def opens_think(tokenizer: Any) -> bool:
    """Whether ``tokenizer``'s chat template opens a ``<think>`` block for the model.

    DeepSeek-R1's does: then a reply without ``</think>`` was cut mid-thought, and the envs
    take ``think="open"``. Evaluation and every training path decide it here.

    Examples:
        >>> class R1:
        ...     def apply_chat_template(self, messages, **kwargs):
        ...         return "<|User|>x<|Assistant|><think>"
        >>> opens_think(R1())
        True
    """
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": "x"}], add_generation_prompt=True, tokenize=False
    )
    return str(rendered).rstrip().endswith("<think>")


def think_of(tokenizer: Any) -> str:
    """The envs' ``think`` option for a model with this tokenizer: ``"open"`` or ``"auto"``.

    Examples:
        >>> think_of(None)
        'auto'
    """
    if tokenizer is None or not hasattr(tokenizer, "apply_chat_template"):
        return "auto"
    return "open" if opens_think(tokenizer) else "auto"


def markup_between(head: str, before: str, after: str, *, content: str, emitted: str) -> str:
    """The text to append after a model turn so that the context reads as ``after``.

    Args:
        head: the conversation before the model's turn, with the generation prompt.
        before: the conversation up to and including the model's turn.
        after: the conversation with the environment's new turns and the next generation
            prompt.
        content: the model turn's text.
        emitted: the text of the special tokens the model itself generated after its content
            (e.g. ``"<|im_end|>"``), which must not be appended again.

    Returns:
        The closing markup the model did not emit, then the new turns and the assistant header.

    Raises:
        ConfigError: if the template is not append-only, or does not show the model's text
            verbatim after the generation prompt.
    """
    if not (before.startswith(head) and after.startswith(before)):
        raise ConfigError(
            "the chat template is not append-only: rendering the conversation with more turns "
            "changed the text of earlier turns, so the token context cannot be extended"
        )
    if not before.startswith(content, len(head)):
        raise ConfigError("the chat template does not render the model's turn verbatim")
    closing = before[len(head) + len(content) :]
    if emitted and closing.startswith(emitted):
        closing = closing[len(emitted) :]
    return closing + after[len(before) :]


class TokenCounter:
    """``len`` in tokens: an env's ``length_fn`` that counts as the model's tokenizer does.

    A tool env counts its tool output toward the episode budget with its ``length_fn``; the
    trainer adapters give it one of these, so tool tokens and model tokens share one unit.

    Examples:
        >>> from experiments.tiny import tiny_tokenizer
        >>> TokenCounter(tiny_tokenizer())("\\boxed{42}") > 0
        True
    """

    def __init__(self, tokenizer: ChatTokenizer) -> None:
        self.tokenizer = tokenizer

    def __call__(self, text: str) -> int:
        """The tokens of ``text``, no special tokens added."""
        return len(self.tokenizer.encode(text, add_special_tokens=False))


class ChatMarkup:
    """Token ids for the prompt and for the environment's turns, from a tokenizer's template.

    Args:
        tokenizer: a tokenizer with a chat template.

    Examples:
        >>> from experiments.tiny import tiny_tokenizer
        >>> chat = ChatMarkup(tiny_tokenizer())
        >>> ids = chat.prompt_ids([{"role": "user", "content": "1+1?"}])
        >>> chat.tokenizer.decode(ids).split("<|im_start|>")[-2:]
        ['user\\n1+1?<|im_end|>\\n', 'assistant\\n']
    """

    def __init__(self, tokenizer: ChatTokenizer) -> None:
        self.tokenizer = tokenizer

    def prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        """The opening messages, templated, with the generation prompt."""
        return self.encode(render(self.tokenizer, messages, generation=True))

    def encode(self, text: str) -> list[int]:
        """Environment text (markup included) as token ids; special tokens are parsed."""
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def turn_text(
        self,
        history: Sequence[Message],
        content: str,
        emitted: str,
        turns: Sequence[Message],
    ) -> str:
        """The environment text (with markup) to append after a model turn.

        Args:
            history: the messages before the model's turn.
            content: the model's turn as text.
            emitted: the special-token text the model generated after its content.
            turns: the environment's new turns.
        """
        reply = [*history, {"role": "assistant", "content": content}]
        head = render(self.tokenizer, history, generation=True)
        before = render(self.tokenizer, reply, generation=False)
        after = render(self.tokenizer, [*reply, *turns], generation=True)
        return markup_between(head, before, after, content=content, emitted=emitted)

    def turn_ids(
        self,
        history: Sequence[Message],
        content: str,
        emitted: str,
        turns: Sequence[Message],
    ) -> list[int]:
        """:meth:`turn_text` as token ids."""
        return self.encode(self.turn_text(history, content, emitted, turns))


def measured_by(tokenizer: Any, options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Env options that measure length in ``tokenizer``'s tokens: ``(options, local)``.

    ``options`` gain ``length_unit="tokens"`` and the tokenizer's ``think`` (given ones win;
    ``length_unit="chars"`` or a ``length_fn`` keeps the env's own measure); ``local`` holds
    the token counter, which does not travel in an env config.

    Examples:
        >>> from experiments.tiny import tiny_tokenizer
        >>> options, local = measured_by(tiny_tokenizer(), {"attempts": 2})
        >>> options, sorted(local)
        ({'length_unit': 'tokens', 'think': 'auto', 'attempts': 2}, ['length_fn'])
    """
    if options.get("length_unit") == "chars" or "length_fn" in options:
        return {"think": think_of(tokenizer), **options}, {}
    counted = {"length_unit": "tokens", "think": think_of(tokenizer), **options}
    return counted, {"length_fn": TokenCounter(tokenizer)}
