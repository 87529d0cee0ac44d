"""A local stand-in for the Kraken exchange: WebSocket v2 and REST on loopback."""
