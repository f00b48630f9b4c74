"""Training throughput: our jitted JAX step vs the paper's PyTorch stack.

Same config (default: the paper's, acoustic 6x4, phone 4x16, d_model 256,
d_ff 1024, post-LN, dropout 0.1, mean pooling), same batches (drawn from
the embedded corpus, else the small corpus, else synthetic lengths; the
run says which), same loss (eq. 4, k most offending, semi-hard).  Three
implementations, each in its own subprocess so that peak memory (ru_maxrss)
is its own: ``jax`` (this package), ``torch`` (eager ``nn.TransformerEncoder``,
as the paper used) and ``compile`` (the same under ``torch.compile``).
One batch per length bucket, weighted by the bucket's share of an epoch (the
corpus' real length mix); every batch is run once untimed (compilation),
then timed.  The JAX side lays the same words out as training does
(``--pack=on``: several words per row where that saves positions,
:mod:`awe_jax.packing`); PyTorch gets the padded batches.

Both shipped configs by default; ``--rounds=N`` runs the implementations N
times, interleaved, and keeps each one's best round (for a shared machine).

  python bench/awe_step.py [--configs=default,paper] [--rounds=1] [--repeats=1]
  python bench/awe_step.py --config=default --rounds=3 --repeats=5
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def get_batches(args, cfg):
  """The timed batches (dicts of NumPy arrays), the weight of each (how many
  full batches of its length bucket one training epoch has) and where they
  came from.

  One batch per length bucket, weighted by the bucket's share of an epoch:
  pairs/s over the weighted batches is the epoch's throughput on the
  corpus' real length mix (a long bucket costs 5x a short one per batch,
  so the first few batches of an epoch would not do).
  """
  from awe_jax import input_pipeline as ip, packing  # pylint: disable=g-import-not-at-top
  candidates = [args.data_dir] if args.data_dir else []
  try:
    from awe_jax import corpus  # pylint: disable=g-import-not-at-top
    candidates += [lambda: corpus.ensure_corpus(), lambda: corpus.ensure_corpus(small=True)]
  except ImportError:
    pass
  for c in candidates:
    try:
      d = c() if callable(c) else c
      ds = ip.load_dataset(d, splits=("train",))
    except Exception as e:  # pylint: disable=broad-except
      print(f"[bench] cannot use corpus {c if isinstance(c, str) else ''}: {e}",
            file=sys.stderr)
      continue
    tr = ds.splits["train"]
    bounds = ip.bucket_boundaries(tr.lengths, cfg.num_buckets)
    idx = ip.epoch_batches(tr.lengths, bounds, cfg.batch_size, 0, 0)
    idx = [i for i in idx if len(i) == cfg.batch_size] or idx
    bucket = [int(ip.bucket_of(tr.lengths[i], bounds).max()) for i in idx]
    first = {b: bucket.index(b) for b in sorted(set(bucket))}
    bs = [ip.make_batch(tr, idx[j], bounds, cfg.batch_size, ds.phone_table)
          for j in first.values()]
    if args.impl == "jax":  # packed as training packs them (same words)
      from awe_jax import train  # pylint: disable=g-import-not-at-top
      plan = train.training_plan(cfg, ds, bounds)
      bs = [packing.pack_batch(b, plan) for b in bs] if plan else bs
    weights = [bucket.count(b) for b in first]
    return bs, weights, ds.vocab.num_phones, (
        f"corpus {d} ({len(tr)} train tokens; one batch per length bucket "
        f"{[int(bounds[b]) for b in first]} frames, weighted {weights})")
  rng = np.random.default_rng(0)
  bs = []
  for t in (48, 72, 96, 128):  # synthetic: corpus-like lengths and words
    lens = rng.integers(t // 2, t + 1, cfg.batch_size)
    words = rng.integers(0, 600, cfg.batch_size)
    uniq, inv = np.unique(words, return_inverse=True)
    phones = np.zeros((cfg.batch_size, 12), np.int32)
    phones[:len(uniq)] = rng.integers(1, 45, (len(uniq), 12)) * (
        np.arange(12)[None] < rng.integers(2, 12, (len(uniq), 1)))
    phones[:len(uniq), 0] = np.maximum(phones[:len(uniq), 0], 1)
    bs.append(dict(feats=rng.normal(size=(cfg.batch_size, t, 39)).astype(np.float32),
                   mask=np.arange(t)[None] < lens[:, None],
                   valid=np.ones(cfg.batch_size, bool), inv=inv.astype(np.int32),
                   phones=phones, word_valid=np.arange(cfg.batch_size) < len(uniq)))
  return bs, [1] * len(bs), 46, "SYNTHETIC lengths (no corpus found)"


def timed(one, batches, repeats):
  """Per-batch seconds (best of ``repeats``) after one untimed call per
  batch (compilation / warm-up)."""
  for i, b in enumerate(batches):
    one(i, b)
  secs = [np.inf] * len(batches)
  for r in range(repeats):
    for i, b in enumerate(batches):
      t0 = time.perf_counter()
      loss = one(len(batches) * (r + 1) + i, b)
      secs[i] = min(secs[i], time.perf_counter() - t0)
  return secs, loss


def run_jax(cfg, batches, num_phones, repeats):
  import functools  # pylint: disable=g-import-not-at-top
  import jax
  import jax.numpy as jnp
  from awe_jax import factory, models, train
  from jaxtk import parallel
  model = factory.build_model(cfg, num_phones)
  tx = train.make_optimizer(cfg)
  params = models.init_params(model, jax.random.PRNGKey(0), batches[0]["feats"].shape[-1])
  mesh = parallel.data_mesh()
  state = parallel.replicate({"params": params, "opt": tx.init(params)}, mesh)
  step = jax.jit(functools.partial(train.train_step, model=model, tx=tx, config=cfg),
                 donate_argnums=(0,))
  keys = ("feats", "mask", "valid", "inv", "phones", "word_valid", "ac_src",
          "ph_src")
  dev = [parallel.shard_batch({k: b[k] for k in keys if k in b}, mesh)
         for b in batches]

  def one(i, b):
    nonlocal state
    state, m = step(state, b, jax.random.PRNGKey(i), jnp.int32(i))
    return float(m["loss_sum"]) / max(float(m["count"]), 1.0)

  return timed(one, dev, repeats)


def run_torch(cfg, batches, num_phones, compiled: bool, repeats):
  import torch  # pylint: disable=g-import-not-at-top
  from torch import nn
  torch.manual_seed(0)
  m = cfg.model

  def pe(length, dim, base):
    t = torch.arange(length, dtype=torch.float64)[:, None]
    ang = t / base ** (torch.arange(0, dim, 2, dtype=torch.float64)[None] / dim)
    out = torch.zeros(length, dim, dtype=torch.float64)
    out[:, 0::2], out[:, 1::2] = torch.sin(ang), torch.cos(ang)
    return out.float()

  class View(nn.Module):
    def __init__(self, inp, layers, heads, embed):
      super().__init__()
      self.embed = embed
      self.inp = nn.Embedding(num_phones, m.d_model) if embed else nn.Linear(inp, m.d_model)
      layer = nn.TransformerEncoderLayer(m.d_model, heads, m.d_ff, m.dropout,
                                         activation="relu", batch_first=True,
                                         norm_first=m.pre_ln)
      self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, x, mask):
      if not self.embed and m.frame_stack > 1:  # as awe_jax.models.AcousticEncoder
        st = m.frame_stack
        x = x * mask[..., None]
        pad = -x.shape[1] % st
        x = nn.functional.pad(x, (0, 0, 0, pad))
        mask = nn.functional.pad(mask, (0, pad))
        x = x.reshape(x.shape[0], -1, st * x.shape[2])
        mask = mask.reshape(mask.shape[0], -1, st).any(-1)
      h = self.inp(x) * math.sqrt(m.d_model)
      h = h + pe(h.shape[1], m.d_model, m.pe_base)[None]
      h = self.enc(h, src_key_padding_mask=~mask)
      w = mask.float()[..., None]
      return (h * w).sum(1) / w.sum(1).clamp(min=1)

  class Net(nn.Module):
    def __init__(self):
      super().__init__()
      self.ac = View(batches[0]["feats"].shape[-1] * m.frame_stack, m.acoustic_layers,
                     m.acoustic_heads, False)
      self.ph = View(0, m.phone_layers, m.phone_heads, True)

    def forward(self, feats, mask, phones, valid, word_valid, inv, k):
      x = self.ac(feats, mask)
      pm = phones > 0
      pm[:, 0] = True  # padding word rows: keep the mask non-empty
      y = self.ph(phones, pm)
      return loss_fn(x, valid, y, word_valid, inv, k)

  def loss_fn(x, xv, y, yv, inv, k):  # eq. (4), as awe_jax.losses
    xn = nn.functional.normalize(x, dim=-1)
    yn = nn.functional.normalize(y, dim=-1)
    dxy, dyy = 1 - xn @ yn.T, 1 - yn @ yn.T
    dpos = dxy.gather(1, inv[:, None])[:, 0]
    b, mm = dxy.shape
    other = inv[:, None] != torch.arange(mm)[None]
    mxy = other & yv[None] & xv[:, None] & (dxy >= dpos[:, None])

    def topk(d, mask):
      kk = min(cfg.topk, d.shape[1])
      v, _ = torch.where(mask, -d, torch.tensor(-math.inf)).topk(kk, dim=1)
      take = (torch.arange(kk)[None] < k) & torch.isfinite(v)
      vals = torch.where(take, -v, torch.zeros(()))
      return vals.sum(1) / take.sum(1).clamp(min=1), take.any(1)

    def hinge(mean, has):
      return torch.where(has, torch.relu(cfg.margin + dpos - mean), torch.zeros(()))

    o0 = hinge(*topk(dxy, mxy))
    m1, h1 = topk(dyy, ~torch.eye(mm, dtype=torch.bool) & yv[None])
    o1 = hinge(m1[inv], h1[inv])
    m2, h2 = topk(dxy.T, mxy.T)
    o2 = hinge(m2[inv], h2[inv])
    return ((o0 + o1 + o2) * xv).sum() / xv.sum().clamp(min=1)

  net = Net()
  opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=(cfg.b1, cfg.b2), eps=cfg.eps)
  fwd = torch.compile(net) if compiled else net
  tb = [{k: torch.from_numpy(np.asarray(v)) for k, v in b.items()
         if k in ("feats", "mask", "phones", "valid", "word_valid", "inv")} for b in batches]
  for b in tb:
    b["inv"] = b["inv"].long()

  def one(i, b):
    opt.zero_grad()
    loss = fwd(b["feats"], b["mask"], b["phones"], b["valid"], b["word_valid"],
               b["inv"], torch.tensor(max(cfg.min_topk, cfg.topk - i)))
    loss.backward()
    opt.step()
    return float(loss)

  net.train()
  return timed(one, tb, repeats)


def child(args):
  from awe_jax import configs  # pylint: disable=g-import-not-at-top
  if args.config == "paper":
    cfg = configs.paper()
  else:  # SpecAugment off: the PyTorch model here has no masking
    cfg = configs.override(configs.default(), spec_time_masks=0,
                           spec_freq_masks=0)
  cfg = configs.override(cfg, pack_words=args.pack == "on")
  batches, weights, num_phones, source = get_batches(args, cfg)
  if args.impl == "jax":
    if args.xla_defaults == "on":
      from jaxtk import xla_cpu  # pylint: disable=g-import-not-at-top
      xla_cpu.use_measured_defaults()
    import jax  # pylint: disable=g-import-not-at-top
    jax.config.update("jax_default_prng_impl", args.prng)
    secs, loss = run_jax(cfg, batches, num_phones, args.repeats)
  else:
    secs, loss = run_torch(cfg, batches, num_phones, args.impl == "compile",
                           args.repeats)
  pairs = [int(b["valid"].sum()) for b in batches]
  total_pairs = sum(w * p for w, p in zip(weights, pairs))
  total_secs = sum(w * t for w, t in zip(weights, secs))
  peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  print(json.dumps(dict(impl=args.impl, secs=secs, weights=weights,
                        lengths=[int(b["feats"].shape[1]) for b in batches],
                        pairs_per_s=total_pairs / total_secs,
                        epoch_secs=total_secs, peak_rss_mb=peak_mb,
                        last_loss=loss, source=source,
                        xla_flags=os.environ.get("XLA_FLAGS", ""))))


def _run_child(args, config, impl):
  """One subprocess: ``impl`` on ``config``'s batches; its JSON line or None."""
  cmd = [sys.executable, __file__, f"--impl={impl}", f"--config={config}",
         f"--repeats={args.repeats}", f"--prng={args.prng}",
         f"--xla_defaults={args.xla_defaults}", f"--pack={args.pack}"] + (
             [f"--data_dir={args.data_dir}"] if args.data_dir else [])
  env = dict(os.environ)
  if impl == "jax" and args.host_devices > 1:
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_"
                        f"platform_device_count={args.host_devices}").strip()
  out = subprocess.run(cmd, capture_output=True, text=True, check=False,
                       env=env)
  if out.returncode:
    print(f"{config} {impl}: FAILED\n{out.stderr[-2000:]}")
    return None
  return json.loads(out.stdout.strip().splitlines()[-1])


