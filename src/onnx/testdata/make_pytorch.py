"""Exports two tiny PyTorch models to ONNX at opsets 11, 13, 14 and 17: real exporter output for the import tests.

Run with Debian's python3-torch (1.13) and python3-onnx: /usr/bin/python3 src/onnx/testdata/make_pytorch.py
- cnn: Conv-BN-ReLU-MaxPool, a residual add, adaptive average pooling and x.view(x.size(0), -1) -> Linear,
  dynamic batch; the view makes the exporter emit a Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain.
- attention: one pre-norm self-attention block with GELU MLP over [batch, seq, 16], both dynamic, so heads
  are split and merged through shape sub-graphs and Constant nodes.
Weights come from torch.manual_seed(0); files are written as <model>-opset<N>.onnx in testdata/pytorch/.
"""
import os

import torch
from torch import nn

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pytorch")
os.makedirs(here, exist_ok=True)


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.conv(x))))
        x = x + torch.relu(self.conv2(x))
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.head(x.view(x.size(0), -1))


class Attention(nn.Module):
    def __init__(self, dim=16, heads=2):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        b, s, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        split = lambda t: t.reshape(b, s, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        att = torch.softmax(q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, s, d)
        x = x + self.proj(y)
        return x + self.mlp(self.norm2(x))


torch.manual_seed(0)
models = {
    "cnn": (Cnn().eval(), torch.randn(2, 3, 16, 16), {"x": {0: "batch"}, "y": {0: "batch"}}),
    "attention": (Attention().eval(), torch.randn(2, 5, 16), {"x": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq"}}),
}
for name, (model, example, axes) in models.items():
    for opset in (11, 13, 14, 17):
        torch.onnx.export(
            model, example, os.path.join(here, f"{name}-opset{opset}.onnx"),
            input_names=["x"], output_names=["y"], dynamic_axes=axes, opset_version=opset,
        )
