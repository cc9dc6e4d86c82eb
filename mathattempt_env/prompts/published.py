r"""The published prompt and feedback strings, and the registries that name them.

The multi-attempt strings are those of Chung, Du and Fu (2025); the S²R system prompt is that of
Ma et al. (2025), the usual Qwen2.5-Math instruction. The ``none`` and ``answer`` feedback
levels are this package's own, for ablations, as is ``critique`` (a verifier's review, for the
solver-verifier game).

Examples:
    >>> get_feedback("binary").messages(attempts_left=2, answer="5", question="Q")[0]["content"]
    'Your answer is incorrect. You have 2 attempts left. Try an alternative.'
"""

from __future__ import annotations

from mathattempt_env.errors import lookup
from mathattempt_env.prompts.templates import FeedbackTemplate, PromptTemplate
from mathattempt_env.prompts.tools import TOOL_PROMPTS

STEP_BY_STEP = r"Please reason step by step, and put your final answer within \boxed{}."

PROMPTS: dict[str, PromptTemplate] = {
    "multi-attempt": PromptTemplate(
        "multi-attempt",
        STEP_BY_STEP + " You have {N} attempts to answer the questions, and you should provide"
        " the full reasoning steps in each attempt.",
    ),
    "repeat-question": PromptTemplate(
        "repeat-question",
        STEP_BY_STEP + " You have {N} attempts to answer the question.",
        feedback="repeat-question",
    ),
    "step-by-step": PromptTemplate("step-by-step", STEP_BY_STEP),
    **TOOL_PROMPTS,
}

FEEDBACK: dict[str, FeedbackTemplate] = {
    "binary": FeedbackTemplate(
        "binary", "Your answer is incorrect. You have {N_left} attempts left. Try an alternative."
    ),
    "repeat-question": FeedbackTemplate(
        "repeat-question",
        "Your answer is incorrect. Try an alternative. You have {N_left} attempts to answer the"
        " question.",
        repeat_question=True,
    ),
    "none": FeedbackTemplate("none", "You have {N_left} attempts left. Try an alternative."),
    "answer": FeedbackTemplate(
        "answer",
        "Your answer {answer} is incorrect. You have {N_left} attempts left. Try an alternative.",
        no_answer_text=r"No final answer in \boxed{} was found. You have {N_left} attempts left."
        " Try an alternative.",
    ),
    "critique": FeedbackTemplate(
        "critique",
        "A verifier checked your answer and did not accept it. Its review:\n\n{critique}\n\n"
        "You have {N_left} attempts left. Try an alternative.",
        role="user",
    ),
}


def get_prompt(prompt: str | PromptTemplate) -> PromptTemplate:
    """Look up a prompt template by name, or pass a template object through.

    Examples:
        >>> get_prompt("multi-attempt").messages("Q", attempts=3)[0]["content"][-60:]
        'you should provide the full reasoning steps in each attempt.'
    """
    return lookup("prompt template", prompt, PROMPTS, PromptTemplate)


def get_feedback(feedback: str | FeedbackTemplate) -> FeedbackTemplate:
    """Look up a feedback template by name, or pass a template object through.

    Examples:
        >>> get_feedback("none").role
        'system'
    """
    return lookup("feedback template", feedback, FEEDBACK, FeedbackTemplate)
