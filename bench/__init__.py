"""The benchmark: a timer sweep through the handler against a seeded, rate-capped emulator."""
