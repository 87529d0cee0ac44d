"""Kafka adapters: the embedded broker, topic administration and the resilient publisher."""
