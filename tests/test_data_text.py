import csv
import json
import random
from collections import Counter

import pytest
import torch
from helpers import EXPERIMENTS, read_summary, run_cli, run_dirs

from lightlab.data import TextDataModule
from lightlab.data.bucketing import BucketBatchSampler, SequenceDataset
from lightlab.data.negation import compose, draw_parts, generate_negation
from lightlab.data.vocab import SimpleTokenizer, Vocabulary
from lightlab.errors import UserError
from lightlab.nets import BiLSTM
from lightlab.nets.bilstm import reverse_within_length


def _csv(path, rows, header="text,label"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return str(path)


def test_tokenizer_and_vocabulary():
    assert SimpleTokenizer()("Don't STOP, ok?") == ["don't", "stop", ",", "ok", "?"]
    vocab = Vocabulary.build([["b", "a", "a"], ["c", "a", "b"]], min_freq=2)
    assert vocab.tokens == ["<pad>", "<unk>", "a", "b"]
    assert vocab.encode(["a", "zebra", "b"]) == [2, 1, 3]
    assert len(Vocabulary.build([["x", "y", "z", "z"]], max_size=3)) == 3


def test_vocabulary_comes_from_the_training_split_only(tmp_path):
    train = _csv(tmp_path / "train.csv", ["apple pie,yes", "apple tart,no"])
    val = _csv(tmp_path / "val.csv", ["banana split,yes"])
    dm = TextDataModule(train_path=train, val_path=val)
    dm.setup("fit")
    assert "banana" not in dm.vocab.index and "apple" in dm.vocab.index
    assert dm.datasets["val"].sequences[0].tolist() == [1, 1]  # both tokens unknown
    assert dm.class_names == ["no", "yes"] and dm.num_classes == 2


def test_integer_labels_sort_numerically_and_max_length_truncates(tmp_path):
    rows = [f"{'w ' * (i + 3)},{label}" for i, label in enumerate([10, 2, 9, 2, 10, 9])]
    dm = TextDataModule(train_path=_csv(tmp_path / "t.csv", rows), max_length=4)
    dm.setup("fit")
    assert dm.class_names == ["2", "9", "10"]
    assert max(dm.datasets["train"].lengths) == 4


def test_jsonl_and_tsv_with_custom_columns(tmp_path):
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text("\n".join(json.dumps({"review": f"text {i}", "stars": i % 3}) for i in range(30)))
    dm = TextDataModule(path=str(jsonl), text_column="review", label_column="stars")
    dm.setup("fit")
    assert dm.num_classes == 3 and sum(len(d) for d in dm.datasets.values()) == 30
    tsv = _csv(tmp_path / "t.tsv", ["a b\tx", "c d\ty"], header="text\tlabel")
    TextDataModule(train_path=tsv).setup("fit")


def test_batches_are_padded_to_their_own_longest_sequence():
    dataset = SequenceDataset([[5, 6, 7], [8], [9, 10]], [0, 1, 0])
    batch = dataset[[1, 2]]
    assert batch["inputs"].tolist() == [[8, 0], [9, 10]]
    assert batch["lengths"].tolist() == [1, 2] and batch["target"].tolist() == [1, 0]


def test_bucketing_keeps_every_sample_once_and_is_reproducible():
    rng = random.Random(0)
    lengths = [rng.randint(5, 300) for _ in range(1000)]
    sampler = BucketBatchSampler(lengths, batch_size=32, seed=3)
    first = list(sampler)
    assert sorted(i for batch in first for i in batch) == list(range(1000))
    assert first == list(BucketBatchSampler(lengths, batch_size=32, seed=3))
    sampler.set_epoch(1)
    assert list(sampler) != first  # a new order every epoch
    spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in first]
    assert sum(spread) / len(spread) < 20  # similar lengths inside a batch (random would be ~250)


def test_bucketing_saves_padding():
    rng = random.Random(1)
    lengths = [rng.randint(50, 300) for _ in range(2000)]

    def padded_tokens(pool_batches):
        batches = BucketBatchSampler(lengths, batch_size=64, pool_batches=pool_batches)
        return sum(len(b) * max(lengths[i] for i in b) for b in batches)

    assert padded_tokens(50) < 0.7 * padded_tokens(1)  # about 1/1.7 for lengths uniform in 50-300


