import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lightlab.losses import SmoothedNLLLoss
from lightlab.nets import MLP, CustomLinear, SkipNet, init_weight_
from lightlab.tasks import ClassificationTask, TaskConfigError


def _copy_of(linear: nn.Linear) -> CustomLinear:
    custom = CustomLinear(linear.in_features, linear.out_features)
    with torch.no_grad():
        custom.weight.copy_(linear.weight)
        custom.bias.copy_(linear.bias)
    return custom


@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 5)])
def test_custom_linear_matches_nn_linear_outputs_and_gradients(shape):
    torch.manual_seed(0)
    builtin = nn.Linear(5, 4)
    custom = _copy_of(builtin)
    x1 = torch.randn(*shape, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_(True)
    out1, out2 = builtin(x1), custom(x2)
    torch.testing.assert_close(out2, out1)
    grad = torch.randn_like(out1)
    out1.backward(grad)
    out2.backward(grad)
    torch.testing.assert_close(x2.grad, x1.grad)
    torch.testing.assert_close(custom.weight.grad, builtin.weight.grad)
    torch.testing.assert_close(custom.bias.grad, builtin.bias.grad)


def test_custom_linear_parameters_are_registered_and_printed():
    layer = CustomLinear(3, 2, bias=False, init="xavier_normal")
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert repr(layer) == "CustomLinear(in_features=3, out_features=2, bias=False, init=xavier_normal)"
    assert CustomLinear(3, 2).bias.abs().sum() == 0  # bias starts at zero


def test_gradcheck_custom_linear():
    layer = CustomLinear(4, 3).double()
    x = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, w, b: F.linear(x, w, b) * 0 + layer(x), (x, layer.weight, layer.bias)
    )
    assert torch.autograd.gradcheck(layer, (torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True),))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
def test_gradcheck_smoothed_nll(smoothing, weighted):
    weights = [0.5, 1.0, 2.0, 1.5] if weighted else None
    loss = SmoothedNLLLoss(smoothing, weights).double()
    logits = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0, 1, 2, 3, 1, 2])
    assert torch.autograd.gradcheck(lambda z: loss(z, target), (logits,))


@pytest.mark.parametrize("smoothing", [0.0, 0.15])
@pytest.mark.parametrize("weighted", [False, True])
def test_smoothed_nll_equals_torch_cross_entropy(smoothing, weighted):
    torch.manual_seed(1)
    logits, target = torch.randn(32, 5), torch.randint(0, 5, (32,))
    weights = torch.tensor([0.2, 1.0, 3.0, 0.7, 1.3]) if weighted else None
    ours = SmoothedNLLLoss(smoothing, weights.tolist() if weighted else None)(logits, target)
    expected = F.cross_entropy(logits, target, weight=weights, label_smoothing=smoothing)
    torch.testing.assert_close(ours, expected)
    if smoothing == 0.0:
        torch.testing.assert_close(ours, F.nll_loss(F.log_softmax(logits, 1), target, weight=weights))


# A 1000 x 3000 weight: 3M draws put the sample variance within ~0.2% of the truth, so a 3%
# tolerance never fails by chance, while every plausible mistake (missing gain: 2x, fan_in and
# fan_out swapped: 3x, uniform bound without sqrt(3): 3x) is far outside it.
FAN_OUT, FAN_IN = 1000, 3000
EXPECTED_VARIANCE = {
    ("xavier_uniform", "fan_in"): 2 / (FAN_IN + FAN_OUT),
    ("xavier_normal", "fan_in"): 2 / (FAN_IN + FAN_OUT),
    ("kaiming_uniform", "fan_in"): 2 / FAN_IN,
    ("kaiming_normal", "fan_in"): 2 / FAN_IN,
    ("kaiming_uniform", "fan_out"): 2 / FAN_OUT,
    ("kaiming_normal", "fan_out"): 2 / FAN_OUT,
    ("normal", "fan_in"): 0.05**2,
}


