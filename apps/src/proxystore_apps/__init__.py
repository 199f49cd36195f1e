"""Science applications on real task engines, run by value or by proxy.

One runner (`proxystore_apps.runner.run_app`, the ``proxystore-apps`` CLI)
picks an application, a task engine and how data moves between tasks: by
value through the engine, or by proxy through any installed ProxyStore
connector, selected by a filter. Every run writes a run directory with the
resolved config, a log and one JSON record per task.
"""

from __future__ import annotations

__version__ = '2.0.0.dev0'