@pytest.mark.parametrize(("drop_last", "size"), [(True, 1000), (False, 999)])
def test_distributed_shares_are_disjoint_and_equal(drop_last, size):
    lengths = list(range(size))
    shares = [
        list(BucketBatchSampler(lengths, 10, num_replicas=3, rank=r, drop_last=drop_last)) for r in range(3)
    ]
    assert len({len(share) for share in shares}) == 1
    assert all(
        len(share) == len(BucketBatchSampler(lengths, 10, num_replicas=3, drop_last=drop_last))
        for share in shares
    )
    seen = [i for share in shares for batch in share for i in batch]
    if drop_last:
        assert len(seen) == len(set(seen))  # disjoint
    else:
        assert set(seen) == set(range(size))  # everything evaluated, a few batches repeated to even out


def test_uneven_shares_for_scoring_hold_every_sample_exactly_once():
    lengths = list(range(995))  # 100 batches of 10 (the last one 5) for 3 processes
    shares = [
        list(BucketBatchSampler(lengths, 10, shuffle=False, num_replicas=3, rank=r, even=False))
        for r in range(3)
    ]
    assert [len(share) for share in shares] == [34, 33, 33]
    assert [len(BucketBatchSampler(lengths, 10, num_replicas=3, rank=r, even=False)) for r in range(3)] == [
        34,
        33,
        33,
    ]
    seen = [i for share in shares for batch in share for i in batch]
    assert sorted(seen) == lengths
    # Fewer batches than processes: they are split so that every process gets one.
    few = [list(BucketBatchSampler(range(60), 64, num_replicas=2, rank=r, even=False)) for r in (0, 1)]
    assert [len(share) for share in few] == [1, 1]
    assert sorted(i for share in few for batch in share for i in batch) == list(range(60))


def test_reverse_within_length_leaves_padding_at_the_end():
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]]).unsqueeze(-1)
    flipped = reverse_within_length(x, torch.tensor([3, 2]))
    assert flipped.squeeze(-1).tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]
    assert torch.equal(reverse_within_length(flipped, torch.tensor([3, 2])), x)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_bilstm_output_does_not_depend_on_padding(num_layers):
    torch.manual_seed(0)
    net = BiLSTM(vocab_size=50, num_classes=3, num_layers=num_layers).eval()
    sequences = [torch.randint(1, 50, (n,)) for n in (7, 3, 12, 1)]
    batch = SequenceDataset(sequences, [0] * 4)[[0, 1, 2, 3]]
    with torch.no_grad():
        together = net(batch["inputs"], batch["lengths"])
        for row, sequence in enumerate(sequences):
            alone = net(sequence.unsqueeze(0), torch.tensor([len(sequence)]))
            torch.testing.assert_close(together[row : row + 1], alone, rtol=1e-5, atol=1e-6)
            extra = torch.cat([sequence, torch.zeros(9, dtype=torch.long)]).unsqueeze(0)
            torch.testing.assert_close(net(extra, torch.tensor([len(sequence)])), alone, rtol=1e-5, atol=1e-6)


def test_bilstm_gives_one_logit_per_class_also_for_two_classes():
    net = BiLSTM(vocab_size=10, num_classes=2)
    assert net(torch.randint(1, 10, (4, 6)), torch.tensor([6, 5, 2, 1])).shape == (4, 2)


def test_negation_sentences_defeat_bag_of_words():
    rng = random.Random(0)
    for _ in range(200):
        parts = draw_parts(rng)
        (text_a, label_a), (text_b, label_b) = compose(parts, 0), compose(parts, 1)
        assert Counter(text_a.split()) == Counter(text_b.split())
        assert label_a != label_b


