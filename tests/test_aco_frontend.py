"""The ACO front-end pieces: JAX PCEN against librosa, the low-frequency
pulse-series branch on a hand-built fin-like pulse train, the fusion."""
import dataclasses
import functools
import json

from absl.testing import parameterized
import chex
import librosa
import numpy as np
import pytest

from anomaly_jax.aco import analysis, features, fusion, pcen, pulse, tonal
from jaxtk.errors import DataError


class PcenTest(chex.TestCase, parameterized.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(
      dict(kw={}),
      dict(kw=dict(gain=0.8, bias=10.0, power=0.25, time_constant=0.06)),
      dict(kw=dict(power=0.0)),
      dict(kw=dict(bias=0.0, b=0.3)),
  )
  def test_equals_librosa(self, kw):
    rng = np.random.default_rng(0)
    # Mel-like powers spanning 6 decades, with a loud onset half-way.
    s = (10.0 ** rng.uniform(-6, 0, (300, 16))).astype(np.float32)
    s[150:170] *= 100.0
    want = librosa.pcen(s.astype(np.float64), sr=24000, hop_length=1024,
                        axis=0, **kw)
    got = self.variant(functools.partial(pcen.pcen, sr=24000,
                                         hop_length=1024, **kw))(s)
    chex.assert_shape(got, s.shape)
    chex.assert_type(got, np.float32)
    # float32 against librosa's float64: relative 1e-4.
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)

  def test_bad_parameters_raise(self):
    with pytest.raises(ValueError, match="gain"):
      pcen.pcen(np.ones((3, 2), np.float32), sr=1, hop_length=1, gain=-1)


def _pulse_train(rate, seconds, starts, amp, seed=0):
  """Red-ish noise plus 1 s, 23 -> 18 Hz pulses (fin-whale-like) at
  ``starts`` (s), and a 0.1 Hz swell as the hydrophone has."""
  rng = np.random.default_rng(seed)
  t = np.arange(int(rate * seconds)) / rate
  x = 0.01 * rng.standard_normal(t.size) + 0.03 * np.sin(2 * np.pi * t / 10)
  for s0 in starts:
    v = t - s0
    on = (v >= 0) & (v < 1)
    x[on] += amp * np.sin(np.pi * v[on]) ** 2 * np.sin(
        2 * np.pi * (23 * v[on] - 2.5 * v[on] ** 2))
  return x.astype(np.float32)


MEL = features.MelConfig(rate=6000, n_fft=512, hop=256, n_mels=16,
                         stride=4)
PULSE = pulse.PulseConfig(pulse_decim=16, pulse_n_fft=512)  # 375 Hz


def test_pulse_branch_peaks_on_a_pulse_series_the_mels_miss():
  starts = 40.0 + 11.0 * np.arange(4)   # 4 pulses, 40-75 s, 11 s apart
  x = _pulse_train(MEL.rate, 120, starts, amp=0.004)
  s = pulse.file_scores(x, MEL, PULSE)
  t = MEL.window_times(MEL.n_windows(x.size))
  chex.assert_shape(s, t.shape)
  inside = (t > starts[0]) & (t < starts[-1] + 1)
  far = (t < 20) | (t > 100)
  # The series stands > 6 dB above the branch's level away from it.
  assert s[inside].max() > np.median(s[far]) + 6
  assert t[np.argmax(s)] > starts[0] - 12 and t[np.argmax(s)] < starts[-1] + 13
  # The mels' lowest band (10-~100 Hz) barely moves: the pulses are 20 dB
  # below the noise in that band, as in the archive's faint fin calls.
  db = np.asarray(features.logmel(x, MEL))[:, 0]
  frame_t = np.arange(db.size) * MEL.hop / MEL.rate
  on = np.zeros(db.size, bool)
  for s0 in starts:
    on |= (frame_t > s0 + 0.25) & (frame_t < s0 + 0.75)
  assert db[on].mean() - np.median(db[~on]) < 1.0


