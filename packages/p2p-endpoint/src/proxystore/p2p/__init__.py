"""Peer-to-peer links between ProxyStore endpoints.

Endpoints find each other through a relay server (`proxystore.p2p.relay`):
a websocket signaling server that forwards WebRTC session descriptions
between endpoints of the same user. The peers then talk directly over WebRTC
data channels (aiortc), through NATs by ICE and STUN
(`proxystore.p2p.connection`, `proxystore.p2p.manager`). Peer messages are a
typed, versioned binary format (`proxystore.p2p.messages`): nothing received
from a peer is ever unpickled.
"""
