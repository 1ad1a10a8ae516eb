"""Labelled variable-length text: vocabulary from the training split, length-bucketed padded batches."""

from typing import Any

import torch
from torch.utils.data import DataLoader

from lightlab.batch import Batch
from lightlab.data.base import LabDataModule
from lightlab.data.bucketing import BucketBatchSampler, SequenceDataset
from lightlab.data.csv_files import MAX_FIELD_CHARS
from lightlab.data.eval_shards import evaluating_in_shards
from lightlab.data.in_memory import already_batched
from lightlab.data.input_encoding import TextInputs
from lightlab.data.read_once import read_once
from lightlab.data.splits import label_order, split_for_run
from lightlab.data.text_files import read_labelled_texts
from lightlab.data.vocab import SimpleTokenizer, Tokenizer, Vocabulary
from lightlab.errors import UserError
from lightlab.ranges import FoldCount, Fraction, NonNegativeInt, PositiveInt, Seed


class TextDataModule(LabDataModule):
    """Text classification from CSV/TSV/JSONL: one ``path`` split by class (seeded), or separate
    ``train_path``/``val_path``/``test_path`` files, read in ``encoding`` (UTF-8 by default); a
    field longer than ``max_field_chars`` is refused, naming its line.

    The vocabulary (``<pad>`` = 0, ``<unk>`` = 1, then tokens by frequency) and the label names
    come from the training split only; both are written to ``vocab.json`` in the run directory and
    kept in checkpoints, so ``predict`` can encode new raw strings (``predict_texts``, or
    ``predict_path``: one text per line, or the text column of a CSV/TSV/JSONL file) exactly as
    in training. Batches hold sequences of similar
    length padded to their own longest one: ``{"inputs": (B, T) ids, "lengths": (B,), "target": (B,)}``.
    """

    input_kind = "sequence"
    resplittable = True

    def __init__(
        self,
        path: str | None = None,
        train_path: str | None = None,
        val_path: str | None = None,
        test_path: str | None = None,
        text_column: str = "text",
        label_column: str = "label",
        encoding: str = "utf-8",
        max_field_chars: PositiveInt = MAX_FIELD_CHARS,
        val_fraction: Fraction = 0.1,
        test_fraction: Fraction = 0.1,
        split_seed: Seed = 0,
        folds: FoldCount | None = None,
        fold: NonNegativeInt = 0,
        tokenizer: Tokenizer | None = None,
        min_freq: PositiveInt = 1,
        max_vocab_size: PositiveInt | None = None,
        max_length: PositiveInt | None = None,
        batch_size: PositiveInt = 64,
        bucketing: bool = True,
        balanced: bool = False,
        predict_texts: list[str] | None = None,
        predict_path: str | None = None,
    ) -> None:
        super().__init__()
        self.save_arguments(locals(), ignore=("tokenizer",))
        if (path is None) == (train_path is None):
            raise ValueError("give either path (split by fraction) or train_path (with val_path/test_path)")
        if folds is not None and path is None:
            raise ValueError(
                "folds re-split one file: give path (and no train_path/val_path/test_path) to cross-validate"
            )
        self.tokenizer = tokenizer or SimpleTokenizer()
        self.vocab: Vocabulary | None = None
        self.class_names: list[str] = []
        self.datasets: dict[str, SequenceDataset] = {}
        self._texts: dict[str, tuple[list[str], list[str]]] = {}

    # ---- sizes the CLI links into the net (reading the training data on first use)

    @property
    def vocab_size(self) -> int:
        self._build_vocab()
        return len(self.vocab)

    @property
    def num_classes(self) -> int:
        self._build_vocab()
        return len(self.class_names)

    # ---- reading and encoding

    def _read(self) -> None:
        if self._texts:
            return
        self.prepare_data()  # sizes may be asked for before the Trainer runs prepare_data
        hp = self.hparams
        columns = {
            "text_column": hp.text_column,
            "label_column": hp.label_column,
            "encoding": hp.encoding,
            "max_field_chars": hp.get("max_field_chars", MAX_FIELD_CHARS),
        }
        if hp.path is not None:
            texts, labels = read_once(read_labelled_texts, hp.path, **columns)
            names = label_order(set(labels))
            targets = torch.tensor([names.index(label) for label in labels])
            folds, fold = hp.get("folds"), hp.get("fold", 0)
            parts = split_for_run(targets, hp.val_fraction, hp.test_fraction, hp.split_seed, folds, fold)
            for split, index in zip(("train", "val", "test"), parts, strict=True):
                self._texts[split] = ([texts[i] for i in index], [labels[i] for i in index])
            return
        for split in ("train", "val", "test"):
            path = hp[f"{split}_path"]
            self._texts[split] = read_once(read_labelled_texts, path, **columns) if path else ([], [])

    def _build_vocab(self) -> None:
        if self.vocab is not None:
            return
        self._read()
        train_texts, train_labels = self._texts["train"]
        self.class_names = label_order(set(train_labels))
        if len(self.class_names) < 2:
            source = self.hparams.path or self.hparams.train_path
            raise UserError(
                f"{source}: the training split has only one class ({', '.join(self.class_names)}); a "
                "classifier needs examples of at least two"
            )
        for split in ("val", "test"):
            unseen = sorted(set(self._texts[split][1]) - set(self.class_names))
            if unseen:
                raise UserError(
                    f"{split} labels never seen in training: {', '.join(unseen)}; "
                    "every class needs training examples"
                )
        tokenized = (self.tokenize(text) for text in train_texts)
        self.vocab = Vocabulary.build(tokenized, self.hparams.min_freq, self.hparams.max_vocab_size)

    def tokenize(self, text: str) -> list[str]:
        tokens = self.tokenizer(text)
        max_length = self.hparams.max_length
        return tokens[:max_length] if max_length else tokens

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, as new inputs are encoded (``TextInputs.ids``)."""
        encoding = self.input_encoding()
        return [encoding.ids(text) for text in texts]

    def setup(self, stage: str) -> None:
        if stage == "predict" and self.vocab is not None:
            return  # the vocabulary may come from a checkpoint; training files are not needed
        if not self.datasets:  # encoded once; validate/test after fit call setup again
            self._read()  # also when the vocabulary came from a checkpoint
            self._build_vocab()
            index = {name: i for i, name in enumerate(self.class_names)}
            for split, (texts, labels) in self._texts.items():
                if texts:
                    self.datasets[split] = SequenceDataset(
                        self.encode(texts), [index[label] for label in labels]
                    )

    def vocabulary(self) -> list[str]:
        self._build_vocab()
        return list(self.vocab.tokens)

    def run_files(self) -> dict[str, Any]:
        """``vocab.json``: the tokens and class names, to encode new texts as in training."""
        return {"vocab.json": self.state_dict()}

    # ---- loaders

    def _loader(self, split: str, train: bool) -> DataLoader:
        dataset = self.datasets.get(split)
        if dataset is None:
            raise UserError(
                f"no {split} texts: give --data.init_args.{split}_path or use path with a fraction"
            )
        trainer = self.trainer
        replicas, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        # Pools of one batch are plain random batches (still padded only to their own longest).
        sampler = BucketBatchSampler(
            dataset.lengths,
            self.batch_size,
            shuffle=train,
            seed=self.hparams.split_seed,
            num_replicas=replicas,
            rank=rank,
            drop_last=train,
            pool_batches=50 if self.hparams.bucketing else 1,
            even=not evaluating_in_shards(trainer),
            balanced_targets=dataset.targets if train and self.balanced else None,
        )
        return DataLoader(dataset, sampler=sampler, batch_size=None, collate_fn=already_batched)

    def split_targets(self, split: str) -> torch.Tensor | None:
        dataset = self.datasets.get(split)
        return dataset.targets if dataset is not None else None

    def predict_dataloader(self) -> DataLoader:
        if self._predict_items is None:  # the texts named in the config, if any
            if self.hparams.predict_path:
                self.predict_from(self.hparams.predict_path)
            elif self.hparams.predict_texts:
                self.predict_on(self.hparams.predict_texts, self.hparams.predict_texts)
        return super().predict_dataloader()

    def input_encoding(self) -> TextInputs:
        """Texts tokenised and mapped to ids as in training, padded to the batch's longest; files are
        read as the ``text_column`` of a CSV/TSV/JSONL file, or one text per line."""
        self._build_vocab()
        hp = self.hparams
        return TextInputs(
            self.vocab.tokens,
            lowercase=self.tokenizer.lowercase if isinstance(self.tokenizer, SimpleTokenizer) else True,
            max_length=hp.max_length,
            text_column=hp.text_column,
            encoding=hp.encoding,
            tokenize=self.tokenizer,
        )

    def example_input(self) -> Batch:
        # <unk> (1) exists in every vocabulary; the second sequence shows the padding.
        return {"inputs": torch.tensor([[1, 1, 1], [1, 0, 0]]), "lengths": torch.tensor([3, 1])}

    # ---- saved in checkpoints

    def state_dict(self) -> dict:
        self._build_vocab()
        return {"tokens": self.vocab.tokens, "class_names": self.class_names}

    def load_state_dict(self, state: dict) -> None:
        self.vocab = Vocabulary(list(state["tokens"]))
        self.class_names = list(state["class_names"])
