"""What the parts agree on, in one place: the files between training, publish and the Space.

No third-party dependency: ``training/``, ``publish/`` and ``space/`` all import it, and ``publish --space``
uploads it beside the Space's app.py, so that the Space still runs alone.

- ``output_folder.py``: every file name in a training output folder, the backend names, the one writer of its
  JSON files and figures;
- ``reports.py``: typed readers of metrics.json and train_config.json (named fields, not dict paths; ``shapes.py``:
  one value of the shape it should have, or nothing), and the
  demo-model rule;
- ``model_config.py``: config.json's label facts (label names, multi-label, thresholds) and the threshold rule;
- ``flag_record.py``: the flag record's fields, a spreadsheet cell's rules, a set of labels in one cell, and how
  a flag is matched to a text;
- ``writing.py``: the one rule for writing a file (never onto an input, into a model's folder, or over a file
  without ``--overwrite``) and for replacing a whole folder (written beside it, swapped in);
- ``command_line.py``: how every command's ``--help`` reads (its examples last, with the name it was run by);
- ``explain.py``: the one word-level explanation (sampled Shapley values over a text's words), for the Space's
  page and ``/explain`` and for ``errors.csv``.
"""
