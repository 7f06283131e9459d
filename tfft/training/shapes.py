"""How many distinct batch shapes a run fed its compiled (XLA) train step.

XLA compiles the train step once per distinct input shape, so this is the number of
compilations; bucketing with widths rounded to ``--pad_to_multiple_of`` keeps it small.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf


class ShapeLog:
    """Records the ``[batch, width]`` of every batch a dataset yields."""

    def __init__(self) -> None:
        self.shapes: set[tuple[int, ...]] = set()

    def _add(self, shape: tf.Tensor) -> None:
        self.shapes.add(tuple(int(d) for d in shape.numpy()))

    def attach(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        """``dataset`` with a side effect that notes each batch's shape of its first input."""

        def note(*batch: Any) -> Any:
            tf.py_function(self._add, [tf.shape(tf.nest.flatten(batch)[0])], [])
            return batch

        return dataset.map(note)

    def summary(self) -> str:
        """``"N batch shapes (widths a..b)"``."""
        widths = sorted({s[-1] for s in self.shapes})
        span = f" (widths {widths[0]}..{widths[-1]})" if widths else ""
        return f"{len(self.shapes)} batch shapes{span}"
