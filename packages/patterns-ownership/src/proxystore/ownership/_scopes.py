"""Lending borrows to tasks: released when the task's future completes."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any
from typing import Protocol
from typing import TypeVar
from typing import runtime_checkable

from proxystore.ownership._proxies import _Borrow

__all__ = ['FutureWithCallback', 'mark_refs_out_of_scope', 'submit']


@runtime_checkable
class FutureWithCallback(Protocol):
    """A future that calls back when done (`concurrent.futures`, Dask)."""

    def add_done_callback(self, callback: Callable[[Any], Any], /) -> Any:
        """Call ``callback(future)`` once the future is done."""
        ...


FutureT = TypeVar('FutureT', bound=FutureWithCallback)


def mark_refs_out_of_scope(*refs: Any) -> None:
    """Release borrows: their owners no longer count them; they become invalid.

    Borrows already released, and objects that are not borrows, are skipped.
    """
    for ref in refs:
        # type(), never isinstance(): isinstance would resolve a plain proxy.
        if issubclass(type(ref), _Borrow):
            ref._release()


def _borrows(values: Iterable[Any]) -> list[_Borrow[Any]]:
    return [v for v in values if issubclass(type(v), _Borrow)]


def submit(
    submit_func: Callable[..., FutureT],
    *,
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
    register_custom_refs: Iterable[Any] = (),
) -> FutureT:
    """Submit a task and release the borrows it was lent when it completes.

    Borrows among ``args`` and the values of ``kwargs`` (and any given in
    ``register_custom_refs``, e.g. inside containers) stay counted by their
    owners until the returned future is done, whether the task succeeds or
    fails. Owned proxies among the arguments move to the task on engines that
    pickle arguments (processes, Dask); on a thread pool they are shared.

    Example:
        ```python
        from concurrent.futures import ThreadPoolExecutor

        from proxystore.connectors.local import LocalConnector
        from proxystore.ownership import borrow, submit
        from proxystore.store import Store

        with Store('scopes-example', LocalConnector()) as store:
            data = store.owned_proxy([1, 2, 3])
            with ThreadPoolExecutor(1) as pool:
                future = submit(pool.submit, args=(sum, borrow(data)))
                assert future.result() == 6
        ```

    Args:
        submit_func: The engine's submit (``executor.submit``, ``client.submit``).
        args: Positional arguments of ``submit_func``.
        kwargs: Keyword arguments of ``submit_func``.
        register_custom_refs: More borrows to release when the task is done.

    Returns:
        The future ``submit_func`` returned.
    """
    kwargs = {} if kwargs is None else dict(kwargs)
    refs = _borrows([*args, *kwargs.values(), *register_custom_refs])
    try:
        future = submit_func(*args, **kwargs)
    except BaseException:
        mark_refs_out_of_scope(*refs)  # the task will never run
        raise
    if refs:
        future.add_done_callback(lambda _: mark_refs_out_of_scope(*refs))
    return future
