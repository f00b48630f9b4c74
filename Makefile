# The two commands of README.md.  Both do the whole set-up first (idempotent).
PY := .venv/bin/python

.PHONY: setup run test bench

setup:
	@bash scripts/setup.sh

# Both systems' default jobs: AWE training + evaluation on the embedded
# spoken-word corpus, then the anomaly detector's scan of the embedded ACO
# hydrophone archive (each built on first use).
run: setup
	$(PY) experiments/awe_main.py
	$(PY) experiments/aco_main.py

# Two pytest-xdist workers, one test file each at a time (a file's
# module fixtures are built once); conftest.py sets the XLA flags in each.
test: setup
	$(PY) -m pytest -q -n 2 --dist loadfile tests

# Not timed tests: each prints ratios against its peer measured in the same run.
bench:
	EXTRAS=test,beam,voices,bench bash scripts/setup.sh
	$(PY) bench/awe_step.py
	$(PY) bench/ap_eval.py
	$(PY) bench/gmm_em.py
	$(PY) bench/aco_scan.py
