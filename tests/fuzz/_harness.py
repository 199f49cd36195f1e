"""The fuzz harness: profiles, seed corpora, mutations and time-bounded runs.

``--hypothesis-profile=fuzz`` (the fuzz nox session) runs each target for a
time budget of ``FUZZ_SECONDS`` seconds (default 20), in hypothesis runs of
``max_examples`` inputs each; any other profile (``fuzz-dev`` by default) runs
each target once, for its ``max_examples`` inputs (a quick check while
developing).
"""

from __future__ import annotations

import os
import pathlib
import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

_COMMON: dict[str, Any] = {
    # A hang or a slow path (a length announced, then looped over) shows as a
    # deadline error rather than as a slow run.
    'deadline': 1000,
    'suppress_health_check': [HealthCheck.too_slow, HealthCheck.data_too_large],
    'print_blob': True,
}
settings.register_profile('fuzz', max_examples=5000, **_COMMON)
settings.register_profile('fuzz-dev', max_examples=300, **_COMMON)
settings.load_profile('fuzz-dev')

CORPUS = pathlib.Path(__file__).parent / 'corpus'

# Target name -> (inputs tried, seconds, hypothesis runs, findings).
REPORT: dict[str, tuple[int, float, int, int]] = {}


def corpus(target: str) -> list[bytes]:
    """The seed inputs of a target (files of ``corpus/<target>/``, by name)."""
    folder = CORPUS / target
    seeds = [p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()]
    assert seeds, f'no seed corpus in {folder}'
    return seeds


def budget() -> float:
    """Seconds each target runs for: ``FUZZ_SECONDS`` under the fuzz profile."""
    if settings().max_examples < settings.get_profile('fuzz').max_examples:
        return 0.0  # another profile: one run of max_examples inputs
    return float(os.environ.get('FUZZ_SECONDS', '20'))


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(st.sampled_from(['flip', 'set', 'insert', 'delete', 'cut']))
        at = draw(st.integers(0, len(data)))
        if edit == 'flip' and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == 'set' and at < len(data):
            data[at] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]))
        elif edit == 'insert':
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif edit == 'delete':
            del data[at : at + draw(st.integers(1, 16))]
        else:
            del data[at:]
    return bytes(data)


def inputs(target: str, *extra: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """Bytes for a target: its seeds mutated, random bytes, and ``extra``."""
    seeds = corpus(target)
    return st.one_of(
        mutated(seeds),
        st.sampled_from(seeds),
        st.binary(max_size=256),
        *extra,
    )


def run(
    target: str,
    check: Callable[[Any], None],
    strategy: st.SearchStrategy[Any] | None = None,
    *,
    name: str | None = None,
) -> None:
    """Run ``check`` on the target's seeds, then on generated inputs for `budget`.

    ``check`` raises only when the decoder breaks its contract (an error of a
    type it does not document, a wrong value); each hypothesis run starts
    from the seed corpus (as explicit examples). ``name`` is the target's
    name in the report (default: ``target``, the corpus it starts from).
    """
    name = target if name is None else name
    tried = 0

    def counted(data: Any) -> None:
        nonlocal tried
        tried += 1
        check(data)

    test = given(strategy if strategy is not None else inputs(target))(counted)
    for seed in corpus(target):
        test = example(seed)(test)
    start = time.monotonic()
    rounds = 0
    try:
        while True:
            test()
            rounds += 1
            if time.monotonic() - start >= budget():
                break
    except BaseException:
        REPORT[name] = (tried, time.monotonic() - start, rounds + 1, 1)
        raise
    REPORT[name] = (tried, time.monotonic() - start, rounds, 0)