def test_text_bilstm_learns_and_predicts_raw_strings(tmp_path, runs_dir):
    data = generate_negation(tmp_path / "neg.csv", count=1500, seed=1)
    run_cli(
        "fit",
        "--config",
        str(EXPERIMENTS / "text_bilstm.yaml"),
        "--data.init_args.path",
        str(data),
        "--trainer.max_epochs",
        "8",
        runs_dir=runs_dir,
    )
    (run_dir,) = run_dirs(runs_dir, "text_bilstm")
    summary = read_summary(run_dir)
    assert summary["test"]["test/acc"] >= 0.85  # a bag of words cannot pass 0.5
    vocab = json.loads((run_dir / "vocab.json").read_text())
    assert vocab["tokens"][:2] == ["<pad>", "<unk>"] and vocab["class_names"] == ["negative", "positive"]

    texts = tmp_path / "new.txt"
    texts.write_text(
        "the film was not dull , but the popcorn was bad\nthe film was dull , but the seat was not bad\n"
    )
    run_cli(
        "predict",
        "--config",
        str(run_dir / "config.yaml"),
        "--ckpt_path",
        str(run_dir / summary["best_checkpoint"]),
        "--data.init_args.predict_path",
        str(texts),
        runs_dir=runs_dir,
    )
    predict_dir = next(d for d in run_dirs(runs_dir, "text_bilstm") if d.name.endswith("-predict"))
    with (predict_dir / "predictions.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["input", "prediction", "probability", "prob_negative", "prob_positive"]
    assert rows[1][:2] == ["the film was not dull , but the popcorn was bad", "positive"]
    assert rows[2][:2] == ["the film was dull , but the seat was not bad", "negative"]
    assert all(0.5 <= float(row[2]) <= 1.0 for row in rows[1:])


def test_bad_text_input(tmp_path):
    with pytest.raises(UserError, match="text file not found"):
        TextDataModule(path=str(tmp_path / "nope.csv")).setup("fit")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(UserError, match="holds no rows"):
        TextDataModule(path=str(empty)).setup("fit")
    wrong = _csv(tmp_path / "wrong.csv", ["hello,1"], header="sentence,label")
    with pytest.raises(UserError, match=r"no column 'text' \(columns found: sentence, label\); set --data"):
        TextDataModule(path=wrong).setup("fit")
    unseen_train = _csv(tmp_path / "tr.csv", ["a b,x", "c d,y"])
    unseen_val = _csv(tmp_path / "va.csv", ["a,z"])
    with pytest.raises(UserError, match="val labels never seen in training: z"):
        TextDataModule(train_path=unseen_train, val_path=unseen_val).setup("fit")


def test_empty_text_rows_are_skipped_with_their_row_numbers(tmp_path):
    path = _csv(tmp_path / "t.csv", ["good,1", "  ,0", "bad,0", ",1"])
    dm = TextDataModule(train_path=path)
    with pytest.warns(UserWarning, match=r"skipped 2 row\(s\) with empty text: 3, 5"):
        dm.setup("fit")
    assert len(dm.datasets["train"]) == 2


def test_multiclass_text_trains_with_one_logit_per_class(tmp_path, runs_dir):
    rng = random.Random(0)
    topics = {
        "sport": ["goal", "match", "team"],
        "food": ["pasta", "soup", "bread"],
        "art": ["paint", "museum", "poem"],
    }
    rows = [
        f"{' '.join(rng.choices(words, k=rng.randint(3, 9)))},{topic}"
        for topic, words in topics.items()
        for _ in range(60)
    ]
    path = _csv(tmp_path / "topics.csv", rows)
    run_cli(
        "fit",
        "--config",
        str(EXPERIMENTS / "text_file_bilstm.yaml"),
        "--data.init_args.path",
        path,
        "--data.init_args.min_freq",
        "1",
        "--trainer.max_epochs",
        "4",
        runs_dir=runs_dir,
    )
    summary = read_summary(run_dirs(runs_dir, "text_file_bilstm")[0])
    assert summary["class_names"] == ["art", "food", "sport"]
    assert len(summary["confusion_matrix"]) == 3
    assert summary["test"]["test/acc"] >= 0.9


def test_unbucketed_batches_cover_the_split_and_setup_encodes_once(tmp_path):
    rows = [f"{'w ' * (i % 7 + 1)},{'a' if i % 2 else 'b'}" for i in range(100)]
    dm = TextDataModule(train_path=_csv(tmp_path / "t.csv", rows), batch_size=16, bucketing=False)
    dm.setup("fit")
    encoded = dm.datasets["train"]
    dm.setup("test")  # the CLI validates and tests after fit: no second encoding
    assert dm.datasets["train"] is encoded
    batches = list(dm._loader("train", train=True))
    # one process: every row once; drop_last only evens out shares between processes
    assert sorted(len(b["target"]) for b in batches) == [4] + [16] * 6
    assert all(b["inputs"].shape[1] == int(b["lengths"].max()) for b in batches)  # padded to own longest
