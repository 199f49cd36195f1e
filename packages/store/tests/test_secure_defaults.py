"""Secure defaults said out loud: secrets, network channels, strict mode."""

from __future__ import annotations

import os
import pathlib
import pickle
import subprocess
import sys
import warnings

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.multi import MultiConnector
from proxystore.connectors.multi import Policy
from proxystore.connectors.protocols import NetworkConnector
from proxystore.connectors.protocols import is_network_channel
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.serialize import MIN_SECRET_BYTES
from proxystore.serialize import REQUIRE_SECRET_ENV
from proxystore.serialize import AuthenticationError
from proxystore.serialize import Codec
from proxystore.serialize import EmptySecretError
from proxystore.serialize import UnauthenticatedPayloadError
from proxystore.serialize import WeakSecretWarning
from proxystore.serialize import deserialize
from proxystore.serialize import secret_required
from proxystore.serialize import serialize
from proxystore.store import Store
from proxystore.store.exceptions import SecretRequiredError
from proxystore.store.exceptions import StoreError
from proxystore.store.exceptions import UnauthenticatedChannelWarning
from proxystore.store.keyring import add_credential
from proxystore.store.keyring import credential_id
from proxystore.store.keyring import find_credential

STRONG = b'a-strong-secret-of-32-bytes-0000'


class NetworkLocalConnector(LocalConnector):
    """A local connector that declares itself a network channel.

    The store's policy depends only on the declaration; the real network
    connectors (Redis, UCX, endpoints) are tested in their packages.
    """

    network_channel = True


@pytest.fixture
def no_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_SECRET_ENV, raising=False)


@pytest.fixture
def strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_SECRET_ENV, '1')


# --- empty and short secrets -------------------------------------------------------


@pytest.mark.parametrize('secret', ['', b''])
def test_store_refuses_the_empty_secret(secret: str | bytes) -> None:
    with pytest.raises(EmptySecretError, match='The secret is empty') as info:
        Store('empty', LocalConnector(), secret=secret)
    assert isinstance(info.value, ValueError)
    assert 'secret=None' in str(info.value)


def test_codec_and_functions_refuse_the_empty_secret() -> None:
    with pytest.raises(EmptySecretError, match='an empty key authenticates nothing'):
        Codec('c', secret=b'')
    with pytest.raises(EmptySecretError, match='The secret is empty'):
        serialize([1], secret=b'')
    with pytest.raises(EmptySecretError, match='The secret is empty'):
        deserialize(serialize([1]), secret=b'')


def test_short_secret_warns_with_its_length_and_the_advice() -> None:
    with pytest.warns(WeakSecretWarning) as record:
        store = Store('short', LocalConnector(), secret='k1')
    store.close()
    assert len(record) == 1  # once, not again by the store's codec
    message = str(record[0].message)
    assert 'The secret is 2 bytes long, shorter than 16' in message
    assert 'secrets.token_urlsafe(32)' in message
    assert record[0].filename == __file__  # names the caller of Store(...)


def test_short_secret_warns_in_codec_and_functions() -> None:
    with pytest.warns(WeakSecretWarning, match='15 bytes long') as record:
        Codec('c', secret=b'x' * 15)
    assert record[0].filename == __file__
    with pytest.warns(WeakSecretWarning, match='3 bytes long') as record:
        data = serialize([1], secret=b'abc')
    assert record[0].filename == __file__
    with pytest.warns(WeakSecretWarning, match='3 bytes long'):
        assert deserialize(data, secret=b'abc') == [1]


def test_a_secret_of_16_bytes_is_accepted_silently() -> None:
    assert MIN_SECRET_BYTES == 16
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        with Store('ok', LocalConnector(), secret=b's' * 16) as store:
            assert store.get(store.put([1])) == [1]
        Codec('c', secret=b's' * 16)


def test_secret_of_a_wrong_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match='secret must be bytes or str, not int'):
        Store('typed', LocalConnector(), secret=5)  # type: ignore[arg-type]


