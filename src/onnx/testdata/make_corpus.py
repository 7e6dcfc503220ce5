"""Exports the real-exporter corpus: small but structurally real models through torch.onnx, as users export them.

Run with Debian's python3-torch (1.13) and python3-onnx (not part of the test run; the files are committed):

    apt-get install -y python3-torch python3-onnx
    /usr/bin/python3 src/onnx/testdata/make_corpus.py

Models (reduced widths, seeded weights, written as corpus/<model>-<static|dynamic>-opset<N>.onnx):
- qwen2: a 2-layer Qwen2-style decoder: RMSNorm, rotary embedding, grouped-query attention whose key/value heads
  are repeated with expand (repeat_kv), a causal mask built at run time, SwiGLU MLP; input input_ids.
- gpt2: a 2-layer GPT-2 block stack: learned positions from arange, Conv1D projections, a causal mask sliced from a
  buffer and applied with where, tanh GELU; input input_ids.
- bert: a 2-layer BERT-style encoder with an attention_mask input turned into an additive mask at run time.
- resnet: a ResNet stage (two bottleneck blocks, the first with a strided projection shortcut).
- inception: an Inception-style module (1x1, 1x1-3x3, 1x1-3x3-3x3 and pool-1x1 branches concatenated).
- shufflenet: a ShuffleNet-V2-style unit: channel split, a depthwise branch and a channel shuffle by view/transpose.
Each is exported without and with dynamic_axes at opset 14; the transformers also at opsets 13 and 17. Constant
folding is on (the exporter's default) and ONNX shape inference with data propagation is applied afterwards, so
every file carries the exporter's value_info for every activation.

    /usr/bin/python3 src/onnx/testdata/make_corpus.py --full DIR

exports the same code at the published full sizes instead (random weights; hundreds of MB each, so into DIR, not
committed): gpt2 (12 layers, 768 wide, vocabulary 50,257), bert-base (12 layers, 768, vocabulary 30,522), qwen2-0.5b
(24 layers, hidden 896, 14 query and 2 key/value heads, MLP 4,864, vocabulary 151,936, tied embeddings; external
data), each at sequence 128 (qwen2-0.5b at 32) with dynamic axes, and torchvision's vit_b_16 and swin_t at 224x224.
These are the files `npm run bench:order -- --files DIR` orders (docs/ordering.md).
"""
import math
import os
import sys

import onnx
from onnx import external_data_helper as external
import torch
from torch import nn

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(x, n_rep):
    batch, kv_heads, slen, head_dim = x.shape
    if n_rep == 1:
        return x
    x = x[:, :, None, :, :].expand(batch, kv_heads, n_rep, slen, head_dim)
    return x.reshape(batch, kv_heads * n_rep, slen, head_dim)


