"""Features from candles: the one feature code path (offline assets and the live service)."""
