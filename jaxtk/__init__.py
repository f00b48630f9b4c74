"""Shared core of the two toolkits (``awe_jax`` and ``anomaly_jax``).

What both packages need lives here once: checkpointing with resume, data
parallel sharding over ``jax.devices()``, JSON-lines metric logs, progress
bars, plotting set-up, medians in XLA without a sort and the error type
for bad input.
"""
