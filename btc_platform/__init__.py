"""btc-platform: real-time BTC price prediction from Kraken trades."""

__version__ = "0.1.0"
