"""Word count over a generated text corpus: map tasks count, one task merges.

The corpus is made on the driver (no downloads): a random vocabulary, words
drawn with Zipf-like frequencies, ``files`` texts. Map tasks each count the
words of their share of the files; the reduce task merges the counts and
keeps the ``top`` most frequent words. The result is checked against a count
of the whole corpus on the driver.
"""

from __future__ import annotations

import collections
import string
from typing import Any

import numpy
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field

from proxystore_apps.engine import Engine
from proxystore_apps.errors import AppCheckError

__all__ = [
    'SUMMARY',
    'Params',
    'count_words',
    'make_corpus',
    'merge_counts',
    'prepare',
    'run',
]

SUMMARY = 'word count over a generated text corpus (map tasks, one reduce)'


class Params(BaseModel):
    """Parameters of the map-reduce app.

    Attributes:
        files: Texts in the corpus.
        words_per_file: Words in each text.
        vocabulary: Distinct words the texts are drawn from.
        map_tasks: Map tasks (each counts ``files / map_tasks`` texts).
        top: Most frequent words reported.
        seed: Seed of the corpus.
    """

    model_config = ConfigDict(extra='forbid')

    files: int = Field(default=8, ge=1, le=100_000)
    words_per_file: int = Field(default=20_000, ge=1, le=100_000_000)
    vocabulary: int = Field(default=2_000, ge=1, le=10_000_000)
    map_tasks: int = Field(default=4, ge=1, le=100_000)
    top: int = Field(default=10, ge=1)
    seed: int = 0


def make_corpus(params: Params) -> list[str]:
    """The texts: words of a random vocabulary, Zipf-like frequencies."""
    rng = numpy.random.default_rng(params.seed)
    letters = numpy.array(list(string.ascii_lowercase))
    lengths = rng.integers(3, 10, size=params.vocabulary)
    words = numpy.array(
        [''.join(rng.choice(letters, size=n)) for n in lengths], dtype=object
    )
    weights = 1.0 / numpy.arange(1, params.vocabulary + 1) ** 1.1
    weights /= weights.sum()
    texts = []
    for _ in range(params.files):
        drawn = rng.choice(words, size=params.words_per_file, p=weights)
        lines = [' '.join(drawn[i : i + 12]) for i in range(0, len(drawn), 12)]
        texts.append('\n'.join(lines))
    return texts


def count_words(*texts: str) -> dict[str, int]:
    """The map task: how often each word occurs in ``texts``."""
    counts: collections.Counter[str] = collections.Counter()
    for text in texts:
        counts.update(text.split())
    return dict(counts)


def _ranked(counts: dict[str, int], top: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]


def merge_counts(*counts: dict[str, int], top: int) -> dict[str, Any]:
    """The reduce task: merge the counts, keep the ``top`` words."""
    total: collections.Counter[str] = collections.Counter()
    for part in counts:
        total.update(part)
    return {
        'top': _ranked(dict(total), top),
        'words': sum(total.values()),
        'distinct': len(total),
    }


def prepare(params: Params) -> tuple[list[str], dict[str, int]]:
    """The corpus and its count on the driver (made before the timing starts)."""
    texts = make_corpus(params)
    return texts, count_words(*texts)


def run(
    engine: Engine, params: Params, prepared: tuple[list[str], dict[str, int]]
) -> dict[str, Any]:
    """Count the corpus with map tasks and a reduce task; check the count.

    Raises:
        AppCheckError: If the count differs from the driver's own.
    """
    texts, expected = prepared
    shares = [texts[i :: params.map_tasks] for i in range(params.map_tasks)]
    maps = [engine.submit(count_words, *share) for share in shares if share]
    reduced = engine.submit(merge_counts, *maps, top=params.top)
    result = dict(engine.wait([reduced])[0])
    if [tuple(pair) for pair in result['top']] != _ranked(expected, params.top) or (
        result['words'] != params.files * params.words_per_file
    ):
        raise AppCheckError('the word count differs from a count on the driver')
    top_word, top_count = result['top'][0]
    return {
        'files': params.files,
        'map_tasks': len(maps),
        'words': result['words'],
        'distinct_words': result['distinct'],
        'top_word': f'{top_word} ({top_count})',
    }
