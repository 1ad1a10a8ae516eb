"""Repeats of one configuration and what they let you conclude: seed groups and k-fold
cross-validation (``make train SEEDS=… FOLDS=…``), their statistics, and ``make compare``, which
tells a real difference from seed noise.

May import ``run`` (the run folder and group owners) and, in the workers that train, ``cli``;
nothing in ``run``, ``data``, ``nets`` or ``tasks`` imports this package.
"""
