"""The DuckDB offline store: trades, candles and the Kafka offsets drained into them."""
