"""The run directory: resolved config, log, one JSON record per task, result.

```
runs/<app>-<mode>-<YYYYmmdd-HHMMSS>-<id>/
    config.toml    the resolved config (what to run again)
    log.txt        the run's log
    tasks.jsonl    one JSON object per task, as it finished
    result.json    makespan, task counts, the app's output
```
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import pathlib
import threading
import uuid
from collections.abc import Generator
from typing import Any

import tomli_w

from proxystore_apps.config import RunConfig

__all__ = ['RunDirectory', 'read_records']


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    item = getattr(value, 'item', None)  # numpy scalars
    if callable(item):
        return _jsonable(item())
    return str(value)


class RunDirectory:
    """The folder of one run.

    Args:
        root: Folder of all runs (created if missing).
        label: Start of the folder's name (``<app>-<mode>``).
    """

    def __init__(self, root: pathlib.Path, label: str) -> None:
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
        self.path = pathlib.Path(root) / f'{label}-{stamp}-{uuid.uuid4().hex[:6]}'
        self.path.mkdir(parents=True)
        self.config_path = self.path / 'config.toml'
        self.log_path = self.path / 'log.txt'
        self.tasks_path = self.path / 'tasks.jsonl'
        self.result_path = self.path / 'result.json'
        self._lock = threading.Lock()
        self._tasks = self.tasks_path.open('a')

    def write_config(self, config: RunConfig) -> None:
        """Write the resolved config as TOML."""
        data = config.model_dump(mode='json', exclude_none=True)
        self.config_path.write_text(tomli_w.dumps(data))

    def record(self, record: dict[str, Any]) -> None:
        """Append one task's record (thread-safe, flushed at once)."""
        line = json.dumps(_jsonable(record), sort_keys=True)
        with self._lock:
            self._tasks.write(line + '\n')
            self._tasks.flush()

    def write_result(self, result: dict[str, Any]) -> None:
        """Write the run's result."""
        self.result_path.write_text(
            json.dumps(_jsonable(result), indent=2, sort_keys=True) + '\n'
        )

    def close(self) -> None:
        """Close the records file."""
        with self._lock:
            self._tasks.close()

    @contextlib.contextmanager
    def logging_to_file(self) -> Generator[None]:
        """Send the ``proxystore_apps`` logs to the run's log file meanwhile."""
        handler = logging.FileHandler(self.log_path)
        handler.setFormatter(
            logging.Formatter('%(asctime)s %(levelname)s %(name)s: %(message)s')
        )
        logger = logging.getLogger('proxystore_apps')
        previous = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(previous)
            handler.close()


def read_records(path: pathlib.Path) -> list[dict[str, Any]]:
    """The task records of a run directory (or of its ``tasks.jsonl``)."""
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / 'tasks.jsonl'
    return [json.loads(line) for line in path.read_text().splitlines() if line]
