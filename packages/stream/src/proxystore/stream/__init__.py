"""Stream-by-proxy: event metadata through a message broker, bulk data through a store.

A `StreamProducer` puts each object in its topic's store and publishes a small
event (the key, flags, metadata) through a broker; a `StreamConsumer` turns the
events into lazy proxies, so an object moves only to where a proxy of it is
used. Brokers are reached through shims (`proxystore.stream.shims`): in-process
and multiprocessing queues, Redis pub/sub, lists and streams, and ZeroMQ.

Events are msgpack (`proxystore.stream.events`): a message from the broker is
never unpickled, and a malformed one raises `MalformedEventError`.
"""

from __future__ import annotations

from proxystore.stream._consumer import StreamConsumer
from proxystore.stream._producer import StreamProducer

__all__ = ['StreamConsumer', 'StreamProducer']
