"""The embedded synthetic ACO archive: deterministic by seed.

What it holds (default ``SynthConfig``): three days, 2016-11-30 (header
layout 1) and 2016-12-01/02 (layout 2), each with two contiguous one-hour
blocks of 5-minute ``HYD24BBpk`` files at 24 kHz: 05:00-06:00 UTC (19:00
Hawaii time, the quiet evening) and 20:00-21:00 UTC (10:00 Hawaii time, the
busy morning).  72 files, 6 hours of audio, about 1.3 GB.  Full days at
24 kHz would be 288 files (~5 GB) a day: more than the 10-minute budget of
``experiments/aco_main.py`` on 2 cores allows.

Every file has ocean ambient noise (red spectrum with a white floor, its
level drifting with the "weather"), a DC offset and a pressure swell (a
0.07-0.1 Hz wave, plainly visible in the raw samples); ship passages (blade
tonals + broadband noise, rising and falling over ~20 minutes); and planted
biological events, about 8 times as many per hour by day as in the evening:
humpback-like FM song units with harmonics (100-4,000 Hz), fin-whale-like
20 Hz pulse series, minke-like "boings" (a ~1.4 kHz carrier pulsed at ~90 Hz)
and click trains.  Each event's in-band SNR is drawn from a range, so some
are faint.  ``events.csv`` lists them (file, start, end, kind, snr_db,
recorded), ship passages too (kind ``ship``: scenery, not planted events;
the evaluation does not count them, see ``evaluation.summarize``).

Another mix for held-out tests (``synth --snr_db LO HI --ships_per_block N
--noise pink``, ``experiments/aco_heldout.py``): the SNR range, the ship
passages per block and the noise colour (``ocean.Noise``) are fields of
``SynthConfig``.

Damage, on purpose: one file truncated mid-record, one with a sample width
of 0 in a record header, one whose header clock is 90 s off its name, and
the 20:00 hour of 2016-12-01 continues into a missing hour (21:00-22:00,
its events have ``recorded=0``).  Evening blocks are 24-bit, morning blocks
16-bit on day 1 and 3 and 24-bit on day 2.
"""
import csv
import dataclasses
import datetime as dt
import fcntl
import json
import os
import shutil

import numpy as np
import scipy.signal

from anomaly_jax.aco import fmt, ocean, writer
from jaxtk import configs
from jaxtk.progress import progress

KINDS = ("humpback", "fin", "minke", "clicks")


@dataclasses.dataclass(frozen=True)
class SynthConfig:
  """What to synthesise.

  Attributes:
    seed: everything is a function of it.
    days: first day (ISO) and number of days.
    blocks: (UTC hour, files) of each recorded block per day.
    rate: sample rate (Hz; the extension says HYD<rate/1000>BBpk).
    day_hours: UTC hours counted as "day" (more events).
    events_per_hour: (evening, day) mean planted events per hour.
    ships_per_block: mean ship passages per block.
    file_seconds: nominal length of each file.
    snr_db: range (low, high) of the events' in-band SNR, dB.
    damage: plant the damaged files and the missing hour.
    noise: colour of the ambient noise (``ocean.Noise``); the events' SNR is
      measured against it, so their levels follow it.
  """
  seed: int = 0
  first_day: str = "2016-11-30"
  n_days: int = 3
  blocks: tuple = ((5, 12), (20, 12))
  rate: int = 24000
  day_hours: tuple = tuple(range(16, 24)) + tuple(range(0, 3))
  events_per_hour: tuple = (3.0, 24.0)
  ships_per_block: float = 0.6
  file_seconds: int = 300
  snr_db: tuple = (0.0, 16.0)
  damage: bool = True
  noise: ocean.Noise = ocean.Noise.RED

  def __post_init__(self):
    object.__setattr__(self, "noise", configs.choice("noise", self.noise,
                                                     ocean.Noise))
    object.__setattr__(self, "snr_db", tuple(float(v) for v in self.snr_db))
    if len(self.snr_db) != 2 or not self.snr_db[0] <= self.snr_db[1]:
      raise ValueError(f"snr_db={self.snr_db}: expected (low, high) dB with "
                       "low <= high")
    if not 0 <= self.ships_per_block <= 20:
      raise ValueError(f"ships_per_block={self.ships_per_block}: expected "
                       "0..20 passages per block")

  def schedule(self):
    """[(start datetime, bits)] of every planned file (damage aside)."""
    day0 = dt.datetime.fromisoformat(self.first_day)
    out = []
    for d in range(self.n_days):
      for b, (hour, n) in enumerate(self.blocks):
        bits = 24 if b == 0 or d == 1 else 16
        t = day0 + dt.timedelta(days=d, hours=hour)
        out += [(t + dt.timedelta(seconds=self.file_seconds * i), bits)
                for i in range(n)]
    return out


