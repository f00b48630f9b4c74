"""Per-channel energy normalisation (PCEN) in JAX, equal to ``librosa.pcen``.

``pcen(S, sr=, hop_length=, ...)`` on ``[time, bands]`` equals
``librosa.pcen(S.T, sr=, hop_length=, ...).T`` (time last there; the
features here are frame-major) for ``max_size=1``, ``ref=None``,
``zi=None``: the smoother ``M`` is the first-order IIR low-pass
``M[t] = (1 - b) M[t - 1] + b S[t]`` started from librosa's initial state
(``scipy.signal.lfilter_zi``: as if ``M[-1] = 1``), run as a
``jax.lax.associative_scan`` over time (log-depth, no per-frame loop), then

  ``P = bias**power * expm1(power * log1p(S * exp(-gain * (log(eps) +
  log1p(M / eps))) / bias))``

as librosa computes it (its special cases ``power == 0`` and ``bias == 0``
too).  librosa is numpy/SciPy only, so the scan's jitted features need
their own copy; tests compare the two.
"""
import jax
import jax.numpy as jnp
import numpy as np


def smoothing_coef(sr: float, hop_length: int, time_constant: float) -> float:
  """librosa's default ``b`` for a ``time_constant`` in seconds: solves
  ``b**2 + (1 - b) / t - 2 = 0``, ``t = time_constant * sr / hop_length``
  frames (the full width at half maximum of the low-pass's response)."""
  t = time_constant * sr / float(hop_length)
  return float((np.sqrt(1 + 4 * t ** 2) - 1) / (2 * t ** 2))


def _smooth(s: jnp.ndarray, b: float) -> jnp.ndarray:
  """``M`` of the module docstring, ``[T, ...]``."""
  u = b * jnp.asarray(s)
  u = u.at[0].add(1.0 - b)  # the initial state M[-1] = 1
  a = jnp.full_like(u, 1.0 - b)

  def combine(x, y):
    (a1, u1), (a2, u2) = x, y
    return a1 * a2, a2 * u1 + u2

  return jax.lax.associative_scan(combine, (a, u), axis=0)[1]


def pcen(s: jnp.ndarray, *, sr: float, hop_length: int, gain: float = 0.98,
         bias: float = 2.0, power: float = 0.5, time_constant: float = 0.4,
         eps: float = 1e-6, b: float | None = None) -> jnp.ndarray:
  """PCEN of a non-negative spectrogram (librosa's parameters and defaults).

  Args:
    s: float ``[T, bands]`` (or ``[T]``) magnitudes or powers, time first.
    sr, hop_length: the frames' sample rate and hop (for ``time_constant``).
    gain, bias, power, time_constant, eps, b: as ``librosa.pcen``; ``b``
      None: ``smoothing_coef(sr, hop_length, time_constant)``.

  Returns:
    ``[T, bands]``, the dtype of ``s``.

  Raises:
    ValueError: a parameter outside librosa's allowed range.
  """
  for name, v in (("power", power), ("gain", gain), ("bias", bias)):
    if v < 0:
      raise ValueError(f"pcen {name}={v} must be non-negative")
  if eps <= 0 or time_constant <= 0:
    raise ValueError(f"pcen eps={eps} and time_constant={time_constant} "
                     "must be > 0")
  if b is None:
    b = smoothing_coef(sr, hop_length, time_constant)
  if not 0 <= b <= 1:
    raise ValueError(f"pcen b={b} must be in [0, 1]")
  s = jnp.asarray(s)
  m = _smooth(s, b)
  smooth = jnp.exp(-gain * (np.log(eps) + jnp.log1p(m / eps)))
  if power == 0:
    return jnp.log1p(s * smooth)
  if bias == 0:
    return jnp.exp(power * (jnp.log(s) + jnp.log(smooth)))
  return bias ** power * jnp.expm1(power * jnp.log1p(s * smooth / bias))
