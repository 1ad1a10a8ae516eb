"""A DataModule built from the ``data`` section of an experiment file or a run's ``config.yaml``,
without a trainer or a model: what a command needs to show, encode or predict a run's data."""

from __future__ import annotations

from pathlib import Path

import yaml
from jsonargparse import ArgumentParser

from lightlab.data.base import LabDataModule
from lightlab.errors import UserError
from lightlab.parser_messages import parser_message


def build_datamodule(experiment: Path) -> LabDataModule:
    """The ``data`` section of ``experiment`` (a YAML file) instantiated; one line if it cannot be."""
    if not experiment.is_file():
        raise UserError(f"experiment file not found: {experiment}")
    node = (yaml.safe_load(experiment.read_text()) or {}).get("data")
    if node is None:
        raise UserError(f"{experiment} has no data section")
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(LabDataModule, "data")
    try:
        config = parser.parse_object({"data": node})
    except Exception as error:  # jsonargparse reports bad config this way
        raise UserError(f"{experiment}: {parser_message(str(error))}") from None
    return parser.instantiate(config).data