def test_pulse_band_powers_against_numpy():
  x = _pulse_train(MEL.rate, 30, [10.0], amp=0.01)
  got = np.asarray(pulse.band_db(
      pulse.decimate(x, PULSE.pulse_decim), MEL, PULSE))
  y = x[:x.size // 16 * 16].reshape(-1, 16).mean(1).astype(np.float64)
  n_win = MEL.n_windows(x.size)
  centre = (MEL.first_frame + np.arange(n_win) * MEL.stride + 2) * 16
  y = np.pad(y, (256, 256 + 4096))
  frames = np.stack([y[c:c + 512] for c in centre])
  import scipy.signal  # pylint: disable=g-import-not-at-top
  frames = scipy.signal.detrend(frames, axis=1)
  power = np.abs(np.fft.rfft(frames * np.hanning(513)[:-1], axis=1)) ** 2
  f = np.fft.rfftfreq(512, 16 / MEL.rate)
  want = np.stack([power[:, (f >= lo) & (f < hi)].mean(1) for lo, hi in
                   [PULSE.pulse_band] + list(PULSE.pulse_ref)], 1)
  np.testing.assert_allclose(got[:n_win], 10 * np.log10(want), atol=0.02)
  with pytest.raises(ValueError, match="pulse band"):
    pulse.PulseConfig(pulse_band=(30.0, 20.0),
                      pulse_detector="band").check(MEL)
  with pytest.raises(ValueError, match="pulse sweep"):
    pulse.PulseConfig(pulse_sweep=(23.0, 500.0)).check(MEL)
  with pytest.raises(ValueError, match="matched, band"):
    pulse.PulseConfig(pulse_detector="comb")


class MatchedFilterTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_matched_power_against_scipy(self):
    starts = [10.0, 21.0]
    x = _pulse_train(MEL.rate, 40, starts, amp=0.004)
    y = pulse.decimate(x, PULSE.pulse_decim)
    got = self.variant(functools.partial(pulse.matched_power, mel=MEL,
                                         cfg=PULSE))(y)
    n_win = (MEL.n_frames(y.size * 16) - MEL.first_frame - MEL.context
             ) // MEL.stride + 1
    chex.assert_shape(got, (n_win,))
    chex.assert_type(got, np.float32)
    # Reference: scipy's full correlation with the hand-built analytic
    # pulse; start j of a pulse centred on c is c - L // 2, and each window
    # takes the max over the 64 starts of its hop.
    import scipy.signal  # pylint: disable=g-import-not-at-top
    rate = MEL.rate / 16
    v = np.arange(int(rate)) / rate
    tm = np.sin(np.pi * v) ** 2 * np.exp(2j * np.pi * (23 * v - 2.5 * v ** 2))
    tm /= np.linalg.norm(tm)
    np.testing.assert_allclose(pulse.template(MEL, PULSE), tm, atol=1e-6)
    full = np.abs(scipy.signal.correlate(y.astype(np.float64), tm,
                                         mode="full")) ** 2
    centre = (MEL.first_frame + np.arange(n_win) * MEL.stride + 2) * 16
    start = centre - tm.size // 2 - 32
    want = np.stack([full[np.clip(s + np.arange(64), -tm.size + 1, None)
                          + tm.size - 1].max() for s in start])
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-9)
    # It peaks on the pulses: each pulse's centre window is a local top.
    t = MEL.window_times(n_win)
    for s0 in starts:
      near = np.abs(t - (s0 + 0.5)) < 0.2
      assert got[near].max() > 100 * np.median(got)