def main():
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--configs", default="default,paper",
                 help="comma-separated: default, paper")
  p.add_argument("--config", default=None, choices=["paper", "default"],
                 help="one config (overrides --configs)")
  p.add_argument("--repeats", type=int, default=1,
                 help="timed calls per batch (best kept)")
  p.add_argument("--rounds", type=int, default=1,
                 help="times each implementation is run, interleaved "
                 "(jax, torch, compile, jax, ...); the best round is kept")
  p.add_argument("--xla_defaults", default="on", choices=["on", "off"],
                 help="jax: jaxtk.xla_cpu.use_measured_defaults(), as the "
                 "experiment scripts do")
  p.add_argument("--pack", default="on", choices=["on", "off"],
                 help="jax: pack several words per row as training does "
                 "(awe_jax/packing.py); off: the padded batches PyTorch gets")
  p.add_argument("--data_dir", default=None)
  p.add_argument("--impls", default="jax,torch,compile")
  p.add_argument("--prng", default="threefry2x32",
                 choices=["threefry2x32", "rbg", "unsafe_rbg"],
                 help="jax: PRNG of the parameters and step keys (the "
                 "dropout bits are threefry4x32 whatever it says: "
                 "awe_jax.train.dropout_key)")
  p.add_argument("--host_devices", type=int, default=1,
                 help="jax on CPU: split the batch over this many host "
                 "devices (XLA_FLAGS=--xla_force_host_platform_device_count)")
  p.add_argument("--impl", default=None, help=argparse.SUPPRESS)
  args = p.parse_args()
  if args.impl:
    return child(args)
  configs_ = [args.config] if args.config else args.configs.split(",")
  impls = args.impls.split(",")
  best = {}
  for config in configs_:
    for _ in range(args.rounds):
      for impl in impls:
        r = _run_child(args, config, impl)
        if r is None:
          continue
        per = ", ".join(f"{l}: {t:.2f} s" for l, t in zip(r["lengths"], r["secs"]))
        print(f"{config:8s} {impl:8s} {r['pairs_per_s']:8.1f} pairs/s  (epoch "
              f"of the weighted batches in {r['epoch_secs']:.0f} s; per batch "
              f"{per})  peak RSS {r['peak_rss_mb']:.0f} MB  loss "
              f"{r['last_loss']:.4f}", flush=True)
        if (config, impl) not in best or (
            r["pairs_per_s"] > best[config, impl]["pairs_per_s"]):
          best[config, impl] = r
  if not best:
    return
  print(f"batches: {next(iter(best.values()))['source']}; jax host devices: "
        f"{args.host_devices}, prng {args.prng}, XLA_FLAGS "
        f"{next((r['xla_flags'] for (c, i), r in best.items() if i == 'jax'), '')!r}")
  print(f"best of {args.rounds} round(s):")
  print("| config | " + " | ".join(f"{i} pairs/s" for i in impls) +
        " | jax / torch | jax / compile | peak RSS MB (" + ", ".join(impls) + ") |")
  print("|---" * (len(impls) + 4) + "|")
  for config in configs_:
    row = [best.get((config, i)) for i in impls]
    ratio = lambda o: (f"{best[config, 'jax']['pairs_per_s'] / best[config, o]['pairs_per_s']:.2f}x"
                       if (config, "jax") in best and (config, o) in best else "-")
    print(f"| {config} | " + " | ".join(
        f"{r['pairs_per_s']:.1f}" if r else "-" for r in row) +
          f" | {ratio('torch')} | {ratio('compile')} | " +
          ", ".join(f"{r['peak_rss_mb']:.0f}" if r else "-" for r in row) + " |")


if __name__ == "__main__":
  main()
