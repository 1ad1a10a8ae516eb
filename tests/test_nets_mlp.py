import pytest
import torch

from lightlab.nets import MLP


def test_output_shape_and_layers():
    net = MLP(num_classes=3, in_features=4, hidden_sizes=[8, 5], dropout=0.2, batch_norm=True)
    assert net(torch.randn(7, 4)).shape == (7, 3)
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(4, 8), (8, 5), (5, 3)]
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in net.modules()) == 2
    assert sum(isinstance(m, torch.nn.Dropout) for m in net.modules()) == 2


def test_image_input_is_flattened_from_input_shape():
    net = MLP(num_classes=10, input_shape=(1, 28, 28), hidden_sizes=[16])
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_dropout_only_acts_in_training_mode():
    net = MLP(num_classes=2, in_features=3, hidden_sizes=[64], dropout=0.5)
    x = torch.randn(4, 3)
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    assert not torch.equal(net(x), net(x))


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="unknown activation 'swish'; choose one of: relu"):
        MLP(num_classes=2, in_features=3, activation="swish")
    with pytest.raises(ValueError, match="needs in_features or input_shape"):
        MLP(num_classes=2)
