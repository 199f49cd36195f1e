"""Owned and borrowed proxies.

`OwnedProxy` owns its object: when it is garbage collected (or the interpreter
exits) the object is evicted from its store. `RefProxy` and `RefMutProxy` borrow
it from the owner, immutably (any number) or mutably (one, and nothing else).

Pickling one of these proxies *moves* it: the unpickled copy is the reference
from then on and the original refuses every use (`ReferenceInvalidError`). A moved
owner owns its object in the process that unpickled it; a moved borrow stays
counted by its owner until it is released (see `proxystore.ownership.submit`).
"""

from __future__ import annotations

import enum
import logging
import os
import sys
import warnings
import weakref
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING
from typing import Any
from typing import NoReturn
from typing import TypeVar

from proxystore.ownership._errors import OwnershipWarning
from proxystore.ownership._errors import ReferenceInvalidError
from proxystore.ownership._errors import ReferenceMovedError
from proxystore.ownership._record import Record
from proxystore.proxy import DefaultClassType
from proxystore.proxy import DefaultHashType
from proxystore.proxy import FactoryType
from proxystore.proxy import Proxy
from proxystore.store.utils import get_factory_of_store_proxy

if TYPE_CHECKING:
    from proxystore.store.lifetimes import Lifetime

__all__ = ['BaseRefProxy', 'OwnedProxy', 'RefMutProxy', 'RefProxy']

T = TypeVar('T')

logger = logging.getLogger(__name__)


class Status(enum.Enum):
    """Why a reference may or may not be used."""

    VALID = 'valid'
    MOVED = 'moved'
    RELEASED = 'released'
    DROPPED = 'dropped'
    REFUSED = 'refused'


_WHY = {
    Status.MOVED: (
        'it was moved: pickled (sent to another process or task), whose copy is '
        'now the reference. Use clone() to keep a copy of your own, or lend it '
        'with borrow().'
    ),
    Status.RELEASED: (
        'the borrow was released: the task it was lent to is done (or '
        'mark_refs_out_of_scope() was called).'
    ),
    Status.DROPPED: 'its object was dropped: drop() evicted it from its store.',
    Status.REFUSED: (
        'it is a second copy of a reference that was already moved to another '
        'task, refused so that it never becomes a second owner (or an uncounted '
        'borrower). Keep the owner and lend each task borrow(owner) (submit() '
        'releases it when the task is done), or give each task its own copy '
        'with clone(owner).'
    ),
}

_get = object.__getattribute__
_set = object.__setattr__
# The proxy base's own __class__ (C or Python implementation).
_CLASS: Any = next(
    k.__dict__['__class__'] for k in Proxy.__mro__ if '__class__' in k.__dict__
)


