"""Errors of the actors pattern.

Every error is an `ActorError`; the timeouts are also `TimeoutError`s and the
errors of bad input also `ValueError`s or `TypeError`s, so callers that catch
the builtin classes keep working.
"""

from __future__ import annotations

__all__ = [
    'ActionError',
    'ActorError',
    'ActorStoppedError',
    'ActorTimeoutError',
    'MailboxError',
    'MessageError',
    'UnknownActionError',
]


class ActorError(Exception):
    """Base class of the actors pattern's errors."""


class ActionError(ActorError):
    """An action raised: the actor's exception is the ``__cause__``.

    Attributes:
        actor: The actor's name.
        action: The action's name.
        remote_traceback: The traceback where the action ran, as text.
    """

    def __init__(
        self, actor: str, action: str, message: str, remote_traceback: str = ''
    ) -> None:
        super().__init__(f'Action {action!r} of actor {actor!r} raised: {message}')
        self.actor = actor
        self.action = action
        self.remote_traceback = remote_traceback


class UnknownActionError(ActorError, AttributeError):
    """The actor has no action of that name."""


class ActorStoppedError(ActorError):
    """The actor is stopped (or was never started): it takes no more calls."""


class ActorTimeoutError(ActorError, TimeoutError):
    """No answer within the call's timeout."""


class MailboxError(ActorError):
    """A mailbox could not send or receive (its server is gone, the address unknown)."""


class MessageError(ActorError, ValueError):
    """A message is malformed, too large, forged, or of an unknown version."""
