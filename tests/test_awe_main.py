"""experiments/awe_main.py: flags (and --flagfile) map onto the config."""
import importlib.util
import os
import tempfile

from absl.testing import absltest

_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                     "experiments", "awe_main.py")


def _load_main():
  spec = importlib.util.spec_from_file_location("awe_main_under_test", _PATH)
  mod = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(mod)
  return mod


class MainFlagsTest(absltest.TestCase):

  def test_flags_and_flagfile(self):
    main = _load_main()
    fd, flagfile = tempfile.mkstemp(suffix=".flags")
    with os.fdopen(fd, "w") as f:
      f.write("--config=paper\n--layers=4\n--heads=16\n--pool=first\n")
    try:
      main.FLAGS(["awe_main", f"--flagfile={flagfile}", "--epochs=3",
                  "--acoustic_layers=2", "--margin=0.4", "--d_model=64",
                  "--topk=4", "--warmup_steps=5", "--spec_time_masks=2",
                  "--spec_freq_width=3", "--max_minutes=1.5"])
      cfg = main.config_from_flags()
    finally:
      main.FLAGS.unparse_flags()
      os.remove(flagfile)
    m = cfg.model
    self.assertEqual((m.phone_layers, m.phone_heads, m.pool), (4, 16, "first"))
    self.assertEqual((m.acoustic_layers, m.acoustic_heads, m.d_model, m.d_ff),
                     (2, 4, 64, 1024))
    self.assertEqual((cfg.epochs, cfg.margin, cfg.topk, cfg.min_topk, cfg.lr),
                     (3, 0.4, 4, 4, 5e-4))
    self.assertEqual((cfg.warmup_steps, cfg.max_minutes, m.spec_time_masks,
                      m.spec_time_width, m.spec_freq_width), (5, 1.5, 2, 0, 3))
    self.assertEqual(main.FLAGS["data_dir"].default, None)


if __name__ == "__main__":
  absltest.main()
