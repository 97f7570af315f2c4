"""Models at the paper's scale for the engine benchmarks, built in torch and exported to ONNX.

- `resnet18`: the CIFAR-style ResNet-18 (3×3 stem, no max-pool; 11,169,162 parameters, input
  3×32×32, 10 classes), exported by the legacy exporter, which folds each BatchNorm into the
  convolution before it (`fold_batchnorm` does the same on the torch side, so both compute the
  same function and the same kernels).
- `bert-small` (4 layers, hidden 256, 4 heads, 64 tokens, 2 classes) and `bert-base` (12 layers,
  hidden 768, 12 heads): transformers' BertForSequenceClassification, random weights (seeded),
  exported by the legacy exporter with constant folding off, taking float token ids cast inside the
  graph (`FloatIdsBert`).

Needs torch, transformers and onnx (tools/bench/venv.sh makes a virtual environment with them).
"""
import copy

import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + self.shortcut(x))


class ResNet18(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, cin = [], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(512, classes)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.layers(y)
        y = torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1)
        return self.linear(y)


def resnet18(seed=0):
    """A ResNet-18 with seeded weights and non-trivial BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = ResNet18()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    return model.eval()


def fold_batchnorm(model):
    """A copy of `model` with each BatchNorm2d folded into the convolution before it (as the ONNX
    exporter does), so torch differentiates the same parameters the ONNX model has."""
    model = copy.deepcopy(model)

    def fold(conv, bn):
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True)
        folded.weight.data = conv.weight.data * scale.reshape(-1, 1, 1, 1)
        bias = conv.bias.data if conv.bias is not None else torch.zeros_like(bn.running_mean)
        folded.bias.data = (bias - bn.running_mean) * scale + bn.bias
        return folded.eval()

    def walk(module):
        names = list(module._modules)
        for i, name in enumerate(names):
            child = module._modules[name]
            if isinstance(child, nn.Conv2d) and i + 1 < len(names) and isinstance(module._modules[names[i + 1]], nn.BatchNorm2d):
                module._modules[name] = fold(child, module._modules[names[i + 1]])
                module._modules[names[i + 1]] = nn.Identity()
            else:
                walk(child)

    walk(model)
    # BasicBlock names its pairs conv1/bn1, conv2/bn2: fold those too.
    for m in model.modules():
        for c, b in [("conv1", "bn1"), ("conv2", "bn2")]:
            if isinstance(getattr(m, c, None), nn.Conv2d) and isinstance(getattr(m, b, None), nn.BatchNorm2d):
                setattr(m, c, fold(getattr(m, c), getattr(m, b)))
                setattr(m, b, nn.Identity())
    return model.eval()


class FloatIdsBert(nn.Module):
    """BertForSequenceClassification taking float token ids (cast to int64 inside the graph) and no
    attention mask: the form a one-float-input backend takes."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, ids):
        return self.bert(input_ids=ids.long()).logits


def bert(layers, hidden, heads, tokens=64, classes=2, vocab=30522, seed=0):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=4 * hidden, max_position_embeddings=max(512, tokens), num_labels=classes,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, attn_implementation="eager")
    model = BertForSequenceClassification(config).eval()
    # Fresh LayerNorm weights (all 1) and biases (all 0) are identical tensors, which the exporter
    # merges into one initializer: the ONNX model would then tie parameters torch keeps apart, and
    # the two kernels would differ (by 4% here). Perturbed, every tensor is distinct, as after training.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "LayerNorm" in name:
                p.add_(0.02 * torch.randn_like(p))
    return FloatIdsBert(model).eval()


MODELS = {
    "resnet18": dict(make=resnet18, input=(3, 32, 32), fold=True, constant_folding=True),
    "bert-small": dict(make=lambda: bert(4, 256, 4), input=(64,), fold=False, constant_folding=False),
    "bert-base": dict(make=lambda: bert(12, 768, 12), input=(64,), fold=False, constant_folding=False),
}


def sample_inputs(name, n, seed=1):
    """Synthetic inputs: images N(0, 1), or token ids in [0, 30522) as floats."""
    g = torch.Generator().manual_seed(seed)
    spec = MODELS[name]
    if name.startswith("bert"):
        return torch.randint(0, 30522, (n,) + spec["input"], generator=g).float()
    return torch.randn((n,) + spec["input"], generator=g)


def export(name, path):
    """Exports model `name` to `path` (legacy exporter, dynamic batch axis); returns the torch model
    that computes the same function (BatchNorm folded where the exporter folds it)."""
    spec = MODELS[name]
    model = spec["make"]()
    x = sample_inputs(name, 2)
    torch.onnx.export(
        model, (x,), path, input_names=["x"], output_names=["logits"], dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}},
        opset_version=17, do_constant_folding=spec["constant_folding"], dynamo=False)
    return fold_batchnorm(model) if spec["fold"] else model
