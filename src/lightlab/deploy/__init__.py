"""Exactly the ``serve`` extra: ONNX export with its parity check, the torch-free ONNX predictor,
and the LitServe endpoint. A project that does not deploy deletes this folder and the extra.

May import ``inference``, ``run``, ``data``, ``tasks`` and ``internals``; ``onnx_predictor``
imports no torch, so this file imports nothing.
"""