# --- network channels --------------------------------------------------------------


def test_which_connectors_are_network_channels(tmp_path: pathlib.Path) -> None:
    assert is_network_channel(NetworkLocalConnector())
    assert isinstance(NetworkLocalConnector(), NetworkConnector)
    with FileConnector(str(tmp_path / 'f')) as file:
        assert not is_network_channel(file)
    with SharedMemoryConnector(clear=True) as shm:
        assert not is_network_channel(shm)
    assert not is_network_channel(LocalConnector())
    assert not isinstance(LocalConnector(), NetworkConnector)

    class Vague(LocalConnector):
        network_channel = 'yes'  # only True declares it

    assert not is_network_channel(Vague())


def test_multi_connector_is_a_network_channel_if_one_of_its_connectors_is() -> None:
    local = MultiConnector({'a': (LocalConnector(), Policy(priority=1))})
    assert not is_network_channel(local)
    mixed = MultiConnector(
        {
            'a': (LocalConnector(), Policy(priority=1)),
            'b': (NetworkLocalConnector(), Policy(priority=0)),
        },
    )
    assert is_network_channel(mixed)


def test_secretless_store_warns_once_when_it_reads_a_network_channel(
    no_strict: None,
) -> None:
    with Store('net', NetworkLocalConnector(), cache_size=0) as store:
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            keys = [store.put(i) for i in range(3)]  # writing is not reading

        def read() -> list[object]:
            return [store.get(keys[0]), store.get(keys[1]), store.get_batch(keys)]

        with pytest.warns(UnauthenticatedChannelWarning) as record:
            values = read()
        assert values == [0, 1, [0, 1, 2]]
        assert len(record) == 1
        message = str(record[0].message)
        assert 'Store "net" has no secret and read from NetworkLocalConnector' in (
            message
        )
        assert 'a network channel' in message
        assert 'PROXYSTORE_SECRET' in message
        assert f'{REQUIRE_SECRET_ENV}=1' in message
        assert record[0].filename == __file__  # names the caller of get
        assert record[0].lineno == read.__code__.co_firstlineno + 1


def test_warning_is_per_store_and_also_from_batches_and_metrics(
    no_strict: None,
) -> None:
    with Store('batch', NetworkLocalConnector()) as store:
        key = store.put('x')
        with pytest.warns(UnauthenticatedChannelWarning, match='Store "batch"'):
            assert store.get_batch([key]) == ['x']
    with Store('metered', NetworkLocalConnector(), metrics=True) as store:
        key = store.put('x')
        store.cache.clear()
        with pytest.warns(UnauthenticatedChannelWarning, match='Store "metered"'):
            assert store.get(key) == 'x'


