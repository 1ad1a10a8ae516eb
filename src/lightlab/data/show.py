"""``python -m lightlab show-data experiments/<name>.yaml``: save a labelled grid of its images.

Builds only the experiment's DataModule (downloading or generating its data if needed) and
writes ``runs/<name>/samples.png``, or the path given with ``--out``.
"""

from __future__ import annotations

from pathlib import Path

from lightlab.data.build import build_datamodule
from lightlab.errors import CommandParser, UserError, command
from lightlab.plots import save_sample_grid, spread_batch
from lightlab.ranges import PositiveInt, flag_type


@command
def main(argv: list[str] | None = None) -> None:
    cli = CommandParser(description=__doc__.splitlines()[0])
    cli.add_argument("experiment", type=Path)
    cli.add_argument("--out", type=Path, default=None)
    cli.add_argument("--count", type=flag_type(PositiveInt), default=32)
    args = cli.parse_args(argv)
    datamodule = build_datamodule(args.experiment)
    datamodule.prepare_data()
    datamodule.setup("fit")
    if datamodule.input_kind != "image":
        raise UserError(f"{args.experiment.stem} has no image data to show")
    batch = spread_batch(datamodule.val_dataloader(), args.count)
    names = datamodule.class_names
    labels = [names[i] for i in batch["target"].tolist()]
    out = args.out or Path("runs") / args.experiment.stem / "samples.png"
    print(save_sample_grid(batch["inputs"], labels, out))


if __name__ == "__main__":
    main()
