"""ProxyStore benchmarks."""