# ---- events ----------------------------------------------------------------


def _plan(cfg: SynthConfig, rng, t0: float, seconds: float, hour: int):
  """Events of one block: dicts with start/end (absolute s) and params."""
  day = hour in cfg.day_hours
  lam = cfg.events_per_hour[int(day)] * seconds / 3600.0
  events = []
  for _ in range(rng.poisson(lam)):
    kind = KINDS[rng.choice(4, p=(0.4, 0.2, 0.2, 0.2))]
    dur = {"humpback": rng.uniform(5, 12), "fin": rng.uniform(25, 50),
           "minke": rng.uniform(2.5, 3.5), "clicks": rng.uniform(4, 12)}[kind]
    start = t0 + rng.uniform(5, seconds - dur - 5)
    events.append(dict(kind=kind, start=start, end=start + dur,
                       snr=rng.uniform(*cfg.snr_db),
                       seed=int(rng.integers(1 << 31))))
  for _ in range(rng.poisson(cfg.ships_per_block)):
    cpa = t0 + rng.uniform(0.2, 0.8) * seconds
    tau = rng.uniform(150, 300)  # s: level falls 7 dB at cpa +- tau
    events.append(dict(kind="ship", start=cpa - 2 * tau, end=cpa + 2 * tau,
                       cpa=cpa, tau=tau, snr=rng.uniform(8, 16),
                       f0=rng.uniform(8, 14), seed=int(rng.integers(1 << 31))))
  return sorted(events, key=lambda e: e["start"])


def _tone_amp(snr_db, f, rate, bw=None, noise=ocean.Noise.RED):
  bw = max(40.0, f / 4) if bw is None else bw
  return np.sqrt(2 * ocean.band_noise_power(f, bw, rate, noise)) * 10 ** (
      snr_db / 20)


def _render(e, t: np.ndarray, rate: int,
            noise: ocean.Noise = ocean.Noise.RED) -> np.ndarray:
  """The event's waveform at absolute times ``t`` (float64 s), its level
  set against ``noise``."""
  rng = np.random.default_rng(e["seed"])
  u = t - e["start"]
  d = e["end"] - e["start"]
  out = np.zeros(t.size)
  if e["kind"] == "ship":
    env = 1 / (1 + ((t - e["cpa"]) / e["tau"]) ** 2)
    # Blade-rate harmonics sin(k th), k = 1..8, by the Chebyshev recursion
    # sin(k th) = 2 cos(th) sin((k-1) th) - sin((k-2) th): one sin, one cos.
    f = e["f0"] * 4
    th = (2 * np.pi * ((f * (t - t[0])) % 1.0) + 2 * np.pi * (
        (f * t[0]) % 1.0)).astype(np.float32) if t.size else t
    c2 = 2 * np.cos(th)
    prev, cur = np.zeros_like(th), np.sin(th)
    out = np.zeros(t.size, np.float32)
    for k in range(1, 9):
      amp = _tone_amp(e["snr"] - 2 * k, f * k, rate, noise=noise)
      out += np.float32(amp) * cur
      prev, cur = cur, c2 * cur - prev
    bb = rng.standard_normal(t.size, np.float32)
    bb = scipy.signal.lfilter(np.float32([1]), np.float32([1, -0.9]), bb)
    bb *= np.float32(ocean.NOISE_STD * 0.3 * 10 ** (e["snr"] / 20 - 1))
    return (out + bb) * env.astype(np.float32)
  if e["kind"] == "humpback":
    n_units = rng.integers(2, 5)
    slots = np.sort(rng.uniform(0, d - 1.5, n_units))
    for s in slots:
      ud = rng.uniform(0.8, 1.5)
      f0, f1 = rng.uniform(150, 1200, 2)
      v = u - s
      on = (v >= 0) & (v < ud)
      if not on.any():
        continue
      f = f0 + (f1 - f0) * v[on] / ud
      ph = 2 * np.pi * (f0 * v[on] + (f1 - f0) * v[on] ** 2 / (2 * ud))
      env = np.sin(np.pi * v[on] / ud) ** 2
      for h in (1, 2, 3):
        amp = _tone_amp(e["snr"] - 6 * (h - 1), f.mean() * h, rate,
                        noise=noise)
        out[on] += amp * env * np.sin(h * ph) * (f * h < 4000)
    return out
  if e["kind"] == "fin":
    for s in np.arange(0.5, d - 1.0, rng.uniform(9, 13)):
      v = u - s
      on = (v >= 0) & (v < 1.0)
      ph = 2 * np.pi * (23 * v[on] - 2.5 * v[on] ** 2)  # 23 -> 18 Hz
      out[on] += _tone_amp(e["snr"], 20.0, rate, 12.0, noise) * np.sin(
          np.pi * v[on]) ** 2 * np.sin(ph)
    return out
  if e["kind"] == "minke":
    on = (u >= 0) & (u < d)
    v = u[on]
    env = np.minimum(v / 0.05, 1) * np.exp(-v / (2 * d)) * (v < d - 0.1)
    carrier = np.sin(2 * np.pi * (1350 * v + 40 * v ** 2))
    pulse = 0.5 * (1 + np.cos(2 * np.pi * 92 * v))
    amp = _tone_amp(e["snr"], 1400, rate, noise=noise)
    out[on] = amp * 1.5 * env * carrier * pulse
    return out
  # Click train: clicks of ~0.2 ms at 6-11 kHz (at 24 kHz) every 0.1-0.6 s.
  ici = rng.uniform(0.1, 0.6)
  fc = rng.uniform(0.25, 0.45) * rate
  amp = np.sqrt(2 * ocean.band_noise_power(fc, fc / 3, rate, noise)) * (
      10 ** (e["snr"] / 20) * 30)
  for s in np.arange(0.05, d, ici):
    v = u - s
    on = np.abs(v) < 1e-3
    out[on] += amp * np.exp(-(v[on] / 2e-4) ** 2) * np.sin(2 * np.pi * fc
                                                           * v[on])
  return out


