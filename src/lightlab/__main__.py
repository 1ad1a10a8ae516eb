"""``python -m lightlab <verb>``: every command of the template, one error boundary for all.

``python -m lightlab --help`` lists the verbs. Each verb's module is imported only when it runs,
so ``predict-onnx`` works without torch and a short command starts fast.
"""

from __future__ import annotations

import importlib
import sys

# verb -> (module whose ``main(argv)`` runs it, what it does)
VERBS: dict[str, tuple[str, str]] = {
    "fit": ("lightlab.cli", "train an experiment: --config experiments/<name>.yaml (make train)"),
    "validate": ("lightlab.cli", "score a checkpoint on the validation split: --config … --ckpt_path …"),
    "test": ("lightlab.cli", "score a checkpoint on the test split: --config … --ckpt_path …"),
    "predict": (
        "lightlab.inference.predict",
        "classify new inputs with a run: <run folder> --input <path> (make predict); "
        "with --config, LightningCLI's predict subcommand",
    ),
    "eval": (
        "lightlab.inference.evaluate",
        "score a run folder again: <run folder> [--split] [--ckpt] (make eval)",
    ),
    "group": (
        "lightlab.repeats.group",
        "train an experiment once per seed or fold into a group folder (make train SEEDS=5 / FOLDS=5)",
    ),
    "compare": ("lightlab.repeats.compare", "A against B, runs or groups, beyond seed noise (make compare)"),
    "results": ("lightlab.run.results", "the table that compares runs (make results)"),
    "sweep": ("lightlab.sweeps.sweep", "an Optuna search over an experiment (make sweep)"),
    "export": ("lightlab.deploy.export", "a run to ONNX with a parity check (make export)"),
    "predict-onnx": (
        "lightlab.deploy.onnx_predictor",
        "classify with an export, without torch (make predict-onnx)",
    ),
    "serve": ("lightlab.deploy.serve", "an HTTP endpoint for a run (make serve)"),
    "show-data": ("lightlab.data.show", "a labelled grid of an experiment's images (make show-data)"),
}


def usage() -> str:
    lines = ["usage: python -m lightlab <verb> [arguments]   (python -m lightlab <verb> --help for one)", ""]
    lines += [f"  {verb:<13} {summary}" for verb, (_, summary) in VERBS.items()]
    return "\n".join(lines)


def module_of(verb: str, rest: list[str]) -> str:
    """``predict`` is two commands: a run folder first is the run predictor, flags LightningCLI's."""
    if verb == "predict" and (not rest or rest[0].startswith("-")):
        return "lightlab.cli"
    return VERBS[verb][0]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return
    verb, rest = args[0], args[1:]
    if verb not in VERBS:
        if verb.startswith("-"):  # LightningCLI's own flags (--print_config, --config before a verb)
            importlib.import_module("lightlab.cli").main(args)
            return
        print(f"error: unknown command {verb!r}; one of: {', '.join(VERBS)}", file=sys.stderr)
        sys.exit(2)
    module = module_of(verb, rest)
    try:
        entry = importlib.import_module(module).main
    except ModuleNotFoundError as missing:
        if (missing.name or "").split(".")[0] == "lightlab":
            raise
        from importlib.metadata import PackageNotFoundError, metadata

        from lightlab.errors import UserError, exit_with

        package = module.split(".")[1]  # an optional capability's package names its extra
        try:
            extras = metadata("lightlab").get_all("Provides-Extra") or []
        except PackageNotFoundError:  # run from a source tree that is not installed
            extras = []
        fix = f"pip install -e '.[{package}]'" if package in extras else "make install"
        exit_with(UserError(f"{verb} needs {missing.name}, which is not installed: {fix}"))
    entry(args if module == "lightlab.cli" else rest)


if __name__ == "__main__":
    main()
