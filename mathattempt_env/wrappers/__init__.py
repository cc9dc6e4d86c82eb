"""Wrappers around the math environments.

Examples:
    >>> from mathattempt_env.wrappers import ConversationObservation
    >>> ConversationObservation.__name__
    'ConversationObservation'
"""

from mathattempt_env.wrappers.conversation import ConversationObservation

__all__ = ["ConversationObservation"]
