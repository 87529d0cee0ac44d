"""Real-time predictions: live candles and features from Kafka, the champion model, BentoML."""