class QwenAttention(nn.Module):
    def __init__(self, hidden, heads, kv_heads, max_pos=64, theta=10000.0):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, hidden // heads
        self.q_proj = nn.Linear(hidden, heads * self.head_dim)
        self.k_proj = nn.Linear(hidden, kv_heads * self.head_dim)
        self.v_proj = nn.Linear(hidden, kv_heads * self.head_dim)
        self.o_proj = nn.Linear(heads * self.head_dim, hidden, bias=False)
        inv_freq = 1.0 / (theta ** (torch.arange(0, self.head_dim, 2).float() / self.head_dim))
        freqs = torch.outer(torch.arange(max_pos).float(), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos_cached", emb.cos(), persistent=False)
        self.register_buffer("sin_cached", emb.sin(), persistent=False)

    def forward(self, x, mask, position_ids):
        bsz, q_len, _ = x.size()
        q = self.q_proj(x).view(bsz, q_len, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(bsz, q_len, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(bsz, q_len, self.kv_heads, self.head_dim).transpose(1, 2)
        cos = self.cos_cached[:q_len][position_ids].unsqueeze(1)
        sin = self.sin_cached[:q_len][position_ids].unsqueeze(1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = repeat_kv(k, self.heads // self.kv_heads)
        v = repeat_kv(v, self.heads // self.kv_heads)
        att = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim) + mask
        att = torch.softmax(att.float(), dim=-1).to(q.dtype)
        y = torch.matmul(att, v).transpose(1, 2).reshape(bsz, q_len, -1)
        return self.o_proj(y)


class QwenLayer(nn.Module):
    def __init__(self, hidden, heads, kv_heads, inter):
        super().__init__()
        self.input_layernorm = RMSNorm(hidden)
        self.self_attn = QwenAttention(hidden, heads, kv_heads)
        self.post_attention_layernorm = RMSNorm(hidden)
        self.gate_proj = nn.Linear(hidden, inter, bias=False)
        self.up_proj = nn.Linear(hidden, inter, bias=False)
        self.down_proj = nn.Linear(inter, hidden, bias=False)

    def forward(self, x, mask, position_ids):
        x = x + self.self_attn(self.input_layernorm(x), mask, position_ids)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(nn.functional.silu(self.gate_proj(h)) * self.up_proj(h))


class Qwen2(nn.Module):
    def __init__(self, vocab=64, hidden=32, heads=4, kv_heads=2, inter=64, layers=2):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, hidden)
        self.layers = nn.ModuleList([QwenLayer(hidden, heads, kv_heads, inter) for _ in range(layers)])
        self.norm = RMSNorm(hidden)
        self.lm_head = nn.Linear(hidden, vocab, bias=False)

    def forward(self, input_ids):
        bsz, seq = input_ids.shape
        x = self.embed_tokens(input_ids)
        position_ids = torch.arange(seq, dtype=torch.long).unsqueeze(0).expand(bsz, seq)
        mask = torch.full((seq, seq), torch.finfo(x.dtype).min)
        cond = torch.arange(mask.size(-1))
        mask = mask.masked_fill(cond < (cond + 1).view(mask.size(-1), 1), 0)
        mask = mask[None, None, :, :].expand(bsz, 1, seq, seq)
        for layer in self.layers:
            x = layer(x, mask, position_ids)
        return self.lm_head(self.norm(x))


class Conv1D(nn.Module):
    """GPT-2's transposed linear layer (addmm over the flattened tokens)."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.randn(nx, nf) * 0.02)
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Gpt2Block(nn.Module):
    def __init__(self, dim, heads, max_pos):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(dim)
        self.c_attn = Conv1D(3 * dim, dim)
        self.c_proj = Conv1D(dim, dim)
        self.ln_2 = nn.LayerNorm(dim)
        self.c_fc = Conv1D(4 * dim, dim)
        self.mlp_proj = Conv1D(dim, 4 * dim)
        self.register_buffer("bias", torch.tril(torch.ones(max_pos, max_pos, dtype=torch.bool)).view(1, 1, max_pos, max_pos))

    def split_heads(self, x):
        return x.view(x.size()[:-1] + (self.heads, x.size(-1) // self.heads)).permute(0, 2, 1, 3)

    def attn(self, x):
        q, k, v = self.c_attn(x).split(x.size(-1), dim=2)
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)
        w = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5, dtype=q.dtype)
        query_length, key_length = q.size(-2), k.size(-2)
        causal = self.bias[:, :, key_length - query_length : key_length, :key_length]
        w = torch.where(causal, w, torch.full([], torch.finfo(w.dtype).min, dtype=w.dtype))
        y = torch.matmul(nn.functional.softmax(w, dim=-1), v).permute(0, 2, 1, 3).contiguous()
        return self.c_proj(y.view(y.size()[:-2] + (y.size(-2) * y.size(-1),)))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp_proj(gelu_new(self.c_fc(self.ln_2(x))))


class Gpt2(nn.Module):
    def __init__(self, vocab=64, dim=32, heads=4, layers=2, max_pos=64):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.wpe = nn.Embedding(max_pos, dim)
        self.h = nn.ModuleList([Gpt2Block(dim, heads, max_pos) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(dim)

    def forward(self, input_ids):
        input_shape = input_ids.size()
        input_ids = input_ids.view(-1, input_shape[-1])
        position_ids = torch.arange(0, input_shape[-1], dtype=torch.long).unsqueeze(0).view(-1, input_shape[-1])
        x = self.wte(input_ids) + self.wpe(position_ids)
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        return torch.matmul(x.view(input_shape + (x.size(-1),)), self.wte.weight.t())


class BertLayer(nn.Module):
    def __init__(self, dim, heads, inter):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.query, self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.attn_out = nn.Linear(dim, dim)
        self.ln1 = nn.LayerNorm(dim, eps=1e-12)
        self.intermediate = nn.Linear(dim, inter)
        self.output = nn.Linear(inter, dim)
        self.ln2 = nn.LayerNorm(dim, eps=1e-12)

    def scores(self, x):
        return x.view(x.size()[:-1] + (self.heads, self.head_dim)).permute(0, 2, 1, 3)

    def forward(self, x, mask):
        q, k, v = self.scores(self.query(x)), self.scores(self.key(x)), self.scores(self.value(x))
        att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + mask
        y = torch.matmul(nn.functional.softmax(att, dim=-1), v).permute(0, 2, 1, 3).contiguous()
        y = y.view(y.size()[:-2] + (self.heads * self.head_dim,))
        x = self.ln1(self.attn_out(y) + x)
        return self.ln2(self.output(nn.functional.gelu(self.intermediate(x))) + x)


class Bert(nn.Module):
    def __init__(self, vocab=64, dim=32, heads=4, inter=64, layers=2, max_pos=64):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, dim)
        self.position_embeddings = nn.Embedding(max_pos, dim)
        self.token_type_embeddings = nn.Embedding(2, dim)
        self.register_buffer("position_ids", torch.arange(max_pos).expand((1, -1)), persistent=False)
        self.register_buffer("token_type_ids", torch.zeros((1, max_pos), dtype=torch.long), persistent=False)
        self.ln = nn.LayerNorm(dim, eps=1e-12)
        self.layers = nn.ModuleList([BertLayer(dim, heads, inter) for _ in range(layers)])
        self.pooler = nn.Linear(dim, dim)

    def forward(self, input_ids, attention_mask):
        bsz, seq = input_ids.size()
        token_type_ids = self.token_type_ids[:, :seq].expand(bsz, seq)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        x = self.ln(x + self.position_embeddings(self.position_ids[:, :seq]))
        mask = attention_mask[:, None, None, :].to(dtype=x.dtype)
        mask = (1.0 - mask) * torch.finfo(x.dtype).min
        for layer in self.layers:
            x = layer(x, mask)
        return x, torch.tanh(self.pooler(x[:, 0]))


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        cout = 4 * width
        self.conv1, self.bn1 = nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width)
        self.conv3, self.bn3 = nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


class ResNetStage(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Bottleneck(16, 8, 2), Bottleneck(32, 8, 1))
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.blocks(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def conv_bn(cin, cout, k, **kw):
    return nn.Sequential(nn.Conv2d(cin, cout, k, bias=False, **kw), nn.BatchNorm2d(cout), nn.ReLU())


class Inception(nn.Module):
    def __init__(self, cin=16):
        super().__init__()
        self.b1 = conv_bn(cin, 8, 1)
        self.b2 = nn.Sequential(conv_bn(cin, 6, 1), conv_bn(6, 8, 3, padding=1))
        self.b3 = nn.Sequential(conv_bn(cin, 4, 1), conv_bn(4, 6, 3, padding=1), conv_bn(6, 6, 3, padding=1))
        self.b4 = nn.Sequential(nn.AvgPool2d(3, 1, 1, count_include_pad=False), conv_bn(cin, 6, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


def channel_shuffle(x, groups):
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(b, -1, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, c=16):
        super().__init__()
        half = c // 2
        self.branch = nn.Sequential(
            conv_bn(half, half, 1),
            nn.Conv2d(half, half, 3, 1, 1, groups=half, bias=False),
            nn.BatchNorm2d(half),
            conv_bn(half, half, 1),
        )

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat((x1, self.branch(x2)), dim=1), 2)


class ShuffleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.units = nn.Sequential(ShuffleUnit(), ShuffleUnit())

    def forward(self, x):
        return self.units(x)


def export(name, model, args, input_names, output_names, axes, opset, dynamic, folder=here):
    path = os.path.join(folder, f"{name}-{'dynamic' if dynamic else 'static'}-opset{opset}.onnx")
    torch.onnx.export(
        model, args, path, input_names=input_names, output_names=output_names,
        dynamic_axes=axes if dynamic else None, opset_version=opset, do_constant_folding=True,
    )
    inferred = onnx.shape_inference.infer_shapes(onnx.load(path, load_external_data=False), strict_mode=True, data_prop=True)
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in inferred.graph.initializer):
        # Past 2 GB torch.onnx writes one file per tensor beside the model: gather them into <model>.data.
        pieces = [os.path.join(folder, e.value) for t in inferred.graph.initializer for e in t.external_data if e.key == "location"]
        external.load_external_data_for_model(inferred, folder)
        onnx.save_model(inferred, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(path) + ".data", size_threshold=1024)
        for piece in pieces:
            if os.path.exists(piece) and not piece.endswith(".data"):
                os.remove(piece)
    else:
        onnx.save(inferred, path)
    print(path, os.path.getsize(path))


def export_full(folder):
    import torchvision

    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(0)
    tokens = {"input_ids": {0: "batch", 1: "seq"}}
    qwen = Qwen2(vocab=151936, hidden=896, heads=14, kv_heads=2, inter=4864, layers=24)
    qwen.lm_head.weight = qwen.embed_tokens.weight
    models = {
        "gpt2": (Gpt2(vocab=50257, dim=768, heads=12, layers=12, max_pos=1024), (torch.randint(0, 50257, (1, 128)),),
                 ["input_ids"], ["logits"], {**tokens, "logits": {0: "batch", 1: "seq"}}),
        "bert-base": (
            Bert(vocab=30522, dim=768, heads=12, inter=3072, layers=12, max_pos=512),
            (torch.randint(0, 30522, (1, 128)), torch.ones(1, 128, dtype=torch.long)),
            ["input_ids", "attention_mask"], ["hidden", "pooled"],
            {**tokens, "attention_mask": {0: "batch", 1: "seq"}, "hidden": {0: "batch", 1: "seq"}, "pooled": {0: "batch"}},
        ),
        "vit-b16": (torchvision.models.vit_b_16(), (torch.randn(1, 3, 224, 224),), ["x"], ["y"], {"x": {0: "batch"}, "y": {0: "batch"}}),
        "swin-t": (torchvision.models.swin_t(), (torch.randn(1, 3, 224, 224),), ["x"], ["y"], {"x": {0: "batch"}, "y": {0: "batch"}}),
        "qwen2-0.5b": (qwen, (torch.randint(0, 151936, (1, 32)),), ["input_ids"], ["logits"], {**tokens, "logits": {0: "batch", 1: "seq"}}),
    }
    wanted = sys.argv[3:]
    for name, (model, args, inputs, outputs, axes) in models.items():
        if wanted and name not in wanted:
            continue
        model.eval()  # with gradients on: under no_grad torchvision's attention takes a fused path torch.onnx cannot export
        export(name, model, args, inputs, outputs, axes, 14, True, folder)


def main():
    os.makedirs(here, exist_ok=True)
    torch.manual_seed(0)
    ids = torch.randint(0, 64, (2, 8))
    tokens = {"input_ids": {0: "batch", 1: "seq"}}
    images = {"x": {0: "batch", 2: "height", 3: "width"}, "y": {0: "batch", 2: "height", 3: "width"}}
    transformers = {
        "qwen2": (Qwen2(), (ids,), ["input_ids"], ["logits"], {**tokens, "logits": {0: "batch", 1: "seq"}}),
        "gpt2": (Gpt2(), (ids,), ["input_ids"], ["logits"], {**tokens, "logits": {0: "batch", 1: "seq"}}),
        "bert": (
            Bert(),
            (ids, torch.tensor([[1] * 8, [1] * 5 + [0] * 3])),
            ["input_ids", "attention_mask"],
            ["hidden", "pooled"],
            {**tokens, "attention_mask": {0: "batch", 1: "seq"}, "hidden": {0: "batch", 1: "seq"}, "pooled": {0: "batch"}},
        ),
    }
    cnns = {
        "resnet": (ResNetStage(), (torch.randn(2, 16, 16, 16),), ["x"], ["y"], {"x": images["x"], "y": {0: "batch"}}),
        "inception": (Inception(), (torch.randn(2, 16, 12, 12),), ["x"], ["y"], images),
        "shufflenet": (ShuffleNet(), (torch.randn(2, 16, 12, 12),), ["x"], ["y"], images),
    }
    for name, (model, args, inputs, outputs, axes) in {**transformers, **cnns}.items():
        model.eval()
        for dynamic in (False, True):
            export(name, model, args, inputs, outputs, axes, 14, dynamic)
        if name in transformers:
            for opset in (13, 17):
                export(name, model, args, inputs, outputs, axes, opset, True)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--full":
        export_full(sys.argv[2])
    else:
        main()
