"""How a run's recipe is chosen and how much to trust its figures: ``--search N`` and ``--seeds K``.

- :mod:`training.tuning.search`: N Optuna trials (a pruner, a SQLite study that a rerun resumes), then the run
  trains with the best trial's options.
- :mod:`training.tuning.space`: the options searched and their ranges (``--search-space FILE`` overrides them).
- :mod:`training.tuning.report`: the folder's ``trials.csv`` and ``search.png``.
- :mod:`training.tuning.seeds`: K seeds of one recipe, mean ± std, the median model kept.

Nothing is imported here eagerly: ``training.option_checks`` reads a space file without loading the trainer.
"""
