"""A multinomial logistic regression over a message's sentence features, kept as plain arrays.

Shared by the intent classifier (bot/nlu/linear_intents.py) and the FAQ selector
(bot/nlu/linear_responses.py). The inputs are what the featurizers put on the message: the sparse
sentence features (word and character n-gram counts, regexes) and the dense MiniLM sentence
embedding. Counts are damped (log 1 + n) and each block is scaled to unit length, the embedding
weighted by ``dense_weight``; the model is scikit-learn's LogisticRegression with ``C``, and
optionally ``class_weights`` (a weight per class name, 1 for the others), ``solver`` and ``tol``
(the defaults: no weights, lbfgs, 1e-4, scikit-learn's own).

It is stored as arrays (coefficients, intercepts) and JSON (class names), not a pickle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message

WEIGHTS = "weights.npz"


class _Row:
    """One message's TEXT sentence features, each featurizer's side by side in the order they were
    added (as ``Message.get_*_features`` combine them, without their deep copies of the sequence
    features, which cost more than this whole classifier): the sparse block as damped, unit-length
    (column, value) pairs, and the dense block as a unit-length vector."""

    __slots__ = ("columns", "values", "sparse_width", "dense")

    def __init__(self, message: Message) -> None:
        columns, values, offset, dense = [], [], 0, []
        for f in message.features:
            if f.attribute != TEXT or f.type != FEATURE_TYPE_SENTENCE:
                continue
            if f.is_sparse():
                coo = f.features.tocoo()
                columns.append(coo.col.astype(np.int64) + offset)
                values.append(coo.data.astype(np.float64))
                offset += coo.shape[1]
            else:
                dense.append(np.asarray(f.features, dtype=np.float64).reshape(-1))
        self.sparse_width = offset
        if columns:
            # Sum repeated columns, then damp the counts (log 1 + n) and scale to unit length.
            self.columns, inverse = np.unique(np.concatenate(columns), return_inverse=True)
            summed = np.log1p(np.abs(np.bincount(inverse, weights=np.concatenate(values))))
            self.values = summed / max(float(np.sqrt(summed @ summed)), 1e-12)
        else:
            self.columns, self.values = np.zeros(0, dtype=np.int64), np.zeros(0)
        if dense:
            vector = np.concatenate(dense)
            self.dense = vector / max(float(np.linalg.norm(vector)), 1e-12)
        else:
            self.dense = None


def _widths(rows: List[_Row]) -> Tuple[int, int]:
    return (
        max((r.sparse_width for r in rows), default=0),
        max((len(r.dense) for r in rows if r.dense is not None), default=0),
    )


def sentence_matrix(messages: List[Message], dense_weight: float) -> Optional[sp.csr_matrix]:
    """One row per message: [sparse block | dense_weight x dense block] (see ``_Row``)."""
    rows = [_Row(m) for m in messages]
    sparse_width, dense_width = _widths(rows)
    if not sparse_width and not dense_width:
        return None
    blocks = []
    if sparse_width:
        indptr = np.cumsum([0] + [len(r.columns) for r in rows])
        blocks.append(
            sp.csr_matrix(
                (np.concatenate([r.values for r in rows]), np.concatenate([r.columns for r in rows]), indptr),
                shape=(len(rows), sparse_width),
            )
        )
    if dense_width:
        blocks.append(
            sp.csr_matrix(
                np.vstack([r.dense * dense_weight if r.dense is not None else np.zeros(dense_width) for r in rows])
            )
        )
    return sp.hstack(blocks).tocsr()


def class_weight(weights: Optional[Mapping[str, float]], labels: List[str]) -> Optional[Dict[str, float]]:
    """LogisticRegression's ``class_weight`` from a component's ``class_weights``: only the classes
    the labels have (scikit-learn refuses a weight for a class it does not see, as a fold of
    cross-validation or a bot without one of the intents would give it); None when none is left."""
    present = set(labels)
    kept = {str(name): float(weight) for name, weight in (weights or {}).items() if name in present}
    return kept or None


class LinearModel:
    """Class probabilities as softmax(coef . row + intercept), one row of coef per class."""

    def __init__(self, coef: NDArray[Any], intercept: NDArray[Any], classes: List[str], dense_weight: float) -> None:
        self.coef, self.intercept, self.classes = coef, intercept, classes
        self.dense_weight = dense_weight
        self._split: Optional[List[NDArray[Any]]] = None

    @classmethod
    def fit(cls, messages: List[Message], labels: List[str], config: Mapping[str, Any]) -> LinearModel:
        """Trained on the messages' sentence features with a component's ``C``, ``dense_weight`` and
        ``max_iter`` (and ``class_weights``, ``solver``, ``tol`` when it sets them); ValueError without
        features or labels. One label is always the answer (a bot with one FAQ question: scikit-learn
        needs two classes to fit anything)."""
        from sklearn.linear_model import LogisticRegression

        dense_weight = float(config["dense_weight"])
        matrix = sentence_matrix(messages, dense_weight)
        if matrix is None or not labels:
            raise ValueError("a linear model needs sentence features and labels")
        if len(set(labels)) == 1:
            zeros = np.zeros((1, matrix.shape[1]), dtype=np.float32)
            return cls(zeros, np.zeros(1, dtype=np.float32), [str(labels[0])], dense_weight)
        model = LogisticRegression(
            C=float(config["C"]),
            max_iter=int(config["max_iter"]),
            class_weight=class_weight(config.get("class_weights"), labels),
            solver=str(config.get("solver", "lbfgs")),
            tol=float(config.get("tol", 1e-4)),
        )
        model.fit(matrix, labels)
        coef, intercept = model.coef_, model.intercept_
        if len(model.classes_) == 2:
            # scikit-learn keeps one row for two classes (the second's logit); the softmax of
            # [-z/2, z/2] is the same sigmoid(z), so prediction needs no special case.
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.concatenate([-intercept / 2, intercept / 2])
        classes = [str(c) for c in model.classes_]
        return cls(coef.astype(np.float32), intercept.astype(np.float32), classes, dense_weight)

    def save(self, directory: Path) -> None:
        np.savez_compressed(directory / WEIGHTS, coef=self.coef, intercept=self.intercept)
        (directory / "classes.json").write_text(json.dumps(self.classes))

    @classmethod
    def load(cls, directory: Path, dense_weight: float) -> LinearModel:
        arrays = np.load(directory / WEIGHTS)
        classes = json.loads((directory / "classes.json").read_text())
        return cls(arrays["coef"], arrays["intercept"], classes, dense_weight)

    def _weights_by_block(self, widths: List[int]) -> List[NDArray[Any]]:
        """The coefficients split into the sparse and the dense block, each transposed to
        (width, classes) in float64 once, so a prediction gathers only the rows it needs."""
        if self._split is None or [w.shape[0] for w in self._split] != widths:
            if sum(widths) != self.coef.shape[1]:
                raise ValueError(f"feature width {sum(widths)} differs from the trained {self.coef.shape[1]}")
            bounds = np.cumsum([0, *widths])
            self._split = [
                np.ascontiguousarray(self.coef[:, a:b].T, dtype=np.float64) for a, b in zip(bounds[:-1], bounds[1:])
            ]
        return self._split

    def probabilities(self, messages: List[Message]) -> Optional[NDArray[Any]]:
        """One row of class probabilities per message (columns in ``classes`` order), or None when
        the messages have no sentence features."""
        rows = [_Row(m) for m in messages]
        widths = _widths(rows)
        if not any(widths):
            return None
        sparse_w, dense_w = self._weights_by_block(list(widths))
        logits = np.tile(self.intercept.astype(np.float64), (len(rows), 1))
        for logit, row in zip(logits, rows):
            # sentence_matrix() @ coef.T, a row at a time, touching only the row's non-zero columns.
            if len(row.columns):
                logit += row.values @ sparse_w[row.columns]
            if row.dense is not None:
                logit += (row.dense * self.dense_weight) @ dense_w
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        probs: NDArray[Any] = exp / exp.sum(axis=1, keepdims=True)  # numpy's ufuncs return Any
        return probs

    def ranking(self, probs: NDArray[Any], length: int) -> List[Tuple[str, float]]:
        """The ``length`` most probable classes of one row of ``probabilities``, best first (0: all)."""
        order = np.argsort(-probs)[: length or len(self.classes)]
        return [(self.classes[i], float(probs[i])) for i in order]
