"""A run's folder and everything that reads or writes it: the fresh directory every process agrees
on, the config pointed at it, the summary and its statuses, the evaluation after ``fit``, what a
failed run leaves, intact checkpoints, resuming, and the table that compares runs.

May import ``cluster`` (ranks, signals), ``callbacks`` (the checkpoint writer), ``data`` and
``tasks``; nothing here imports ``inference``, ``deploy`` or ``sweeps``.
"""
