"""Out-of-sample probabilities of each text's label: what confident learning needs.

- validation and test: the run's own model never saw them; its (calibrated) probabilities are used as they are;
- train: the model has learnt these labels, right or wrong, so its probabilities there are in-sample and hide
  the errors. Four ways (docs/audit.md measures them):

  - ``logistic`` (default): K-fold logistic regression on the run's fine-tuned embeddings (the mean of the last
    layer, ``training.ask.embed``): one forward pass over the data, then seconds of scikit-learn;
  - ``logistic-frozen``: the same on the backbone's own embeddings, before fine-tuning;
  - ``fine-tune``: K-fold fine-tuning: K trainings of the run's recipe, each on K-1 folds, each predicting the
    fold it left out (``training.audit.folds``): K trainings, a GPU job;
  - ``dynamics``: the run's own training dynamics (``training.quality.dynamics``, recorded while it trained): each
    text's probabilities averaged over the epochs, as the training batches met it; no extra cost at all.
"""

from __future__ import annotations

import numpy as np

from training.data.labels import multi_hot

LOGISTIC, LOGISTIC_FROZEN, FINE_TUNE, DYNAMICS = "logistic", "logistic-frozen", "fine-tune", "dynamics"
METHODS = (LOGISTIC, LOGISTIC_FROZEN, FINE_TUNE, DYNAMICS)
DEFAULT_FOLDS = 5
# The inverse regularisation of the logistic regressions: the fine-tuned embeddings are unit vectors whose classes
# are already far apart, and sklearn's default (1.0) pulls the probabilities towards uniform; the values tried on
# the benchmark's flipped labels are in docs/audit.md.
INVERSE_REGULARISATION = 10.0
# What the card and the estimate call each way (the method in "confident learning, 5-fold ...").
DESCRIPTIONS = {
    LOGISTIC: "{folds}-fold logistic regression on the fine-tuned embeddings",
    LOGISTIC_FROZEN: "{folds}-fold logistic regression on the backbone's embeddings",
    FINE_TUNE: "{folds}-fold fine-tuning",
    DYNAMICS: "the run's training dynamics over its epochs",
}
HELD_OUT = "the run's model (it never saw this split)"


def kfold_logistic(embeddings: np.ndarray, labels, classes: int, folds: int, seed: int, multi_label: bool):
    """Each text's probabilities from a logistic regression trained on the other folds' embeddings.

    Args:
        embeddings: ``(n, dim)`` vectors, one per text.
        labels: each text's class id (multi-label: a list of ids).
        classes: the number of classes.
        folds: K (stratified by class for single-label data).
        seed: the folds' shuffle.
        multi_label: one binary regression per label (``OneVsRestClassifier``).

    Returns:
        ``(n, classes)`` probabilities (multi-label: each label's own).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
    from sklearn.multiclass import OneVsRestClassifier

    if multi_label:
        target = multi_hot(labels, classes).astype(np.int64)
        model, splitter = (
            OneVsRestClassifier(LogisticRegression(C=INVERSE_REGULARISATION, max_iter=2000)),
            KFold(folds, shuffle=True, random_state=seed),
        )
        return cross_val_predict(model, embeddings, target, cv=splitter, method="predict_proba")
    target = np.asarray(labels, dtype=np.int64)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    found = cross_val_predict(
        LogisticRegression(C=INVERSE_REGULARISATION, max_iter=2000),
        embeddings,
        target,
        cv=splitter,
        method="predict_proba",
    )
    # cross_val_predict gives one column per class present in the data, in id order; a class without texts here
    # gets probability 0.
    probabilities = np.zeros((len(target), classes))
    probabilities[:, np.unique(target)] = found
    return probabilities
