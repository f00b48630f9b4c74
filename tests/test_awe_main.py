"""awe_jax.config_flags: flags (and --flagfile) map onto the config."""
import os
import tempfile

from absl import flags
from absl.testing import absltest

from awe_jax import config_flags, configs

FLAGS = flags.FLAGS
config_flags.define_config_flags()


def _parse(*argv):
  try:
    FLAGS(["awe_main", *argv])
    return config_flags.config_from_flags()
  finally:
    FLAGS.unparse_flags()


class MainFlagsTest(absltest.TestCase):

  def test_flags_and_flagfile(self):
    fd, flagfile = tempfile.mkstemp(suffix=".flags")
    with os.fdopen(fd, "w") as f:
      f.write("--config=paper\n--layers=4\n--heads=16\n--pool=first\n")
    try:
      cfg = _parse(f"--flagfile={flagfile}", "--epochs=3",
                   "--acoustic_layers=2", "--margin=0.4", "--d_model=64",
                   "--topk=4", "--warmup_steps=5", "--spec_time_masks=2",
                   "--spec_freq_width=3", "--max_minutes=1.5")
    finally:
      os.remove(flagfile)
    m = cfg.model
    self.assertEqual((m.phone_layers, m.phone_heads, m.pool), (4, 16, "first"))
    self.assertEqual((m.acoustic_layers, m.acoustic_heads, m.d_model, m.d_ff),
                     (2, 4, 64, 1024))
    # --topk=4 below the paper's min_topk 8: clamped, k stays 4.
    self.assertEqual((cfg.epochs, cfg.margin, cfg.topk, cfg.min_topk, cfg.lr),
                     (3, 0.4, 4, 4, 5e-4))
    self.assertEqual((cfg.warmup_steps, cfg.max_minutes, m.spec_time_masks,
                      m.spec_time_width, m.spec_freq_width), (5, 1.5, 2, 0, 3))

  def test_no_flags_is_the_library_default(self):
    self.assertEqual(_parse(), configs.default())
    self.assertEqual(_parse("--config=codebase"), configs.codebase())
    # The field's own name and the paper's alias set the same field.
    self.assertEqual(_parse("--phone_layers=3"), _parse("--layers=3"))

  def test_bad_choice_lists_the_allowed_values(self):
    with self.assertRaisesRegex(flags.IllegalFlagValueError, "mean|first|cls"):
      _parse("--pool=max")


if __name__ == "__main__":
  absltest.main()
