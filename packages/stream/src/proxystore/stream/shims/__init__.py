"""Publishers and subscribers of message brokers, for `proxystore.stream`.

- `proxystore.stream.shims.queue`: `queue.Queue` and `multiprocessing` queues;
- `proxystore.stream.shims.redis`: Redis pub/sub, lists (a queue) and streams
  (consumer groups, acknowledgements);
- `proxystore.stream.shims.zmq`: ZeroMQ PUB/SUB.
"""
