"""Errors of the futures pattern."""

from __future__ import annotations

from typing import Any

from proxystore.store.exceptions import ProxyResolveMissingKeyError

__all__ = ['FutureTimeoutError', 'ProducerError']


class FutureTimeoutError(TimeoutError, ProxyResolveMissingKeyError):
    """The result of a future was not set within the time allowed.

    A `TimeoutError`, and, for code written for ProxyStore 1.x (whose polling
    factory raised it on ``polling_timeout``), a
    `proxystore.store.exceptions.ProxyResolveMissingKeyError`.

    Args:
        key: Key of the future's result.
        store_type: Type of the future's store.
        store_name: Name of the future's store.
        timeout: Seconds waited.
    """

    # OSError's constructor reads positional arguments as (errno, strerror,
    # filename): build the instance without them and set the message here.
    def __new__(cls, *args: Any, **kwargs: Any) -> FutureTimeoutError:
        return TimeoutError.__new__(cls)

    def __init__(
        self,
        key: Any,
        store_type: type[Any],
        store_name: str,
        timeout: float,
    ) -> None:
        self.key = key
        self.store_type = store_type
        self.store_name = store_name
        self.timeout = timeout
        Exception.__init__(
            self,
            f'No result was set for the future with key={key!r} in '
            f"{store_type.__name__}(name='{store_name}') after waiting "
            f'{timeout:g} s.',
        )

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (self.key, self.store_type, self.store_name, self.timeout),
        )


class ProducerError(Exception):
    """Stands in for a producer's exception that could not be sent.

    `Future.set_exception` sends the exception itself when it can be pickled
    and unpickled again; otherwise (a class defined in a function, arguments
    its constructor does not accept back) the consumer gets this error, which
    names the original type and repeats its message. The producer's traceback
    is attached as a note either way.

    Args:
        type_name: Qualified name of the original exception's type.
        message: ``str()`` of the original exception.
    """

    def __init__(self, type_name: str, message: str) -> None:
        self.type_name = type_name
        self.message = message
        super().__init__(f'{type_name}: {message}')

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.type_name, self.message))
