"""``proxystore-bench``: one command per suite of `proxystore_bench.registry`."""

from __future__ import annotations

import typer

from proxystore_bench.registry import SUITES

__all__ = ['app']

app = typer.Typer(
    help='ProxyStore benchmarks, each measured side by side with its baselines.',
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """ProxyStore benchmarks, each measured side by side with its baselines."""


for _suite in SUITES:
    app.command(_suite.name)(_suite.command())
