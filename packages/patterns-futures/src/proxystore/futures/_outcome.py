"""What `Future.set_exception` stores: the exception and the producer's traceback.

The record is written in place of the result. Whoever reads the key (a
consumer's `Future.result`, a proxy's factory) recognises it and raises the
exception instead of returning it, so a failed producer cannot leave its
consumers waiting until a timeout.

The record always travels with the default serializer, whatever serializer the
store or the future uses for results: a custom serializer is written for result
objects and may not handle exceptions, while any consumer can read a default
payload (the store's deserializer applies only to custom payloads).
"""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING
from typing import Any

from proxystore.connectors.protocols import DeferrableConnector
from proxystore.futures._errors import ProducerError

if TYPE_CHECKING:
    from proxystore.store import Store
    from proxystore.store.types import ConnectorKeyT

__all__ = ['Failure', 'raise_failure', 'write_failure']

_NOTE_HEADER = 'Raised by the producer of this future:\n'


class Failure:
    """A producer's exception and the text of its traceback.

    Args:
        exception: The exception (sent as is; see `write_failure`).
        traceback: The producer's formatted traceback.
    """

    __slots__ = ('exception', 'traceback')

    def __init__(self, exception: BaseException, traceback: str) -> None:
        self.exception = exception
        self.traceback = traceback

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.exception, self.traceback))


def _rebuild(exception: BaseException, text: str) -> Failure:
    # The traceback object stays in the producer's process; its text becomes a
    # note of the exception the consumer raises (shown under its own traceback).
    note = _NOTE_HEADER + text.rstrip('\n')
    if note not in getattr(exception, '__notes__', ()):
        exception.add_note(note)
    return Failure(exception, text)


def _record(exception: BaseException) -> Failure:
    text = ''.join(traceback.format_exception(exception))
    return Failure(exception, text)


def _stand_in(exception: BaseException, text: str) -> Failure:
    return Failure(
        ProducerError(type(exception).__qualname__, str(exception)),
        text,
    )


def write_failure(
    store: Store[Any],
    key: ConnectorKeyT,
    exception: BaseException,
) -> None:
    """Store a `Failure` of ``exception`` under ``key`` (a future's result key).

    An exception that does not survive pickling and unpickling here (tried
    before anything is written) is replaced by a `ProducerError` naming it.

    Raises:
        NotImplementedError: If the store's connector is not deferrable.
    """
    store._check_open()
    connector = store.connector
    if not isinstance(connector, DeferrableConnector):
        raise NotImplementedError(
            f'{type(connector).__name__} is not a DeferrableConnector.',
        )
    # The store's codec: an authenticated store binds the record to its key.
    codec = store.codec
    failure = _record(exception)
    try:
        data = codec.encode_default(failure, key=key).join()
        codec.decode(data, key=key)
    except Exception:
        stand_in = _stand_in(exception, failure.traceback)
        data = codec.encode_default(stand_in, key=key).join()
    # Store._set would use the store's custom serializer, if any; the record is
    # written with the default one (see the module's docstring).
    connector.set(key, data)
    store.cache.evict(key)


def raise_failure(failure: Failure) -> None:
    """Raise the producer's exception (without tracebacks of earlier raises)."""
    # The record may come from the store's cache: raising the same object again
    # would chain each raise's traceback onto the previous one.
    raise failure.exception.with_traceback(None)
