"""How good a model is, and the figures that show it: metrics, thresholds, calibration, baselines, data figures.

- ``evaluate.py``: single-label metrics, the confusion-matrix figure, the per-example error table;
- ``multi_label.py``: multi-label metrics, tuned thresholds per label, the error table and figures;
- ``calibration.py``: temperature scaling folded into the last layer, ECE, the reliability diagram;
- ``baselines.py``: the majority class, and logistic regression on frozen embeddings;
- ``explore.py``: figures of the data (class balance, text length, the embedding map);
- ``figures.py``: writes the run's figures, and the baselines that share their frozen embeddings;
- ``explain_errors.py``: errors.csv's words toward each wrong label (``formats.explain`` on the fine-tuned model).
- ``dynamics.py``: each training text's logits per epoch, recorded while the model trains (``training.audit``).

Import from the modules themselves: each pulls in its own heavy libraries (scikit-learn, matplotlib, torch),
and ``training.predict`` needs only ``evaluate``, so this package imports none of them on its own.
"""
