"""Choose the texts worth labelling next: ``python -m training.ask MODEL POOL --budget N --output sheet.csv``.

Modules: ``run`` (predict POOL with ``training.predict``, then rank, pick and write), ``known`` (the texts never
asked: the model's training, validation and test data, ``--exclude``), ``pool`` (the work file of POOL's
predictions, read in pieces), ``ranking`` (the strategies: pure functions of probabilities and embeddings),
``embed`` (the model's own embedding of a text), ``sheet`` (the review sheet a person fills in).
"""
