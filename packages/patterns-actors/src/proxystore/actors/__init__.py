"""Stateful actors hosted on any task engine, reached through mailboxes.

An `Actor` subclass holds state and marks the methods others may call with
`action`. An `ActorSystem` starts hosts on an executor (each host is one
long-running task running many actors in one event loop) and spawns actors
into them; `ActorSystem.spawn` returns an `ActorHandle`, which pickles into
tasks and other actors and calls the actor's actions from there. Calls of
one actor run one at a time in mailbox order unless an action is marked
concurrent. Mailboxes: `LocalMailbox` (one process), `RedisMailbox` (Redis
Streams; messages survive a host that dies mid-action).

The modules: `mailbox` (the `Mailbox` protocol and its implementations),
`messages` (the message format), `exceptions`, and the private ``_actor``,
``_handle``, ``_host`` and ``_system``.
"""

from __future__ import annotations

from proxystore.actors._actor import ActionInfo
from proxystore.actors._actor import Actor
from proxystore.actors._actor import action
from proxystore.actors._actor import loop
from proxystore.actors._actor import timer
from proxystore.actors._handle import ActorFuture
from proxystore.actors._handle import ActorHandle
from proxystore.actors._system import ActorSystem
from proxystore.actors.exceptions import ActionError
from proxystore.actors.exceptions import ActorError
from proxystore.actors.exceptions import ActorStoppedError
from proxystore.actors.exceptions import ActorTimeoutError
from proxystore.actors.exceptions import MailboxError
from proxystore.actors.exceptions import MessageError
from proxystore.actors.exceptions import UnknownActionError
from proxystore.actors.mailbox import LocalMailbox
from proxystore.actors.mailbox import Mailbox
from proxystore.actors.mailbox import RedisMailbox

__all__ = [
    'ActionError',
    'ActionInfo',
    'Actor',
    'ActorError',
    'ActorFuture',
    'ActorHandle',
    'ActorStoppedError',
    'ActorSystem',
    'ActorTimeoutError',
    'LocalMailbox',
    'Mailbox',
    'MailboxError',
    'MessageError',
    'RedisMailbox',
    'UnknownActionError',
    'action',
    'loop',
    'timer',
]
