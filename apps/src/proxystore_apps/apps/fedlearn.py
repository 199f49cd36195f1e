"""Federated averaging of a softmax-regression model over simulated clients.

The data set is scikit-learn's handwritten digits (``load_digits``: 1797
8x8 images, shipped inside the scikit-learn wheel, so nothing is downloaded).
The training part is split among ``clients`` (IID, or skewed by a Dirichlet
draw of class shares); each round every client trains the global model on its
share for ``epochs`` (mini-batch gradient descent, numpy), the driver's
aggregation task averages the client models weighted by their sample counts,
and an evaluation task reports the test accuracy. All rounds are submitted at
once: each round's tasks depend on the previous round's model.
"""

from __future__ import annotations

from typing import Any

import numpy
from numpy.typing import NDArray
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from sklearn.datasets import load_digits

from proxystore_apps.engine import Engine
from proxystore_apps.errors import AppCheckError

__all__ = [
    'SUMMARY',
    'Params',
    'aggregate',
    'evaluate',
    'load_data',
    'local_train',
    'partition',
    'run',
]

SUMMARY = 'federated averaging of a numpy model on scikit-learn digits'
Array = NDArray[numpy.float64]
Labels = NDArray[numpy.int64]
CLASSES = 10


class Params(BaseModel):
    """Parameters of the federated-learning app.

    Attributes:
        clients: Simulated clients.
        rounds: Rounds of federated averaging.
        epochs: Local epochs per round.
        batch_size: Mini-batch size of local training.
        learning_rate: Step of gradient descent.
        alpha: Dirichlet concentration of the clients' class shares (``None``:
            IID shares; small values: very skewed).
        test_fraction: Share of the data set held out for testing.
        min_accuracy: Test accuracy the final model must reach.
        seed: Seed of the split and of the training.
    """

    model_config = ConfigDict(extra='forbid')

    clients: int = Field(default=4, ge=1, le=1000)
    rounds: int = Field(default=3, ge=1, le=10_000)
    epochs: int = Field(default=2, ge=1, le=1000)
    batch_size: int = Field(default=32, ge=1)
    learning_rate: float = Field(default=0.5, gt=0)
    alpha: float | None = Field(default=None, gt=0)
    test_fraction: float = Field(default=0.25, gt=0, lt=1)
    min_accuracy: float = Field(default=0.8, ge=0, le=1)
    seed: int = 0


def load_data(test_fraction: float, seed: int) -> tuple[Array, Labels, Array, Labels]:
    """The digits in [0, 1], shuffled and split: train x, y, then test x, y."""
    digits = load_digits()
    x = numpy.asarray(digits.data, dtype=numpy.float64) / 16.0
    y = numpy.asarray(digits.target, dtype=numpy.int64)
    order = numpy.random.default_rng(seed).permutation(len(y))
    x, y = x[order], y[order]
    cut = int(len(y) * (1 - test_fraction))
    return x[:cut], y[:cut], x[cut:], y[cut:]


def partition(
    x: Array, y: Labels, clients: int, alpha: float | None, seed: int
) -> list[tuple[Array, Labels]]:
    """Shares of the training data, one per client (none empty)."""
    rng = numpy.random.default_rng(seed)
    if alpha is None:
        parts = numpy.array_split(rng.permutation(len(y)), clients)
    else:
        buckets: list[list[int]] = [[] for _ in range(clients)]
        for label in range(CLASSES):
            members = rng.permutation(numpy.flatnonzero(y == label))
            shares = rng.dirichlet([alpha] * clients)
            cuts = (numpy.cumsum(shares)[:-1] * len(members)).astype(int)
            for bucket, chunk in zip(buckets, numpy.split(members, cuts), strict=True):
                bucket.extend(chunk.tolist())
        parts = [numpy.array(sorted(b), dtype=numpy.int64) for b in buckets]
    if any(len(p) == 0 for p in parts):
        raise AppCheckError(
            f'a client got no data: use fewer clients than {clients} or a larger alpha'
        )
    return [(x[p], y[p]) for p in parts]


def _logits(model: Array, x: Array) -> Array:
    weights, bias = model[:-1], model[-1]
    logits: Array = x @ weights + bias
    return logits


def local_train(
    model: Array,
    x: Array,
    y: Labels,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> tuple[Array, int]:
    """A client's round: train a copy of the model on its data.

    The model is a ``(features + 1, classes)`` array: weights, then the bias.

    Returns:
        The trained model and the number of samples it saw per epoch.
    """
    model = numpy.array(model, dtype=numpy.float64)
    rng = numpy.random.default_rng(seed)
    onehot = numpy.eye(CLASSES)[y]
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch_size):
            batch = order[start : start + batch_size]
            logits = _logits(model, x[batch])
            logits -= logits.max(axis=1, keepdims=True)
            probs = numpy.exp(logits)
            probs /= probs.sum(axis=1, keepdims=True)
            error = (probs - onehot[batch]) / len(batch)
            model[:-1] -= learning_rate * (x[batch].T @ error)
            model[-1] -= learning_rate * error.sum(axis=0)
    return model, len(y)


def aggregate(*updates: tuple[Array, int]) -> Array:
    """Federated averaging: the client models weighted by their sample counts."""
    total = sum(count for _, count in updates)
    average: Array = sum(model * (count / total) for model, count in updates)  # type: ignore[assignment]
    return average


def evaluate(model: Array, x: Array, y: Labels) -> float:
    """Accuracy of the model on ``x, y``."""
    return float(numpy.mean(numpy.argmax(_logits(model, x), axis=1) == y))


def run(engine: Engine, params: Params) -> dict[str, Any]:
    """Train for ``rounds`` rounds; check the final test accuracy.

    Raises:
        AppCheckError: If the final accuracy is below ``min_accuracy``.
    """
    x_train, y_train, x_test, y_test = load_data(params.test_fraction, params.seed)
    shares = partition(x_train, y_train, params.clients, params.alpha, params.seed)
    model: Any = numpy.zeros((x_train.shape[1] + 1, CLASSES))
    accuracies = []
    for round_ in range(params.rounds):
        updates = [
            engine.submit(
                local_train,
                model,
                x,
                y,
                epochs=params.epochs,
                batch_size=params.batch_size,
                learning_rate=params.learning_rate,
                seed=params.seed * 1_000_003 + round_ * 1000 + client,
                task_name=f'train-{client}',
            )
            for client, (x, y) in enumerate(shares)
        ]
        model = engine.submit(aggregate, *updates)
        accuracies.append(engine.submit(evaluate, model, x_test, y_test))
    scores = [float(a) for a in engine.wait(accuracies)]
    if scores[-1] < params.min_accuracy:
        raise AppCheckError(
            f'final test accuracy {scores[-1]:.3f} is below {params.min_accuracy}: '
            'train longer (rounds, epochs) or lower min_accuracy',
        )
    return {
        'clients': params.clients,
        'rounds': params.rounds,
        'train_samples': len(y_train),
        'test_samples': len(y_test),
        'accuracy_by_round': [round(s, 4) for s in scores],
        'final_accuracy': scores[-1],
    }
