"""Hyperparameter search: an Optuna study whose trials are ordinary run folders, its search space
file, and its report (trials table, ``best.yaml``, plots).

May import ``run``, ``cli`` and ``tasks``; nothing outside this folder imports it.
"""
