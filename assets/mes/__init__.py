"""The MES as a source: its nightly sync, the changeovers derived from it, and the actuals
written back to it."""