class BaseRefProxy(Proxy[T]):
    """A proxy that follows the ownership rules (base class).

    Every use of an invalid reference raises `ReferenceInvalidError`, which says
    why it is invalid. Copies are refused (use `clone`), and pickling moves the
    reference.
    """

    __slots__ = ('__proxy_moved_to__', '__proxy_record__', '__proxy_status__')
    __module__ = 'proxystore.ownership'

    def __init__(
        self,
        factory: FactoryType[T],
        *,
        cache_defaults: bool = False,
        target: T | None = None,
    ) -> None:
        _set(self, '__proxy_status__', Status.VALID)
        _set(self, '__proxy_record__', None)
        _set(self, '__proxy_moved_to__', None)
        super().__init__(factory, cache_defaults=cache_defaults, target=target)

    @property
    def __proxy_valid__(self) -> bool:
        """Whether the reference may be used (ProxyStore 1.x name)."""
        return _get(self, '__proxy_status__') is Status.VALID and not self._lapsed()

    def _lapsed(self) -> bool:
        record: Record | None = _get(self, '__proxy_record__')
        lifetime = None if record is None else record.lifetime
        return lifetime is not None and lifetime.done()

    def _invalid(self) -> NoReturn:
        status = _get(self, '__proxy_status__')
        if status is Status.VALID:
            why = 'the lifetime of its object ended, which evicted it.'
        else:
            why = _WHY[status]
        if status is Status.REFUSED:
            raise ReferenceMovedError(f'This reference is invalid: {why}')
        raise ReferenceInvalidError(f'This {type(self).__name__} is invalid: {why}')

    @property
    def __proxy_wrapped__(self) -> T:
        if _get(self, '__proxy_status__') is not Status.VALID or self._lapsed():
            self._invalid()
        return super().__proxy_wrapped__

    @__proxy_wrapped__.setter
    def __proxy_wrapped__(self, value: T) -> None:
        Proxy.__proxy_wrapped__.__set__(self, value)  # type: ignore[attr-defined]

    @__proxy_wrapped__.deleter
    def __proxy_wrapped__(self) -> None:
        Proxy.__proxy_wrapped__.__delete__(self)  # type: ignore[attr-defined]

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        # An invalid reference still answers isinstance() (pickling machinery
        # and engines ask it of everything): from the class it had, else its own.
        if _get(self, '__proxy_status__') is not Status.VALID or self._lapsed():
            default = self.__proxy_default_class__
            return default if default is not None else type(self)
        return _CLASS.__get__(self, type(self))  # type: ignore[no-any-return]

    @property
    def __dask_future__(self) -> bool:
        # Dask's client asks it of every argument it is given: an invalid
        # reference (moved by an earlier submit) answers from its class, so the
        # task is submitted and the reference refuses use only where it is used.
        if not self.__proxy_valid__:
            default = self.__proxy_default_class__
            return bool(getattr(default, '__dask_future__', False))
        return bool(super().__dask_future__)

    def __repr__(self) -> str:
        if self.__proxy_valid__:
            return super().__repr__()
        status = _get(self, '__proxy_status__')
        why = 'lifetime ended' if status is Status.VALID else status.value
        return f'<{type(self).__name__} at {id(self):#x} ({why})>'

    def __copy__(self) -> NoReturn:
        raise NotImplementedError(
            f'A {type(self).__name__} cannot be copied: use clone() for an owned '
            'copy of the object, or borrow() to lend it.',
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> NoReturn:
        self.__copy__()

    def __dask_tokenize__(self) -> tuple[str, str]:
        # Each reference is its own argument: Dask must never merge two tasks
        # because they borrow the same object (an id() could be reused).
        return (type(self).__name__, os.urandom(16).hex())

    def _move(self) -> None:
        """Mark this reference moved (it is being pickled)."""
        if _get(self, '__proxy_status__') is not Status.VALID:
            self._invalid()
        _set(self, '__proxy_status__', Status.MOVED)

    def __reduce__(self) -> tuple[Any, ...]:
        if _get(self, '__proxy_status__') is Status.REFUSED:
            # A refused copy owns nothing: it may travel on (Dask's scheduler
            # sends what a client sent it), and refuses use wherever it lands.
            return (_rebuild_refused, self._reduce_args())
        moved_to: _Move | None = _get(self, '__proxy_moved_to__')
        if moved_to is not None:
            # Pickled again after its move. Dask does that to the same task
            # (pickle, then cloudpickle for functions of __main__ or lambdas,
            # in one serialization; a resend after a worker died): the same
            # payload is given again. Anything else (a second task, another
            # pickle.dumps) would make a second owner: refused.
            dask_object = _dask_pass()
            if moved_to.same_pass(dask_object):
                return moved_to.reduced
            if dask_object is not None:
                # Another Dask task (client.map over one owner: the scheduler
                # sends the graph's one copy to each task). Raising here would
                # break Dask's connection and hang every task: this task gets
                # a reference that raises ReferenceMovedError when used.
                logger.warning('%s', self._moved_again())
                return (_rebuild_refused, moved_to.reduced[1])
            raise self._moved_again()
        reduced = (_rebuild, self._reduce_args())
        self._move()
        _set(self, '__proxy_moved_to__', _Move(reduced, _dask_pass()))
        return reduced

    def _reduce_args(self) -> tuple[Any, ...]:
        return (
            _KINDS.get(type(self), 'refused'),
            self.__proxy_factory__,
            self.__proxy_default_class__,
            self.__proxy_default_hash__,
        )

    def _moved_again(self) -> ReferenceMovedError:
        kind = type(self).__name__
        holder = 'owner' if kind == 'OwnedProxy' else 'borrower'
        key = get_factory_of_store_proxy(self).key
        return ReferenceMovedError(
            f'This {kind} was already moved (pickled for another process or '
            f'task); pickling it again would make a second {holder} of key '
            f'{key!r}, and the first to finish would evict '
            'the object while the other still uses it. Keep the owner and lend '
            'each task borrow(owner) (submit() releases it when the task is '
            'done), or give each task its own copy with clone(owner).',
        )


class _Move:
    """The payload of a reference's move, and the Dask pass that made it.

    Args:
        reduced: What ``__reduce__`` returned for the move.
        dask_object: The object Dask's ``dumps`` was pickling, if any.
    """

    __slots__ = ('_pass', 'reduced')

    def __init__(self, reduced: tuple[Any, ...], dask_object: Any) -> None:
        self.reduced = reduced
        self._pass: Callable[[], Any] | None = None
        if dask_object is not None:
            try:
                self._pass = weakref.ref(dask_object)
            except TypeError:
                # Kept alive instead: its id cannot be reused by another object.
                self._pass = lambda: dask_object

    def same_pass(self, dask_object: Any) -> bool:
        """Whether ``dask_object`` is the object the move was made for."""
        return (
            dask_object is not None
            and self._pass is not None
            and self._pass() is dask_object
        )


def _dask_pass() -> Any:
    """The object Dask's ``distributed.protocol.pickle.dumps`` pickles now, if any.

    Dask pickles one object (a task, a graph, a message) up to three times in
    one ``dumps`` (pickle; its own pickler; cloudpickle), keeping the last, and
    the scheduler pickles the same task again to resend it after a worker died.
    """
    module = sys.modules.get('distributed.protocol.pickle')
    code = getattr(getattr(module, 'dumps', None), '__code__', None)
    if code is None:
        return None
    frame: FrameType | None = sys._getframe(1)
    try:
        while frame is not None:
            if frame.f_code is code:
                return frame.f_locals.get('x')
            frame = frame.f_back
        return None
    finally:
        del frame


class OwnedProxy(BaseRefProxy[T]):
    """The owner of a stored object: its object is evicted when it goes away.

    Make one with `Store.owned_proxy` or `into_owned`. When the owner is garbage
    collected, or the interpreter exits, its object is evicted from the store;
    if borrows are outstanding then, eviction waits for the last to be released.
    Pickling moves the owner (the receiving process owns the object from then
    on); an owner cannot move while it is borrowed.

    Args:
        factory: A `StoreFactory` of the object (with ``evict=False``).
        cache_defaults: Remember the target's class and hash (with ``target``).
        target: The object, if at hand.
        lifetime: A lifetime that also bounds the object: once it ends, the
            owner is invalid.

    Raises:
        ProxyStoreFactoryError: If the factory is not a store factory.
        ValueError: If the object already has an owner in this process.
    """

    __slots__ = ('__proxy_finalizer__',)
    __module__ = 'proxystore.ownership'

    def __init__(
        self,
        factory: FactoryType[T],
        *,
        cache_defaults: bool = False,
        target: T | None = None,
        lifetime: Lifetime | None = None,
    ) -> None:
        super().__init__(factory, cache_defaults=cache_defaults, target=target)
        self._own(Record(get_factory_of_store_proxy(self), lifetime))

    def _own(self, record: Record) -> None:
        record.owner = weakref.ref(self)
        _set(self, '__proxy_record__', record)
        _set(self, '__proxy_finalizer__', weakref.finalize(self, record.owner_gone))

    @property
    def __proxy_ref_count__(self) -> int:
        """Number of immutable borrows outstanding (ProxyStore 1.x name)."""
        return self._record().shared

    @property
    def __proxy_ref_mut_count__(self) -> int:
        """``1`` while mutably borrowed, else ``0`` (ProxyStore 1.x name)."""
        return int(self._record().mutable)

    def _record(self) -> Record:
        record: Record = _get(self, '__proxy_record__')
        return record

    def _move(self) -> None:
        if _get(self, '__proxy_status__') is not Status.VALID:
            self._invalid()
        record = self._record()
        record.give_up('it cannot move')
        super()._move()
        _get(self, '__proxy_finalizer__').detach()
        record.moved()

    def _drop(self) -> None:
        """Evict the object now and invalidate this owner (see `drop`)."""
        record = self._record()
        if _get(self, '__proxy_status__') is not Status.VALID:
            self._invalid()
        record.give_up('its object cannot be dropped')
        _set(self, '__proxy_status__', Status.DROPPED)
        _get(self, '__proxy_finalizer__').detach()
        record.evict()


class _Borrow(BaseRefProxy[T]):
    """Shared machinery of the two kinds of borrows."""

    __slots__ = ('__proxy_owner__', '__proxy_release__')
    _mutable = False

    def __init__(
        self,
        factory: FactoryType[T],
        *,
        cache_defaults: bool = False,
        owner: OwnedProxy[T] | None = None,
        target: T | None = None,
    ) -> None:
        super().__init__(factory, cache_defaults=cache_defaults, target=target)
        _set(self, '__proxy_owner__', owner)
        _set(self, '__proxy_release__', None)
        if owner is not None:
            record = owner._record()
            record.acquire(mutable=self._mutable)
            _set(self, '__proxy_record__', record)
            _set(
                self,
                '__proxy_release__',
                weakref.finalize(self, _lost, record, self._mutable, _status_of(self)),
            )

    def _move(self) -> None:
        super()._move()
        # Still counted: the process that has it now may use it until released.
        finalizer = _get(self, '__proxy_release__')
        if finalizer is not None:
            finalizer.detach()
            _set(
                self,
                '__proxy_release__',
                weakref.finalize(
                    self,
                    _lost,
                    _get(self, '__proxy_record__'),
                    self._mutable,
                    _status_of(self),
                ),
            )

    def _release(self) -> None:
        """End the borrow (the task it was lent to is done). Idempotent."""
        status = _get(self, '__proxy_status__')
        if status is Status.RELEASED:
            return
        _set(self, '__proxy_status__', Status.RELEASED)
        finalizer = _get(self, '__proxy_release__')
        record: Record | None = _get(self, '__proxy_record__')
        _set(self, '__proxy_owner__', None)
        if finalizer is not None and finalizer.detach() is not None:
            assert record is not None
            record.release(mutable=self._mutable)


class RefProxy(_Borrow[T]):
    """An immutable borrow of an `OwnedProxy`'s object (make one with `borrow`).

    Any number may exist at once, but no mutable borrow while they do. The
    owner's object is not evicted while a borrow is outstanding.

    Args:
        factory: The owner's factory.
        cache_defaults: Remember the target's class and hash (with ``target``).
        owner: The owner; ``None`` for a borrow unpickled in another process.
        target: The object, if at hand.
    """

    __slots__ = ()
    __module__ = 'proxystore.ownership'


class RefMutProxy(_Borrow[T]):
    """The one mutable borrow of an `OwnedProxy`'s object (see `mut_borrow`).

    While it exists no other borrow may. Push changes of the object to the store
    with `update`; when the borrow is released the owner fetches the object
    again on its next use.

    Args:
        factory: The owner's factory.
        cache_defaults: Remember the target's class and hash (with ``target``).
        owner: The owner; ``None`` for a borrow unpickled in another process.
        target: The object, if at hand.
    """

    __slots__ = ()
    __module__ = 'proxystore.ownership'
    _mutable = True


def _status_of(proxy: _Borrow[Any]) -> Status:
    return _get(proxy, '__proxy_status__')  # type: ignore[no-any-return]


def _lost(record: Record, mutable: bool, status: Status) -> None:
    """Finalizer of a borrow: release it, or keep it counted if it was moved."""
    if status is Status.MOVED:
        record.release(mutable=mutable, orphaned=True)
        message = (
            f'A borrow of key {record.factory.key!r} was sent to another process '
            'and dropped without being released, so nothing can tell when the '
            'borrower is done: the object stays in its store. Submit tasks with '
            'proxystore.ownership.submit() to release borrows when they finish.'
        )
        try:
            warnings.warn(message, OwnershipWarning, stacklevel=1)
        except Warning:  # warnings are errors here: a finalizer must not raise
            logger.warning(message)
    else:
        record.release(mutable=mutable)


_KINDS: dict[type, str] = {OwnedProxy: 'owned', RefProxy: 'ref', RefMutProxy: 'mut'}


def _rebuild(
    kind: str,
    factory: Any,
    default_class: DefaultClassType,
    default_hash: DefaultHashType,
) -> BaseRefProxy[Any]:
    """Unpickle a moved reference (an owner owns here; a borrow counts nowhere)."""
    proxy: BaseRefProxy[Any]
    if kind == 'owned':
        proxy = OwnedProxy(factory)
    elif kind == 'ref':
        proxy = RefProxy(factory)
    else:
        proxy = RefMutProxy(factory)
    _set(proxy, '__proxy_default_class__', default_class)
    _set(proxy, '__proxy_default_hash__', default_hash)
    return proxy


def _rebuild_refused(
    kind: str,
    factory: Any,
    default_class: DefaultClassType,
    default_hash: DefaultHashType,
) -> BaseRefProxy[Any]:
    """Unpickle a second copy of a move: a reference that owns and counts nothing.

    Every use raises `ReferenceMovedError`; ``isinstance`` answers from the class
    the reference had, without resolving.
    """
    del kind  # the same arguments as _rebuild: a refused copy is of no kind
    proxy: BaseRefProxy[Any] = BaseRefProxy(factory)
    _set(proxy, '__proxy_status__', Status.REFUSED)
    _set(proxy, '__proxy_default_class__', default_class)
    _set(proxy, '__proxy_default_hash__', default_hash)
    return proxy


_rebuild.__module__ = 'proxystore.ownership'
_rebuild_refused.__module__ = 'proxystore.ownership'