# ---- the archive -----------------------------------------------------------


def build(basedir: str, cfg: SynthConfig = SynthConfig()) -> str:
  """Writes the archive, ``events.csv`` and ``manifest.json`` under
  ``basedir`` (replaced atomically: built in a sibling, then renamed)."""
  basedir = os.path.abspath(basedir)
  tmp = basedir + ".building"
  shutil.rmtree(tmp, ignore_errors=True)
  os.makedirs(tmp)
  rng = np.random.default_rng(cfg.seed)
  epoch = dt.datetime(1970, 1, 1)
  files = cfg.schedule()
  # Blocks: runs of consecutive files.
  events, block_of = [], {}
  day0 = dt.datetime.fromisoformat(cfg.first_day)
  for d in range(cfg.n_days):
    for hour, n in cfg.blocks:
      t0 = (day0 + dt.timedelta(days=d, hours=hour) - epoch).total_seconds()
      seconds = n * cfg.file_seconds
      if cfg.damage and d == 1 and hour == cfg.blocks[-1][0]:
        seconds += 3600  # the block runs on into the missing hour
      events += _plan(cfg, rng, t0, seconds, hour)
  damaged = {}
  if cfg.damage:
    n = len(files)
    damaged = {files[n - 1 - n // 16][0]: "truncated",
               files[n - 1 - n // 8][0]: "bad_width",
               files[n // 4 + 1][0]: "clock"}
  written = []
  for start, bits in progress(files, desc="synth", unit="file",
                              disable=False):
    t_abs0 = (start - epoch).total_seconds()
    n = -(-cfg.file_seconds * cfg.rate // 4096) * 4096  # whole records
    frng = np.random.default_rng([cfg.seed, int(t_abs0)])
    x = ocean.ambient(frng, n, t_abs0, cfg.rate, cfg.noise)
    x += ocean.swell(n, t_abs0, cfg.rate, start.toordinal())
    t_end = t_abs0 + n / cfg.rate
    for e in events:
      if e["end"] > t_abs0 and e["start"] < t_end:
        lo = max(0, int((e["start"] - t_abs0) * cfg.rate))
        hi = min(n, int(np.ceil((e["end"] - t_abs0) * cfg.rate)))
        t = t_abs0 + np.arange(lo, hi) / cfg.rate
        x[lo:hi] += _render(e, t, cfg.rate, cfg.noise).astype(np.float32)
    full = (1 << (bits - 1)) - 1
    counts = np.clip(np.round(x * (full + 1)), -full - 1, full)
    path = writer.write_file(tmp, start, counts.astype(np.int32), bits=bits,
                             rate=cfg.rate)
    _damage(path, damaged.get(start), bits)
    written.append((start, damaged.get(start)))
  _write_events(tmp, cfg, events, written)
  with open(os.path.join(tmp, "manifest.json"), "w") as f:
    json.dump({"config": config_json(cfg), "files": len(written),
               "damaged": {str(k): v for k, v in damaged.items()}}, f,
              indent=1)
  shutil.rmtree(basedir, ignore_errors=True)
  os.rename(tmp, basedir)
  return basedir


def _cut(n_records: int) -> int:
  """The record the truncated file is cut in (57 % of the way)."""
  return int(n_records * 0.57)


def _damage(path, how, bits):
  n_rec = os.path.getsize(path) // fmt.record_bytes(bits)
  if how == "truncated":  # cut 1000 bytes into a record's payload
    with open(path, "r+b") as f:
      f.truncate(_cut(n_rec) * fmt.record_bytes(bits) + 36 + 1000)
  elif how == "bad_width":  # width 0 in a record 40 % of the way
    with open(path, "r+b") as f:
      f.seek(int(n_rec * 0.4) * fmt.record_bytes(bits) + 35)
      f.write(b"\x00")
  elif how == "clock":  # a consistent header clock, 90 s late
    start, rate = fmt.parse_name(path)
    layout = fmt.layout_for(start)
    raw = np.fromfile(path, np.uint8).reshape(n_rec, fmt.record_bytes(bits))
    h = writer.make_headers(n_rec, start + dt.timedelta(seconds=90), rate,
                            bits, layout)
    raw[:, :fmt.HEADER_BYTES] = h.view(np.uint8).reshape(n_rec, -1)
    raw.tofile(path)


def _write_events(tmp, cfg, events, written):
  epoch = dt.datetime(1970, 1, 1)
  spans = []
  for start, how in written:
    a = (start - epoch).total_seconds()
    n_rec = -(-cfg.file_seconds * cfg.rate // 4096)
    b = a + (_cut(n_rec) * 4096 / cfg.rate if how == "truncated"
             else cfg.file_seconds)
    if how != "bad_width":
      spans.append((a, b, start))
  with open(os.path.join(tmp, "events.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["file", "start", "end", "kind", "snr_db", "recorded"])
    for e in events:
      inside = [s for s in spans if s[0] <= e["start"] < s[1]]
      over = any(a < e["end"] and e["start"] < b for a, b, _ in spans)
      t = lambda s: (epoch + dt.timedelta(seconds=s)).isoformat(
          timespec="milliseconds")
      name = fmt.relative_path(inside[0][2], cfg.rate // 1000) if inside else ""
      w.writerow([name, t(e["start"]), t(e["end"]), e["kind"],
                  f"{e['snr']:.1f}", int(over)])


def config_json(cfg):
  """The config as JSON; ``noise`` (added later) only when not red, so the
  manifests of archives built before it still match their config."""
  d = json.loads(json.dumps(dataclasses.asdict(cfg)))
  if cfg.noise == ocean.Noise.RED:
    del d["noise"]
  return d


def mix(seed: int = 0, snr_db=None, ships_per_block=None,
        noise=None) -> SynthConfig:
  """``SynthConfig`` of ``seed`` with the mix options that are not None."""
  given = dict(snr_db=snr_db, ships_per_block=ships_per_block, noise=noise)
  return SynthConfig(seed=seed, **{k: v for k, v in given.items()
                                   if v is not None})


def default_dir() -> str:
  """``$ACO_ARCHIVE``, else ``<repo>/data/aco``."""
  repo = os.path.dirname(os.path.dirname(os.path.dirname(
      os.path.abspath(__file__))))
  return os.environ.get("ACO_ARCHIVE", os.path.join(repo, "data", "aco"))


def ensure_archive(basedir: str | None = None,
                   cfg: SynthConfig = SynthConfig()) -> str:
  """The archive at ``basedir`` (default ``default_dir()``), built first if
  it is missing or was built from another config.  Two processes asking
  for the same archive take turns (a lock file beside it): the second finds
  it built."""
  basedir = default_dir() if basedir is None else basedir
  man = os.path.join(basedir, "manifest.json")
  lock_path = os.path.abspath(basedir) + ".lock"
  os.makedirs(os.path.dirname(lock_path), exist_ok=True)
  with open(lock_path, "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    if os.path.exists(man):
      with open(man) as f:
        if json.load(f).get("config") == config_json(cfg):
          return basedir
    return build(basedir, cfg)


def read_events(basedir: str) -> list[dict]:
  """Rows of ``events.csv`` with datetimes (empty if there is none)."""
  path = os.path.join(basedir, "events.csv")
  if not os.path.exists(path):
    return []
  with open(path) as f:
    rows = list(csv.DictReader(f))
  for r in rows:
    r["start"] = dt.datetime.fromisoformat(r["start"])
    r["end"] = dt.datetime.fromisoformat(r["end"])
    r["recorded"] = r["recorded"] == "1"
  return rows
