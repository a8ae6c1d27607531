"""The simulated plant's peripheral servers: each serves the one ground truth over a protocol."""
