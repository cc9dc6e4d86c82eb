"""Prompt, feedback and S²R wording, as versioned data. The published strings are the defaults.

Examples:
    >>> from mathattempt_env.prompts import get_prompt
    >>> get_prompt("step-by-step").system
    'Please reason step by step, and put your final answer within \\\\boxed{}.'
"""

from mathattempt_env.prompts.published import (
    FEEDBACK,
    PROMPTS,
    STEP_BY_STEP,
    get_feedback,
    get_prompt,
)
from mathattempt_env.prompts.s2r import VERDICT_INSTRUCTION, S2RFormat
from mathattempt_env.prompts.templates import FeedbackTemplate, Message, PromptTemplate, fill
from mathattempt_env.prompts.verifier import VerifierPrompt

__all__ = [
    "FEEDBACK",
    "PROMPTS",
    "STEP_BY_STEP",
    "VERDICT_INSTRUCTION",
    "FeedbackTemplate",
    "Message",
    "PromptTemplate",
    "S2RFormat",
    "VerifierPrompt",
    "fill",
    "get_feedback",
    "get_prompt",
]
