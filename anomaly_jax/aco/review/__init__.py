"""Review, listen to, label and export a scan's detections.

``python -m anomaly_jax.aco review --workdir runs/aco`` serves a local web
page (``app.py``, ``static/``); ``detections.py`` reads what the scan wrote,
``labels.py`` keeps the reviewer's answers in the scan's SQLite,
``media.py`` renders spectrograms and audio from the archive,
``exports.py`` writes Raven / Audacity / CSV tables and reads Raven back,
``use.py`` turns labels into a threshold, ``simulate.py`` is a reviewer
answering from the synthetic archive's ground truth, and ``retrain.py``
retrains the detector with the confirmed false alarms as typical data.
"""
