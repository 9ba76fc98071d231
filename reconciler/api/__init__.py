"""The network edge: `http` (retries, rate limits, typed errors), `client` (the Platform
API's CA calls) and `transports` (the embedded emulator in-process, or the real hosts)."""
