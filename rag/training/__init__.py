"""Training the reader (``ragqa train-reader``).

* :mod:`rag.training.data` makes the examples: CMRC 2018, DRCD and XQuAD questions as windows,
  with made negatives;
* :mod:`rag.training.train` fine-tunes, validates, checkpoints and ships the reader.
"""
