"""Tiled Cholesky factorisation of a random symmetric positive-definite matrix.

The matrix is cut into ``block_size`` tiles; the right-looking algorithm makes
one task per tile operation (POTRF on the diagonal, TRSM below it, SYRK and
GEMM to update the trailing matrix). Tiles flow from task to task: by value
through the driver, by proxy through the store. The factor is checked against
``numpy.linalg.cholesky``.
"""

from __future__ import annotations

from typing import Any

import numpy
import scipy.linalg
from numpy.typing import NDArray
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import model_validator

from proxystore_apps.engine import Engine
from proxystore_apps.engine import TaskFuture
from proxystore_apps.errors import AppCheckError

__all__ = [
    'SUMMARY',
    'Params',
    'gemm',
    'potrf',
    'prepare',
    'random_spd',
    'run',
    'syrk',
    'trsm',
]

SUMMARY = 'tiled Cholesky factorisation (numpy), checked against numpy'
Array = NDArray[numpy.float64]


class Params(BaseModel):
    """Parameters of the Cholesky app.

    Attributes:
        matrix_size: Rows (and columns) of the matrix.
        block_size: Rows of a tile; must divide ``matrix_size``.
        seed: Seed of the random matrix.
        tolerance: Largest relative difference from numpy's factor accepted.
    """

    model_config = ConfigDict(extra='forbid')

    matrix_size: int = Field(default=400, ge=1, le=100_000)
    block_size: int = Field(default=100, ge=1)
    seed: int = 0
    tolerance: float = Field(default=1e-8, gt=0)

    @model_validator(mode='after')
    def _blocks_fit(self) -> Params:
        if self.block_size > self.matrix_size or self.matrix_size % self.block_size:
            raise ValueError(
                f'block_size ({self.block_size}) must divide matrix_size '
                f'({self.matrix_size}), e.g. matrix_size=4000 block_size=500',
            )
        return self


def random_spd(size: int, seed: int) -> Array:
    """A random symmetric positive-definite matrix."""
    rng = numpy.random.default_rng(seed)
    m = rng.random((size, size))
    spd: Array = m @ m.T + size * numpy.eye(size)
    return spd


def potrf(tile: Array) -> Array:
    """Cholesky factor of a diagonal tile."""
    return numpy.asarray(numpy.linalg.cholesky(tile), dtype=numpy.float64)


def trsm(diagonal: Array, tile: Array) -> Array:
    """``tile @ inv(diagonal.T)``: a tile of the factor below the diagonal."""
    solved: Array = scipy.linalg.solve_triangular(diagonal, tile.T, lower=True).T
    return numpy.ascontiguousarray(solved)


def syrk(tile: Array, left: Array) -> Array:
    """``tile - left @ left.T``: update of a diagonal tile."""
    return tile - left @ left.T


def gemm(tile: Array, left: Array, right: Array) -> Array:
    """``tile - left @ right.T``: update of a tile below the diagonal."""
    return tile - left @ right.T


def prepare(params: Params) -> tuple[Array, Array]:
    """The matrix and numpy's factor of it (made before the timing starts)."""
    matrix = random_spd(params.matrix_size, params.seed)
    return matrix, potrf(matrix)


def run(
    engine: Engine, params: Params, prepared: tuple[Array, Array]
) -> dict[str, Any]:
    """Factorise the matrix tile by tile; check the factor.

    Raises:
        AppCheckError: If the factor differs from numpy's.
    """
    n, b = params.matrix_size, params.block_size
    blocks = n // b
    matrix, expected = prepared
    # Lower tiles only: tiles[i][j] for j <= i, each an array or a task future.
    tiles: list[list[Any]] = [
        [matrix[i * b : (i + 1) * b, j * b : (j + 1) * b].copy() for j in range(i + 1)]
        for i in range(blocks)
    ]
    for k in range(blocks):
        tiles[k][k] = engine.submit(potrf, tiles[k][k])
        for i in range(k + 1, blocks):
            tiles[i][k] = engine.submit(trsm, tiles[k][k], tiles[i][k])
        for i in range(k + 1, blocks):
            tiles[i][i] = engine.submit(syrk, tiles[i][i], tiles[i][k])
            for j in range(k + 1, i):
                tiles[i][j] = engine.submit(gemm, tiles[i][j], tiles[i][k], tiles[j][k])
    futures: list[TaskFuture] = [t for row in tiles for t in row]
    results = iter(engine.wait(futures))
    factor = numpy.zeros((n, n))
    for i in range(blocks):
        for j in range(i + 1):
            factor[i * b : (i + 1) * b, j * b : (j + 1) * b] = next(results)
    error = float(
        numpy.max(numpy.abs(factor - expected)) / numpy.max(numpy.abs(expected))
    )
    if not error <= params.tolerance:
        raise AppCheckError(
            f'the tiled factor differs from numpy.linalg.cholesky by {error:.3g} '
            f'(relative), over the tolerance {params.tolerance:g}',
        )
    tasks = blocks + blocks * (blocks - 1) + blocks * (blocks - 1) * (blocks - 2) // 6
    return {'matrix_size': n, 'block_size': b, 'tasks': tasks, 'max_rel_error': error}
