"""``python -m training.audit RUN_DIR``: find the labels of a run's data that look wrong (confident learning).

- ``data.py``: the run's data, read as training read it (``train_config.json``), its corrections applied, and
  the texts its owner kept;
- ``probabilities.py``: out-of-sample probabilities: K-fold logistic regression on embeddings, or K-fold
  fine-tuning; the run's own model for validation and test;
- ``issues.py``: cleanlab's ranking of the suspects, and the estimate of the share of wrong labels;
- ``report.py``: the estimate in the output folder (``label_noise.json``, ``label_noise.png``);
- ``run.py``: the command, step by step, and its sheet.
"""
