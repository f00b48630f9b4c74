"""Neyman-Pearson objective on reconstruction errors (Koizumi et al. 2019).

With ``phi`` the ``(1 - rho)`` quantile of the typical batch's errors (so
that the false-positive rate is held at ``rho``), the rates are smoothed with
a sigmoid of temperature ``tau``::

  FPR ~ mean sigmoid((e_typ - phi) / tau)
  TPR ~ mean sigmoid((e_gen - phi) / tau)
  loss = FPR - TPR

``phi`` is treated as a constant (``stop_gradient``), as in the reference:
gradients act through the errors only.
"""
import chex
import jax
import jax.numpy as jnp

Array = jax.Array


def threshold(e_typ: Array, rho: float) -> Array:
  """``(1 - rho)`` quantile of typical errors ``[batch] -> []`` (no grad)."""
  return jax.lax.stop_gradient(jnp.quantile(e_typ, 1.0 - rho))


def np_loss(e_typ: Array, e_gen: Array, *, rho: float = 0.05,
            tau: float = 0.1) -> tuple[Array, dict]:
  """Smoothed ``FPR - TPR``.

  Args:
    e_typ: ``[batch]`` errors of typical samples.
    e_gen: ``[batch_gen]`` errors of (pseudo-)anomalous samples.
    rho: target false-positive rate.
    tau: sigmoid temperature, in the units of the errors.

  Returns:
    ``(loss [], {"fpr", "tpr", "phi"})``.
  """
  chex.assert_rank([e_typ, e_gen], 1)
  phi = threshold(e_typ, rho)
  fpr = jnp.mean(jax.nn.sigmoid((e_typ - phi) / tau))
  tpr = jnp.mean(jax.nn.sigmoid((e_gen - phi) / tau))
  return fpr - tpr, {"fpr": fpr, "tpr": tpr, "phi": phi}
