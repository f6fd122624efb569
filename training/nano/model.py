"""emu-nano decoder, shaped like Emu3.5 (Qwen3 blocks): RMSNorm, per-head q/k RMSNorm before NeoX
RoPE on 1-D positions, grouped KV heads, SwiGLU, no biases, untied head. Attention is written by
hand (torch 1.13 has no scaled_dot_product_attention).
"""
import dataclasses
import math

import torch
from torch import nn
import torch.nn.functional as F

NEG = -1e9


@dataclasses.dataclass
class NanoConfig:
    vocab_size: int
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 4
    n_kv_heads: int = 2
    head_dim: int = 64
    hidden: int = 688
    rope_theta: float = 10000.0
    eps: float = 1e-6
    # Columns of the visual codes' attribute matrix (bowl, then each stack level's colour, one-hot). With
    # it, a code's embedding and head rows are shared attribute vectors plus the code's own rest, so the
    # rare slot contents borrow from the common ones; `folded()` turns it back into plain rows.
    code_factors: int = 0


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_cos_sin(pos, head_dim, theta):
    """pos int64 [B,S] -> cos, sin [B,1,S,head_dim] (NeoX layout: the two halves repeat)."""
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    f = pos.to(torch.float32).unsqueeze(-1) * inv
    emb = torch.cat([f, f], -1).unsqueeze(1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.q_proj = nn.Linear(c.d_model, c.n_heads * c.head_dim, bias=False)
        self.k_proj = nn.Linear(c.d_model, c.n_kv_heads * c.head_dim, bias=False)
        self.v_proj = nn.Linear(c.d_model, c.n_kv_heads * c.head_dim, bias=False)
        self.o_proj = nn.Linear(c.n_heads * c.head_dim, c.d_model, bias=False)
        self.q_norm = RMSNorm(c.head_dim, c.eps)
        self.k_norm = RMSNorm(c.head_dim, c.eps)

    def forward(self, x, cos, sin, bias, past_k=None, past_v=None):
        """bias: additive [B,1,1,S,T] (0 or NEG). Returns output and the full (past+new) k, v."""
        c = self.c
        b, s, _ = x.shape
        q = self.q_norm(self.q_proj(x).view(b, s, c.n_heads, c.head_dim)).transpose(1, 2)
        k = self.k_norm(self.k_proj(x).view(b, s, c.n_kv_heads, c.head_dim)).transpose(1, 2)
        v = self.v_proj(x).view(b, s, c.n_kv_heads, c.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past_k is not None:
            k = torch.cat([past_k, k], 2)
            v = torch.cat([past_v, v], 2)
        rep = c.n_heads // c.n_kv_heads
        qg = q.reshape(b, c.n_kv_heads, rep, s, c.head_dim)  # heads grouped by their KV head
        att = torch.matmul(qg, k.unsqueeze(2).transpose(-1, -2)) * (1.0 / math.sqrt(c.head_dim)) + bias
        att = torch.softmax(att, -1)
        o = torch.matmul(att, v.unsqueeze(2)).reshape(b, c.n_heads, s, c.head_dim)
        return self.o_proj(o.transpose(1, 2).reshape(b, s, c.n_heads * c.head_dim)), k, v


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c.d_model, c.eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.d_model, c.eps)
        self.gate_proj = nn.Linear(c.d_model, c.hidden, bias=False)
        self.up_proj = nn.Linear(c.d_model, c.hidden, bias=False)
        self.down_proj = nn.Linear(c.hidden, c.d_model, bias=False)

    def forward(self, x, cos, sin, bias, past_k=None, past_v=None):
        a, k, v = self.self_attn(self.input_layernorm(x), cos, sin, bias, past_k, past_v)
        x = x + a
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h)), k, v


class NanoLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.d_model)
        self.layers = nn.ModuleList(Block(c) for _ in range(c.n_layers))
        self.norm = RMSNorm(c.d_model, c.eps)
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        if c.code_factors:
            self.register_buffer('code_attrs', torch.zeros(c.vocab_size, c.code_factors))
            self.embed_code_factors = nn.Parameter(torch.zeros(c.code_factors, c.d_model))
            self.head_code_factors = nn.Parameter(torch.zeros(c.code_factors, c.d_model))
        self.apply(self._init)
        for l in self.layers:  # scaled residual projections
            nn.init.normal_(l.self_attn.o_proj.weight, std=0.02 / math.sqrt(2 * c.n_layers))
            nn.init.normal_(l.down_proj.weight, std=0.02 / math.sqrt(2 * c.n_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def embed_weight(self):
        w = self.embed_tokens.weight
        return w + self.code_attrs @ self.embed_code_factors if self.c.code_factors else w

    def head_weight(self):
        w = self.lm_head.weight
        return w + self.code_attrs @ self.head_code_factors if self.c.code_factors else w

    def embed(self, ids):
        return F.embedding(ids, self.embed_weight())

    def head(self, h):
        return F.linear(h, self.head_weight())

    def folded(self):
        """The same function as a plain model (no attribute factors): the ONNX export's shape."""
        if not self.c.code_factors:
            return self
        plain = NanoLM(dataclasses.replace(self.c, code_factors=0))
        state = {k: v for k, v in self.state_dict().items() if 'code_' not in k}
        with torch.no_grad():
            state['embed_tokens.weight'] = self.embed_weight().detach().clone()
            state['lm_head.weight'] = self.head_weight().detach().clone()
        plain.load_state_dict(state)
        return plain.train(self.training)

    def hidden_packed(self, ids, pos, seg):
        """Packed training forward: tokens attend causally within their own segment."""
        s = ids.shape[1]
        causal = torch.ones(s, s, dtype=torch.bool).tril()
        allowed = (seg.unsqueeze(2) == seg.unsqueeze(1)) & causal
        bias = torch.zeros(allowed.shape).masked_fill(~allowed, NEG)[:, None, None]
        cos, sin = rope_cos_sin(pos, self.c.head_dim, self.c.rope_theta)
        x = self.embed(ids)
        for l in self.layers:
            x, _, _ = l(x, cos, sin, bias)
        return self.norm(x)

    def forward_cached(self, input_ids, attention_mask, position_ids, past):
        """The ONNX contract. past: list of (k, v) [B,kvH,P,hd]. Returns logits [B,S,V] and presents."""
        s = input_ids.shape[1]
        t = attention_mask.shape[1]
        p = t - s
        q_pos = torch.arange(s).unsqueeze(1) + p
        k_pos = torch.arange(t).unsqueeze(0)
        allowed = (k_pos <= q_pos).unsqueeze(0) & (attention_mask.unsqueeze(1) > 0)
        bias = torch.zeros(allowed.shape).masked_fill(~allowed, NEG)[:, None, None]
        cos, sin = rope_cos_sin(position_ids, self.c.head_dim, self.c.rope_theta)
        x = self.embed(input_ids)
        presents = []
        for l, (pk, pv) in zip(self.layers, past):
            x, k, v = l(x, cos, sin, bias, pk, pv)
            presents.append((k, v))
        return self.head(self.norm(x)), presents

    def empty_past(self, b=1):
        z = torch.zeros(b, self.c.n_kv_heads, 0, self.c.head_dim)
        return [(z, z) for _ in self.layers]


def count_params(m):
    return sum(p.numel() for p in m.parameters())
