"""Typed errors of the runner: every bad input names its fix."""

from __future__ import annotations

__all__ = [
    'AppCheckError',
    'ConfigError',
    'DependencyError',
    'InvalidParameterError',
    'MissingPackageError',
    'TaskTimeoutError',
    'UnknownAppError',
    'UnknownConnectorError',
    'UnknownExecutorError',
]


class ConfigError(ValueError):
    """A run's configuration is invalid (the message says how to fix it)."""


class UnknownAppError(ConfigError):
    """No application has the requested name."""


class UnknownExecutorError(ConfigError):
    """No executor (task engine) has the requested name."""


class UnknownConnectorError(ConfigError):
    """No connector of that kind is installed, nor is it a ProxyStore one."""


class MissingPackageError(ConfigError):
    """The requested engine or connector needs a package that is not installed."""


class InvalidParameterError(ConfigError):
    """A parameter of the app, executor or data management is out of range."""


class AppCheckError(RuntimeError):
    """An application's output failed its correctness check."""


class DependencyError(RuntimeError):
    """A task did not run because a task it depends on failed."""


class TaskTimeoutError(TimeoutError):
    """A task ran longer than its time limit (its result is discarded)."""