def test_no_warning_with_a_secret_or_a_local_channel(
    no_strict: None, tmp_path: pathlib.Path
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        with Store('keyed', NetworkLocalConnector(), secret=STRONG) as store:
            assert store.get(store.put([1])) == [1]
        with Store('file', FileConnector(str(tmp_path / 'f'))) as store:
            assert store.get(store.put([2])) == [2]


def test_proxies_of_a_network_store_warn_where_they_resolve(no_strict: None) -> None:
    with Store('resolved', NetworkLocalConnector(), register=True) as store:
        proxy = store.proxy([1, 2], populate_target=False)
        with pytest.warns(UnauthenticatedChannelWarning, match='Store "resolved"'):
            assert sum(proxy) == 3


# --- strict mode -------------------------------------------------------------------


def test_strict_mode_refuses_a_store_without_a_secret(strict: None) -> None:
    with pytest.raises(SecretRequiredError, match=f'{REQUIRE_SECRET_ENV} is set') as e:
        Store('plain', LocalConnector())
    assert isinstance(e.value, ValueError)
    assert isinstance(e.value, StoreError)
    assert 'Store "plain" has no secret' in str(e.value)
    with Store('keyed', LocalConnector(), secret=STRONG) as store:
        assert store.get(store.put({'a': 1})) == {'a': 1}


def test_strict_mode_refuses_unauthenticated_payloads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(REQUIRE_SECRET_ENV, raising=False)
    data = serialize([1, 2])
    payload = Codec('c').encode([3], key=('k',)).join()
    monkeypatch.setenv(REQUIRE_SECRET_ENV, '1')
    with pytest.raises(UnauthenticatedPayloadError, match='is not authenticated and'):
        deserialize(data)
    with pytest.raises(UnauthenticatedPayloadError, match=REQUIRE_SECRET_ENV) as e:
        Codec('c').decode(payload, key=('k',))
    assert isinstance(e.value, AuthenticationError)
    assert 'Store "c"' in str(e.value.__notes__)
    # Authenticated payloads are read as before.
    assert deserialize(serialize([4], secret=STRONG), secret=STRONG) == [4]


def test_strict_mode_refuses_a_config_without_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(REQUIRE_SECRET_ENV, raising=False)
    with Store('config', LocalConnector()) as store:
        config = store.config()
    monkeypatch.setenv(REQUIRE_SECRET_ENV, 'true')
    with pytest.raises(SecretRequiredError, match='Store "config" has no secret'):
        Store.from_config(config)


@pytest.mark.parametrize(
    ('value', 'expected'),
    [('1', True), ('yes', True), (' On ', True), ('0', False), ('', False)],
)
def test_strict_mode_values(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv(REQUIRE_SECRET_ENV, value)
    assert secret_required() is expected


def test_strict_mode_bad_value_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(REQUIRE_SECRET_ENV, 'maybe')
    with pytest.raises(ValueError, match="PROXYSTORE_REQUIRE_SECRET='maybe' is not"):
        Store('bad', LocalConnector())


def test_strict_process_refuses_a_proxy_of_an_unauthenticated_store(
    tmp_path: pathlib.Path, no_strict: None
) -> None:
    with Store('open', FileConnector(str(tmp_path / 'o'))) as store:
        data = pickle.dumps(store.proxy([4, 5], populate_target=False))
        code = (
            'import pickle\n'
            'from proxystore.proxy import ProxyResolveError\n'
            f'proxy = pickle.loads({data!r})\n'
            'try:\n'
            '    print(sum(proxy))\n'
            'except ProxyResolveError as e:\n'
            '    print(type(e.cause).__name__, e.cause)\n'
        )
        env = {k: v for k, v in os.environ.items() if k != REQUIRE_SECRET_ENV}
        done = subprocess.run(
            [sys.executable, '-c', code],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env={**env, REQUIRE_SECRET_ENV: '1'},
        )
        assert done.stdout.startswith('SecretRequiredError Store "open" has no')
        done = subprocess.run(
            [sys.executable, '-c', code],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env=env,
        )
        assert done.stdout.strip() == '9'


# --- credentials of connectors -----------------------------------------------------


def test_credential_ids_are_stable_one_way_and_distinct() -> None:
    ident = credential_id('pa55word')
    assert ident == credential_id(b'pa55word')
    assert len(ident) == 16
    assert 'pa55word' not in ident
    assert credential_id('other') != ident


def test_find_credential_in_the_keyring_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = 'PROXYSTORE_TEST_CREDENTIAL'
    known = add_credential('known-here')
    assert find_credential(known, env) == b'known-here'
    ident = credential_id('from-the-environment')
    monkeypatch.delenv(env, raising=False)
    assert find_credential(ident, env) is None
    monkeypatch.setenv(env, 'another-value')
    assert find_credential(ident, env) is None  # the id does not match
    monkeypatch.setenv(env, 'from-the-environment')
    assert find_credential(ident, env) == b'from-the-environment'


def test_a_config_with_an_empty_secret_is_refused() -> None:
    from pydantic import SecretBytes

    with Store('emptied', LocalConnector(), secret=STRONG) as store:
        config = store.config().model_copy(
            update={'secret': SecretBytes(b''), 'secret_id': None}
        )
    with pytest.raises(EmptySecretError, match='The secret is empty'):
        Store.from_config(config)
