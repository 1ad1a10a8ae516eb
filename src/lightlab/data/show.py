"""``python -m lightlab show-data experiments/<name>.yaml``: what the experiment's data holds.

Builds only the experiment's DataModule (downloading or generating its data if needed), prints
the samples of each class per split, and writes ``runs/<name>/class_counts.png`` (a bar chart per
split) and, for image data, ``runs/<name>/samples.png`` (a labelled grid of validation images);
``--out`` names another folder.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from lightlab.data.balance import imbalance_line
from lightlab.data.build import build_datamodule
from lightlab.errors import CommandParser, command
from lightlab.plots import save_class_counts, save_sample_grid, spread_batch
from lightlab.ranges import PositiveInt, flag_type


def counts_table(counts: dict[str, dict[str, int]]) -> Table:
    """One row per class, one column per split, and a total row."""
    table = Table()
    table.add_column("class")
    for split in counts:
        table.add_column(split, justify="right")
    names = list(next(iter(counts.values()))) if counts else []
    for name in names:
        table.add_row(name, *(str(counts[split][name]) for split in counts))
    table.add_row("total", *(str(sum(values.values())) for values in counts.values()), style="bold")
    return table


@command
def main(argv: list[str] | None = None) -> None:
    cli = CommandParser(description=__doc__.splitlines()[0])
    cli.add_argument("experiment", type=Path)
    cli.add_argument("--out", type=Path, default=None, help="folder for the pictures (default: runs/<name>)")
    cli.add_argument("--count", type=flag_type(PositiveInt), default=32, help="images in the grid")
    args = cli.parse_args(argv)
    datamodule = build_datamodule(args.experiment)
    datamodule.prepare_data()
    datamodule.setup("fit")
    out = args.out or Path("runs") / args.experiment.stem
    counts = datamodule.class_counts()
    print(f"{args.experiment.stem}: samples per class")
    Console().print(counts_table(counts))
    line = imbalance_line(counts.get("train", {}))
    if line:
        print(line)
    if counts:
        print(save_class_counts(counts, out / "class_counts.png"))
    else:
        print(f"{type(datamodule).__name__} gives no class counts (it declares no split_targets)")
    if datamodule.input_kind == "image":
        batch = spread_batch(datamodule.val_dataloader(), args.count)
        names = datamodule.class_names
        labels = [names[i] for i in batch["target"].tolist()]
        print(save_sample_grid(batch["inputs"], labels, out / "samples.png"))


if __name__ == "__main__":
    main()