@pytest.mark.parametrize(("scheme", "mode"), list(EXPECTED_VARIANCE))
def test_init_scheme_has_the_promised_variance(scheme, mode):
    torch.manual_seed(0)
    weight = init_weight_(torch.empty(FAN_OUT, FAN_IN), scheme, mode=mode, std=0.05)
    expected = EXPECTED_VARIANCE[(scheme, mode)]
    assert weight.var().item() == pytest.approx(expected, rel=0.03)
    assert abs(weight.mean().item()) < 0.01 * math.sqrt(expected)
    if scheme.endswith("uniform"):
        bound = math.sqrt(3 * expected)
        assert weight.abs().max().item() <= bound
        assert weight.abs().max().item() > 0.999 * bound


def test_kaiming_uses_the_nonlinearity_gain():
    torch.manual_seed(0)
    tanh = init_weight_(torch.empty(FAN_OUT, FAN_IN), "kaiming_normal", nonlinearity="tanh")
    assert tanh.var().item() == pytest.approx((5 / 3) ** 2 / FAN_IN, rel=0.03)


def test_constant_and_zero_schemes():
    assert torch.equal(init_weight_(torch.ones(3, 4), "zeros"), torch.zeros(3, 4))
    assert torch.equal(init_weight_(torch.zeros(3, 4), "constant", value=0.5), torch.full((3, 4), 0.5))


def test_bad_init_and_input_size_name_the_fix():
    with pytest.raises(ValueError, match="unknown init scheme 'he'; choose one of: zeros, constant"):
        CustomLinear(3, 2, init="he")
    with pytest.raises(ValueError, match="choose fan_in or fan_out"):
        CustomLinear(3, 2, mode="fan_avg")
    with pytest.raises(ValueError, match=r"expected inputs with last dimension 3, got 5 .*set in_features"):
        CustomLinear(3, 2)(torch.randn(4, 5))


def test_skip_net_shapes_residuals_and_input_reinjection():
    net = SkipNet(num_classes=3, in_features=4, hidden_size=8, depth=3)
    assert net(torch.randn(5, 4)).shape == (5, 3)
    assert net.output.in_features == 8 + 4  # last hidden state concatenated with the raw input
    assert [name for name, m in net.named_children() if isinstance(m, CustomLinear)] == [
        "input",
        "hidden1",
        "hidden2",
        "hidden3",
        "output",
    ]
    image_net = SkipNet(num_classes=10, input_shape=(1, 28, 28), hidden_size=16)
    assert image_net(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_skip_net_residual_path_keeps_gradients_alive():
    torch.manual_seed(0)
    net = SkipNet(num_classes=3, in_features=4, hidden_size=8, depth=2)
    with torch.no_grad():  # dead hidden layers: only the residual path carries the signal
        for name in net.hidden_names:
            init_weight_(getattr(net, name).weight, "zeros")
            getattr(net, name).bias.fill_(-1.0)
    net(torch.randn(6, 4)).sum().backward()
    assert net.input.weight.grad.abs().sum() > 0


def test_task_rejects_a_binary_loss_for_many_classes():
    with pytest.raises(
        ValueError,
        match=r"BCEWithLogitsLoss is for binary tasks .* 3 classes; use torch\.nn\.CrossEntropyLoss",
    ):
        ClassificationTask(MLP(num_classes=3, in_features=4), num_classes=3, loss=nn.BCEWithLogitsLoss())


def test_task_reports_a_net_with_the_wrong_number_of_outputs():
    task = ClassificationTask(MLP(num_classes=5, in_features=4), num_classes=3)
    with pytest.raises(TaskConfigError, match="the net outputs 5 logits but the data has 3 classes"):
        task.training_step({"inputs": torch.randn(2, 4), "target": torch.tensor([0, 1])}, 0)


def test_task_reports_a_loss_that_does_not_fit_the_logits():
    task = ClassificationTask(MLP(num_classes=1, in_features=4), num_classes=2, loss=SmoothedNLLLoss())
    with pytest.raises(
        TaskConfigError, match=r"loss SmoothedNLLLoss does not fit logits \(2,\) .*BCEWithLogitsLoss"
    ):
        task.training_step({"inputs": torch.randn(2, 4), "target": torch.tensor([0, 1])}, 0)
