"""A sentiment task that needs word order: which adjective a "not" belongs to decides the label."""

import csv
import random
import shutil
import tempfile
from pathlib import Path

from lightlab.data.text import TextDataModule
from lightlab.ranges import FoldCount, Fraction, NonNegativeInt, PositiveInt, Seed

POSITIVE = ("good", "great", "fun", "moving", "clever", "charming", "superb", "gripping")
NEGATIVE = ("bad", "dull", "boring", "weak", "clumsy", "tedious", "awful", "bland")
OTHER_SUBJECTS = ("the music", "the popcorn", "the cinema", "the trailer", "the seat", "the poster")
OPENERS = ("", "honestly ,", "i think", "to be fair ,", "in short ,", "well ,", "all in all ,")
FILLERS = ("really", "quite", "very", "rather", "truly", "somewhat")
CLOSERS = ("", ".", "!", ". would watch again", ". that is all", ". make of that what you will")


def draw_parts(rng: random.Random) -> dict:
    """The random choices behind one sentence, except where the ``not`` goes."""
    film_positive = rng.random() < 0.5
    return {
        "film_positive": film_positive,
        "adjectives": [rng.choice(POSITIVE if film_positive else NEGATIVE), rng.choice(POSITIVE + NEGATIVE)],
        "fillers": [rng.choice(FILLERS) if rng.random() < 0.5 else None for _ in range(2)],
        "opener": rng.choice(OPENERS),
        "subject": rng.choice(OTHER_SUBJECTS),
        "closer": rng.choice(CLOSERS),
    }


def compose(parts: dict, negated: int) -> tuple[str, str]:
    """``"<opener> the film was [not] [filler] ADJ1 , but <thing> was [not] [filler] ADJ2 <closer>"``
    with the ``not`` in clause ``negated`` (0: the film's, 1: the other thing's).

    The label is the sentiment towards the film: ADJ1's polarity, flipped if the ``not`` is in
    the film's clause. Moving the ``not`` to the other clause keeps every word and flips the
    label, and both placements are equally likely, so a bag-of-words model is right on at most
    half of the sentences; a model that reads the order can reach 100 %.
    """
    clauses = []
    for i, (adjective, filler) in enumerate(zip(parts["adjectives"], parts["fillers"], strict=True)):
        words = (["not"] if i == negated else []) + ([filler] if filler else []) + [adjective]
        clauses.append(" ".join(words))
    film, other = clauses
    text = f"{parts['opener']} the film was {film} , but {parts['subject']} was {other} {parts['closer']}"
    label = "positive" if parts["film_positive"] != (negated == 0) else "negative"
    return " ".join(text.split()), label


def negation_sentence(rng: random.Random) -> tuple[str, str]:
    """One random sentence of the negation task and its label."""
    parts = draw_parts(rng)
    return compose(parts, negated=rng.randrange(2))


def generate_negation(path: str | Path, count: int = 4000, seed: int = 0) -> Path:
    """Write ``count`` sentences as ``text,label`` CSV; the same arguments give the same file."""
    path = Path(path)
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".partial", delete=False, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(negation_sentence(rng) for _ in range(count))
    shutil.move(f.name, path)  # appears complete or not at all
    return path


class NegationDataModule(TextDataModule):
    """The negation demo, generated into ``path`` on first use, then read like any text file."""

    def __init__(
        self,
        path: str = "data/negation.csv",
        count: PositiveInt = 4000,
        generator_seed: Seed = 0,
        batch_size: PositiveInt = 64,
        val_fraction: Fraction = 0.1,
        test_fraction: Fraction = 0.1,
        folds: FoldCount | None = None,
        fold: NonNegativeInt = 0,
        predict_texts: list[str] | None = None,
        predict_path: str | None = None,
        balanced: bool = False,
    ) -> None:
        super().__init__(
            path=path,
            batch_size=batch_size,
            val_fraction=val_fraction,
            test_fraction=test_fraction,
            folds=folds,
            fold=fold,
            predict_texts=predict_texts,
            predict_path=predict_path,
            balanced=balanced,
        )

    def prepare_data(self) -> None:
        hp = self.hparams
        if not Path(hp.path).is_file():
            generate_negation(hp.path, hp.count, hp.generator_seed)
