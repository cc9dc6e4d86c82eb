"""A tiny Qwen2-architecture model and a Qwen2.5-style tokenizer, built locally in seconds.

No model hub is needed: the tokenizer is a byte-level BPE trained by ``tokenizers`` on the
built-in problems and the published prompts, with the ChatML special tokens and a chat
template that produces Qwen2.5's markup; the model is a randomly initialised
``Qwen2ForCausalLM``. Tests, the examples and the benchmarks use them to run the real trainer
code paths on a CPU. Needs ``transformers`` and ``tokenizers`` (the ``trl`` extra).

Examples:
    >>> tokenizer = tiny_tokenizer()
    >>> tokenizer.eos_token, tokenizer.pad_token, tokenizer.padding_side
    ('<|im_end|>', '<|endoftext|>', 'left')
    >>> ids = tokenizer.encode(r"\\boxed{42}")
    >>> tokenizer.decode(ids)
    '\\\\boxed{42}'
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from mathattempt_env.prompts import Message
from mathattempt_env.types import Problem

#: The ChatML special tokens of Qwen2.5, in Qwen's order.
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
#: Qwen2.5's default system prompt, used when a conversation has none.
QWEN_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
#: A chat template with Qwen2.5's markup (tools left out).
CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\n" + QWEN_SYSTEM + "<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}"
)


def _corpus(count: int) -> list[str]:
    from mathattempt_env.data.builtin import BuiltinProblems
    from mathattempt_env.prompts import FEEDBACK, PROMPTS, S2RFormat

    texts = [
        f"{p.problem} The answer is \\boxed{{{p.answer}}}." for p in BuiltinProblems(0)[:count]
    ]
    for template in PROMPTS.values():
        texts += [template.system, template.user]
    texts += [template.text for template in FEEDBACK.values()]
    fmt = S2RFormat()
    texts += [fmt.system, fmt.verify_start, fmt.retry_start, fmt.verify_request, fmt.retry_request]
    texts += [
        "Therefore, the answer is correct.",
        "Therefore, the answer is incorrect.",
        QWEN_SYSTEM,
    ]
    return texts


@functools.lru_cache(maxsize=4)
def _vocab_and_merges(vocab_size: int) -> tuple[dict[str, int], list[tuple[str, str]]]:
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers.models.qwen2 import Qwen2Tokenizer

    # Trained behind the normalizer and pre-tokenizer Qwen2Tokenizer itself builds (Qwen2.5's:
    # NFC, one token per digit), so the merges are ones it can use.
    bpe = Tokenizer(models.BPE())
    pipeline = Qwen2Tokenizer().backend_tokenizer
    bpe.normalizer, bpe.pre_tokenizer = pipeline.normalizer, pipeline.pre_tokenizer
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_corpus(2000), trainer=trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [m.split(" ", 1) if isinstance(m, str) else m for m in model["merges"]]
    return dict(model["vocab"]), [(str(a), str(b)) for a, b in merges]


def tiny_tokenizer(vocab_size: int = 1024) -> Any:
    """A byte-level BPE tokenizer with Qwen2.5's special tokens, pre-tokenizer and chat markup.

    It is a ``Qwen2Tokenizer``, so that the copy ``AutoTokenizer.from_pretrained`` loads back
    from a saved model folder (which transformers builds as a ``Qwen2Tokenizer`` for a Qwen2
    model) tokenizes exactly as this one does: digits one token each, as in Qwen2.5.

    Args:
        vocab_size: the most BPE tokens (special tokens included); training stops sooner when
            the corpus has no more merges (792 tokens for the default 1024).

    Returns:
        A ``transformers`` fast tokenizer: eos ``<|im_end|>``, pad ``<|endoftext|>``, left
        padding, and a chat template.

    Examples:
        >>> tokenizer = tiny_tokenizer()
        >>> tokenizer.tokenize("Your answer 37 is incorrect.")[:5]
        ['Your', 'Ġanswer', 'Ġ', '3', '7']
    """
    from transformers.models.qwen2 import Qwen2Tokenizer

    vocab, merges = _vocab_and_merges(vocab_size)
    tokenizer = Qwen2Tokenizer(
        vocab=dict(vocab),
        merges=list(merges),
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=["<|im_start|>"],
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_qwen2(
    tokenizer: Any | None = None,
    *,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    intermediate_size: int | None = None,
    seed: int = 0,
) -> tuple[Any, Any]:
    """A randomly initialised ``Qwen2ForCausalLM`` and its tokenizer.

    Args:
        tokenizer: a tokenizer (default :func:`tiny_tokenizer`); the vocabulary matches it.
        hidden_size: the model width.
        layers: the number of decoder layers.
        heads: attention heads.
        kv_heads: key/value heads (grouped-query attention, as in Qwen2.5).
        intermediate_size: the MLP width (default ``4 * hidden_size``).
        seed: the initialisation seed (a local ``torch.Generator`` state; the global RNG is
            restored afterwards).

    Returns:
        ``(model, tokenizer)``; the model's generation config stops at ``<|im_end|>``.

    Examples:
        >>> model, tokenizer = tiny_qwen2()
        >>> model.config.model_type, model.config.vocab_size == len(tokenizer)
        ('qwen2', True)
    """
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = tokenizer if tokenizer is not None else tiny_tokenizer()
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size or 4 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=32768,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,  # None, as in Qwen2.5's tokenizer
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def padded_batch(rows: Sequence[tuple[list[int], list[int]]], pad: int) -> tuple[Any, Any, Any]:
    """Right-padded ``input_ids``, ``labels`` (-100 where the mask is 0) and attention mask.

    Args:
        rows: ``(token_ids, loss_mask)`` per sequence; the loss covers tokens where the
            mask is 1.
        pad: the padding token id.

    Examples:
        >>> ids, labels, attention = padded_batch([([5, 6, 7], [0, 1, 1]), ([8], [1])], 0)
        >>> ids.tolist(), labels.tolist(), attention.tolist()
        ([[5, 6, 7], [8, 0, 0]], [[-100, 6, 7], [8, -100, -100]], [[1, 1, 1], [1, 0, 0]])
    """
    import torch

    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad)
    labels = torch.full((len(rows), width), -100)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for row, (sequence, mask) in enumerate(rows):
        tokens = torch.tensor(sequence)
        ids[row, : len(sequence)] = tokens
        attention[row, : len(sequence)] = 1
        labels[row, : len(sequence)] = torch.where(
            torch.tensor(mask, dtype=torch.bool), tokens, -100
        )
    return ids, labels, attention


def teach_format(
    model: Any,
    tokenizer: Any,
    problems: Sequence[Problem],
    *,
    steps: int = 60,
    learning_rate: float = 3e-3,
    messages: Callable[[Problem], list[Message]] | None = None,
    answer: Callable[[Problem], str] | None = None,
) -> list[float]:
    """A short supervised warm-up that teaches a tiny model to answer in ``\\boxed{}``.

    A random model never writes a box, so every episode earns the same reward and RL has
    nothing to learn from. This fits it for a few steps on built-in problems answered as
    ``"The answer is \\boxed{gold}."`` (loss on the answer tokens only), the way real runs
    start RL from a model that already follows the format. Afterwards some episodes are
    right, some boxed but wrong, some unformatted.

    Args:
        model: the model to train in place.
        tokenizer: its tokenizer.
        problems: the problems to fit (e.g. ``BuiltinProblems(0, size=64, levels=(1,))``).
        steps: optimiser steps (full batch; no sampling, so the global torch RNG is not used).
        learning_rate: AdamW learning rate.
        messages: the opening messages of a problem (default: the step-by-step system
            prompt and the problem as the user turn); use the env's prompt to match it.
        answer: the target reply of a problem (default: ``"The answer is \\boxed{gold}."``),
            e.g. a trace that calls the Python tool.

    Returns:
        The loss at each step.
    """
    import torch

    from mathattempt_env.prompts import STEP_BY_STEP

    rows = []
    for problem in problems:
        opening = (
            messages(problem)
            if messages is not None
            else [
                {"role": "system", "content": STEP_BY_STEP},
                {"role": "user", "content": problem.problem},
            ]
        )
        prompt = tokenizer.apply_chat_template(opening, tokenize=False, add_generation_prompt=True)
        prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
        target = (
            answer(problem) if answer is not None else f"The answer is \\boxed{{{problem.answer}}}."
        )
        answer_ids = tokenizer.encode(f"{target}<|im_end|>", add_special_tokens=False)
        rows.append((prompt_ids + answer_ids, [0] * len(prompt_ids) + [1] * len(answer_ids)))
    ids, labels, attention = padded_batch(rows, tokenizer.pad_token_id)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.0)
    model.train()
    losses = []
    for _ in range(steps):
        loss = model(input_ids=ids, attention_mask=attention, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses
