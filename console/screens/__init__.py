"""The console's screens, one module per area; each has ``register(console)``."""
