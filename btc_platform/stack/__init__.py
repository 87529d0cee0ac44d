"""`btc-platform up`: the platform's processes, started, watched and stopped together."""
