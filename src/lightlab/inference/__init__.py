"""A finished run used again in torch: rebuilt from its folder (``config.yaml`` and a checkpoint),
predicting new inputs (``make predict``), scored again (``make eval``), and the predict
subcommand's ``predictions.csv``.

``predictions_csv`` imports no torch (the ONNX predictor in ``deploy`` shares it), so this file
imports nothing. May import ``run``, ``data`` and ``tasks``.
"""