def test_fusion_calibrates_each_score_and_takes_the_max(tmp_path):
  rng = np.random.default_rng(0)
  typical = {"np": rng.normal(10, 2, 1000), "low": rng.normal(0, 0.5, 1000)}
  files = [{k: v[:600] for k, v in typical.items()},
           {k: v[600:] for k, v in typical.items()}]
  f = fusion.fit(files, ("np", "low"), 0.99, PULSE, low_quantile=0.98)
  np.testing.assert_allclose(f.median, [np.median(typical["np"]),
                                        np.median(typical["low"])])
  fused = f(typical)
  # Each calibrated score is 1.0 at its own quantile (NP 99th, low 98th).
  cal_np = (typical["np"] - f.median[0]) / f.scale[0]
  assert abs(np.quantile(cal_np, 0.99) - 1.0) < 1e-6
  cal_low = (typical["low"] - f.median[1]) / f.scale[1]
  assert abs(np.quantile(cal_low, 0.98) - 1.0) < 1e-6  # its own quantile
  np.testing.assert_allclose(fused, np.maximum(
      cal_np, (typical["low"] - f.median[1]) / f.scale[1]), rtol=1e-5,
                             atol=1e-6)
  f.save(str(tmp_path))
  assert fusion.load(str(tmp_path)) == f
  assert fusion.load(str(tmp_path / "none")) is None
  with pytest.raises(ValueError, match="gmm_nll"):
    f({"np": typical["np"], "gmm_nll": typical["low"]})
  # Smoothing: the detector's scores averaged over 3 windows of each file,
  # the low branch's left alone; by hand for one window.
  f3 = fusion.fit(files, ("np", "low"), 0.99, PULSE, smooth=3)
  got = f3({"np": np.array([0.0, 3.0, 6.0]), "low": np.full(3, -9.0)})
  assert got[1] == np.float32((3.0 - f3.median[0]) / f3.scale[0])
  assert got[0] == np.float32((1.0 - f3.median[0]) / f3.scale[0])
  # The tonal branch is not averaged either; its settings are kept.
  ft = fusion.fit([{"tonal": np.arange(10.0)}], ("tonal",), 0.9, PULSE,
                  smooth=3, tonal_cfg=tonal.TonalConfig(tonal_frames=6))
  np.testing.assert_allclose(ft({"tonal": np.array([4.5, 9.0, 0.0])}),
                             [0.0, 4.5 / 3.6, -4.5 / 3.6], rtol=1e-6)
  ft.save(str(tmp_path))
  assert fusion.load(str(tmp_path)).tonal.tonal_frames == 6
  # The tonal branch's own quantile: 0.5 -> scale = 7.2 - 4.5 (np.quantile
  # of 0..9 at 0.5 and 0.8); the other keys keep ``quantile``.
  fq = fusion.fit([{"tonal": np.arange(10.0), "np": np.arange(10.0)}],
                  ("np", "tonal"), 0.8, PULSE, tonal_quantile=0.5)
  assert fq.scale[0] == pytest.approx(2.7)
  assert fq.scale[1] == pytest.approx(1e-6)  # 0.5 quantile = the median
  fq = fusion.fit([{"tonal": np.arange(10.0), "np": np.arange(10.0)}],
                  ("np", "tonal"), 0.8, PULSE, tonal_quantile=0.9)
  assert fq.scale == pytest.approx((2.7, 8.1 - 4.5))
  # Peaks of the low branch (low_nms): by brute force, ties 6 windows
  # apart keep the first; NaN stays NaN; 0 windows: the scores as they are.
  c = rng.normal(0, 2, 200)
  c[[50, 56, 120, 126]] = 9.0
  c[7] = np.nan
  want = np.minimum(c, 0)
  for t in range(c.size):
    before = np.nan_to_num(c[max(0, t - 6):t], nan=-np.inf)
    after = np.nan_to_num(c[t + 1:t + 7], nan=-np.inf)
    if (not before.size or c[t] > before.max()) and (
        not after.size or c[t] >= after.max()) or np.isnan(c[t]):
      want[t] = c[t]
  got = fusion.peaks(c, 6)
  np.testing.assert_allclose(got, want)
  assert got[50] == 9.0 and got[56] == 0.0 and np.isnan(got[7])
  assert fusion.peaks(c, 0) is c
  # In the fusion: the low branch's peaks only, after its calibration.
  fp = fusion.fit(files, ("np", "low"), 0.99, PULSE, low_quantile=0.98,
                  low_nms=6)
  assert (fp.median, fp.scale) == (f.median, f.scale)
  lo = {"np": np.full(200, -50.0), "low": c}
  np.testing.assert_allclose(fp(lo), np.maximum(
      (lo["np"] - f.median[0]) / f.scale[0],
      fusion.peaks((c - f.median[1]) / f.scale[1], 6)), rtol=1e-5, atol=1e-6)
  fp.save(str(tmp_path))
  assert fusion.load(str(tmp_path)) == fp
  # The scan's comb settings (nested tuples) come back as saved.
  comb = pulse.PulseConfig(pulse_count=3, pulse_series="comb",
                           period_range=(8.0, 14.0))
  fc = fusion.fit(files, ("np", "low"), 0.99, comb)
  fc.save(str(tmp_path))
  assert fusion.load(str(tmp_path)) == fc
  # A first-round calibration (no detector, sweep, series or tonal fields)
  # is the band branch with the later fields' defaults; one without its
  # band settings is not a calibration.
  with open(tmp_path / fusion.FILE) as fh:
    d = json.load(fh)
  old = {k: d["pulse"][k] for k in ("pulse_decim", "pulse_n_fft",
                                    "pulse_band", "pulse_ref", "pulse_s",
                                    "period_s", "pulse_count")}
  with open(tmp_path / fusion.FILE, "w") as fh:
    json.dump({**d, "pulse": old} | {"tonal": {}}, fh)
  got = fusion.load(str(tmp_path)).pulse
  assert got == pulse.PulseConfig(pulse_detector="band", pulse_count=3)
  with open(tmp_path / fusion.FILE, "w") as fh:
    json.dump({**d, "pulse": {k: v for k, v in old.items()
                              if k != "pulse_band"}}, fh)
  with pytest.raises(DataError, match="not a fusion calibration"):
    fusion.load(str(tmp_path))


class TonalTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_tonal_branch_against_numpy_and_on_an_fm_tone(self):
    # 2^20 samples (175 s at 6 kHz) of red-ish noise; a 1 s, 300 -> 700 Hz
    # FM unit at 20 s (sin^2 envelope, as the planted humpback units).
    rng = np.random.default_rng(0)
    n = features.BUCKET
    x = np.cumsum(rng.normal(0, 1e-3, n)) * 0.02 + rng.normal(0, 1e-3, n)
    v = np.arange(MEL.rate) / MEL.rate
    unit = np.sin(np.pi * v) ** 2 * np.sin(2 * np.pi * (300 * v + 200 * v ** 2))
    x[20 * MEL.rate:21 * MEL.rate] += 2e-3 * unit
    x = x.astype(np.float32)
    cfg = tonal.TonalConfig(tonal_band=(100.0, 2000.0))
    lo, hi = tonal.bins(MEL, cfg)
    assert (lo, hi) == (9, 170)  # 100-2,000 Hz in 11.7 Hz bins
    # The tonal powers come out of the features' own STFT pass.
    power = self.variant(functools.partial(
        features._power, cfg=MEL, tonal_bins=(lo, hi)))(x)[2]
    chex.assert_shape(power, (n // MEL.hop + 1, hi - lo + 1))
    chex.assert_type(power, np.float32)
    ff = features.analyse(x, MEL, tonal_bins=(lo, hi))
    np.testing.assert_allclose(ff.tonal, power, rtol=1e-5)
    got = tonal.frame_log_max(ff.tonal)
    # Reference: numpy's rfft of centred, periodic-Hann frames (scipy's
    # window), each frame's linear trend removed (MEL.detrend), each bin's
    # median over every 4th frame.
    import scipy.signal  # pylint: disable=g-import-not-at-top
    assert MEL.detrend
    xp = np.pad(x.astype(np.float64), MEL.n_fft // 2)
    idx = np.arange(n // MEL.hop + 1)[:, None] * MEL.hop + np.arange(
        MEL.n_fft)
    fr = scipy.signal.detrend(xp[idx], axis=1)
    p = np.abs(np.fft.rfft(fr * scipy.signal.get_window("hann", MEL.n_fft),
                           axis=1)[:, lo:hi + 1]) ** 2
    np.testing.assert_allclose(power, p, rtol=1e-3, atol=1e-9 * p.max())
    ratio = p / np.median(p[::4], axis=0)
    want = np.log(ratio.max(axis=1))
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=2e-3)
    # Tracked (5 frames, 2 bins either side), by hand: each ratio the max
    # of its 5 bins, then the mean of 5 frames (edges repeated).
    sw = np.lib.stride_tricks.sliding_window_view
    r = sw(np.pad(ratio, ((0, 0), (2, 2)), mode="edge"), 5, axis=1).max(-1)
    r = sw(np.pad(r, ((2, 2), (0, 0)), mode="edge"), 5, axis=0).mean(-1)
    np.testing.assert_allclose(tonal.frame_log_max(ff.tonal, 5, 2),
                               np.log(r.max(axis=1)), rtol=1e-3, atol=2e-3)
    # Per window: the 12-frame mean peaks on the unit, far above noise.
    s = tonal.file_scores(x, MEL, cfg)
    chex.assert_shape(s, (MEL.n_windows(n),))
    t = MEL.window_times(len(s))
    on = np.abs(t - 20.5) < 0.3
    assert s[on].max() > np.quantile(s[~(np.abs(t - 20.5) < 1.5)], 1) + 1.0
    st = tonal.file_scores(x, MEL, dataclasses.replace(cfg, track_frames=5,
                                                       track_bins=2))
    assert st[on].max() > np.quantile(st[~(np.abs(t - 20.5) < 1.5)], 1) + 1.0
    with pytest.raises(ValueError, match="track_frames"):
      tonal.TonalConfig(track_frames=0).check(MEL)


def test_tonal_tracking_pads_frames_to_a_bucket_and_matches_scipy():
  # Files of different lengths within one frame bucket share one compiled
  # shape; the padding (edge rows) leaves the scores as scipy's filters
  # with their 'nearest' edges give them.
  import scipy.ndimage  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(3)
  before = tonal._frame_log_max._cache_size()
  for f in (700, 1000, 1024):  # one bucket of tonal.FRAME_BUCKET frames
    p = rng.exponential(1.0, (f, 40)).astype(np.float32)
    r = p / np.median(p[::tonal.MEDIAN_STEP], axis=0)
    r = scipy.ndimage.maximum_filter1d(r, 5, axis=1, mode="nearest")
    r = scipy.ndimage.uniform_filter1d(r, 5, axis=0, mode="nearest")
    got = tonal.frame_log_max(p, 5, 2)
    chex.assert_shape(got, (f,))
    chex.assert_type(got, np.float32)
    np.testing.assert_allclose(got, np.log(r.max(axis=1)), rtol=1e-5,
                               atol=1e-6)
  assert tonal._frame_log_max._cache_size() - before <= 1


def test_tonal_window_scores_reject_powers_of_another_band():
  n = features.BUCKET // 8
  power = np.ones((MEL.n_frames(n), 5), np.float32)
  with pytest.raises(ValueError, match="tonal power of shape"):
    tonal.window_scores(power, n, MEL, tonal.TonalConfig())


def _comb_reference(c, fps, count, lo, hi, tol):
  """Brute force: max over whole-frame periods p of the mean of the
  largest c within +-tol frames of t + (j - count // 2) p (0 off the end)."""
  n, h = c.size, count // 2
  best = np.full(n, -np.inf)
  for p in range(int(np.floor(lo * fps)), int(np.ceil(hi * fps)) + 1):
    for t in range(n):
      teeth = []
      for j in range(count):
        u = t + (j - h) * p
        if 0 <= u < n:
          teeth.append(c[max(0, u - tol):min(n, u + tol + 1)].max())
        else:
          teeth.append(0.0)
      best[t] = max(best[t], np.mean(teeth))
  return best


class CombTest(chex.TestCase, parameterized.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(dict(count=3, tol_s=0.0),
                            dict(count=5, tol_s=0.5))
  def test_against_brute_force(self, count, tol_s):
    fps = 2.0
    cfg = pulse.PulseConfig(pulse_count=count, pulse_series="comb",
                            period_range=(4.0, 6.0), pulse_tol_s=tol_s)
    c = np.random.default_rng(1).normal(0, 2, 120).astype(np.float32)
    got = self.variant(functools.partial(pulse.comb, fps=fps, cfg=cfg))(c)
    chex.assert_shape(got, c.shape)
    chex.assert_type(got, np.float32)
    want = _comb_reference(c, fps, count, 4.0, 6.0, int(round(tol_s * fps)))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)

  def test_a_series_outscores_a_lone_spike_of_the_same_height(self):
    fps = 5.0
    cfg = pulse.PulseConfig(pulse_count=3, pulse_series="comb",
                            period_range=(9.0, 13.0))
    c = np.zeros(1000, np.float32)
    c[[200, 255, 310]] = 10.0        # 3 pulses, 11 s apart
    c[700] = 10.0                    # one pulse alone
    s = np.asarray(pulse.series(c, fps, cfg))
    np.testing.assert_allclose(s[255], 10.0, rtol=1e-6)  # all 3 teeth hit
    assert s[600:800].max() == pytest.approx(10.0 / 3)
    # The single-pulse score (pulse_count=1) does not tell them apart.
    one = np.asarray(pulse.series(c, fps, pulse.PulseConfig(pulse_count=1)))
    assert one[255] == one[700]
    # The comb lifts the windows a period before the first pulse (one of
    # three teeth): the fusion's low_nms keeps the series' peak only.
    assert s[200 - 50] == pytest.approx(10.0 / 3)

  def test_bad_settings_raise(self):
    with pytest.raises(ValueError, match="period range"):
      pulse.PulseConfig(period_range=(13.0, 9.0)).check(MEL)
    with pytest.raises(ValueError, match="pulse_tol_s"):
      pulse.PulseConfig(pulse_tol_s=-1.0).check(MEL)
    with pytest.raises(ValueError, match="max, comb"):
      pulse.PulseConfig(pulse_series="sum")


def test_analysis_is_the_features_and_both_branches_in_one_program():
  # A fin-like series plus a tone in noise, at two lengths of one BUCKET:
  # analysis.analyse gives what features.analyse, pulse.file_scores and
  # tonal.file_scores give on their own (the low branch's decimation runs
  # in XLA here, on the host there: float32 rounding), one compilation.
  mel = dataclasses.replace(MEL, low_bands=(12.0, 18.0, 24.0, 30.0),
                            low_decim=16)
  tone = tonal.TonalConfig(tonal_band=(100.0, 2000.0), track_frames=5,
                           track_bins=2)
  x = _pulse_train(mel.rate, 150, 40.0 + 11.0 * np.arange(3), amp=0.004)
  v = np.arange(mel.rate) / mel.rate
  x[100 * mel.rate:101 * mel.rate] += 3e-3 * np.sin(
      2 * np.pi * (400 * v + 150 * v ** 2)).astype(np.float32)
  rng = np.random.default_rng(5)
  mean = rng.normal(0, 1, mel.dim).astype(np.float32)
  std = rng.uniform(0.5, 2, mel.dim).astype(np.float32)
  before = analysis._analyse._cache_size()
  for n in (x.size, x.size - 12345):
    y = x[:n]
    got = analysis.analyse(y, mel, mean, std, low=PULSE, tone=tone)
    ff = features.analyse(y, mel, mean, std)
    w = mel.n_windows(n)
    for a, b in ((got.windows, ff.windows), (got.energy, ff.energy),
                 (got.mels, ff.mels)):
      np.testing.assert_array_equal(a, b)
    chex.assert_shape([got.low, got.tonal], (w,))
    np.testing.assert_allclose(got.low, pulse.file_scores(y, mel, PULSE),
                               atol=1e-3)
    np.testing.assert_allclose(got.tonal, tonal.file_scores(y, mel, tone),
                               atol=1e-5)
    t = mel.window_times(w)
    assert abs(t[np.argmax(got.tonal)] - 100.5) < 1.0
    assert 40.0 - 12 < t[np.argmax(got.low)] < 63.0 + 13
  assert analysis._analyse._cache_size() - before == 1
  bare = analysis.analyse(x, mel)
  assert bare.low is None and bare.tonal is None
  with pytest.raises(ValueError, match="track_frames"):
    analysis.analyse(x, mel, tone=tonal.TonalConfig(track_frames=0))
