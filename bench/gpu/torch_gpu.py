"""PyTorch on the same LoRA steps as gpu-bench.ts, on CUDA (float32, and bfloat16 autocast).

One JSON row per (config, objective, dtype) on stdout. Random weights of each shape (stories260K,
the 6-layer d256 model, SmolLM2-135M, Qwen2.5-0.5B with its qkv biases), Llama blocks (RMSNorm,
RoPE, grouped-query attention through scaled_dot_product_attention, SwiGLU, tied embeddings),
LoRA r 8 / alpha 16 on q, k, v, o, AdamW on the LoRA weights only.
- SFT: token-mean cross-entropy over the second half of B sequences of T tokens (B·T tokens a step).
- CLO: 4·B sequences (both directions, chosen and rejected); loss = λ·NLL(target chosen) +
  (1 − λ)·mean DPO loss over the 2·B pairs, β 0.1, λ 0.5, the reference log-probs computed once
  before the timed steps (the lab's reference cache); 4·B·T tokens a step.
Timing: one warm-up step, then the median of --steps steps, each ended by torch.cuda.synchronize().

  python3 torch_gpu.py [--configs stories260K,big,smollm135m,qwen05b] [--steps 5] [--dtypes f32,bf16]
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

SHAPES = {
    # dim, hidden, layers, heads, kv heads, vocab, qkv bias, rope theta
    "stories260K": (64, 172, 5, 8, 4, 512, False, 10000.0),
    "big": (256, 688, 6, 8, 8, 512, False, 10000.0),
    "smollm135m": (576, 1536, 30, 9, 3, 49152, False, 100000.0),
    "qwen05b": (896, 4864, 24, 14, 2, 151936, True, 1000000.0),
}


class Lora(torch.nn.Module):
    def __init__(self, d_in, d_out, bias, r=8, alpha=16):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(d_out, d_in) * 0.02, requires_grad=False)
        self.b = torch.nn.Parameter(torch.zeros(d_out), requires_grad=False) if bias else None
        self.a = torch.nn.Parameter(torch.randn(r, d_in) / math.sqrt(r))
        self.bb = torch.nn.Parameter(torch.zeros(d_out, r))
        self.scale = alpha / r

    def forward(self, x):
        return F.linear(x, self.w, self.b) + F.linear(F.linear(x, self.a), self.bb) * self.scale


class Frozen(torch.nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(d_out, d_in) * 0.02, requires_grad=False)

    def forward(self, x):
        return F.linear(x, self.w)


class Block(torch.nn.Module):
    def __init__(self, d, hid, h, kv, bias):
        super().__init__()
        self.h, self.kv, self.hd = h, kv, d // h
        self.q = Lora(d, h * self.hd, bias)
        self.k = Lora(d, kv * self.hd, bias)
        self.v = Lora(d, kv * self.hd, bias)
        self.o = Lora(h * self.hd, d, False)
        self.gate, self.up, self.down = Frozen(d, hid), Frozen(d, hid), Frozen(hid, d)
        self.n1 = torch.nn.Parameter(torch.ones(d), requires_grad=False)
        self.n2 = torch.nn.Parameter(torch.ones(d), requires_grad=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        y = F.rms_norm(x, (x.shape[-1],), self.n1, 1e-5)
        q = self.q(y).view(B, T, self.h, self.hd).transpose(1, 2)
        k = self.k(y).view(B, T, self.kv, self.hd).transpose(1, 2)
        v = self.v(y).view(B, T, self.kv, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=self.kv != self.h)
        x = x + self.o(a.transpose(1, 2).reshape(B, T, -1))
        y = F.rms_norm(x, (x.shape[-1],), self.n2, 1e-5)
        return x + self.down(F.silu(self.gate(y)) * self.up(y))


def rope(x, cos, sin):
    x1, x2 = x.chunk(2, -1)
    return x * cos + torch.cat((-x2, x1), -1) * sin


class Model(torch.nn.Module):
    def __init__(self, shape):
        super().__init__()
        d, hid, L, h, kv, vocab, bias, theta = shape
        self.embed = torch.nn.Parameter(torch.randn(vocab, d) * 0.02, requires_grad=False)
        self.blocks = torch.nn.ModuleList(Block(d, hid, h, kv, bias) for _ in range(L))
        self.norm = torch.nn.Parameter(torch.ones(d), requires_grad=False)
        self.hd, self.theta = d // h, theta

    def forward(self, ids):
        T = ids.shape[1]
        inv = 1.0 / (self.theta ** (torch.arange(0, self.hd, 2, device=ids.device).float() / self.hd))
        ang = torch.outer(torch.arange(T, device=ids.device).float(), inv)
        cos, sin = torch.cat((ang, ang), -1).cos(), torch.cat((ang, ang), -1).sin()
        x = self.embed[ids]
        for b in self.blocks:
            x = b(x, cos, sin)
        return F.rms_norm(x, (x.shape[-1],), self.norm, 1e-5)


def response_logps(model, ids, start, chunk=1024):
    """Σ log p(token) over positions ≥ start of each sequence, the head applied in row blocks."""
    h = model(ids[:, :-1])[:, start - 1 :]
    tgt = ids[:, start:]
    out = []
    for i in range(0, h.shape[0], max(1, chunk // h.shape[1])):
        logits = F.linear(h[i : i + max(1, chunk // h.shape[1])], model.embed).float()
        lp = torch.log_softmax(logits, -1).gather(-1, tgt[i : i + logits.shape[0], :, None])[..., 0]
        out.append(lp)
    return torch.cat(out)


def run(name, objective, dtype, B, T, steps, device):
    torch.manual_seed(0)
    model = Model(SHAPES[name]).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    vocab = SHAPES[name][5]
    n = B if objective == "sft" else 4 * B
    ids = torch.randint(3, vocab, (n, T), device=device)
    start = T // 2
    kind = "cuda" if device == "cuda" else "cpu"
    ctx = torch.autocast(kind, dtype=torch.bfloat16) if dtype == "bf16" else torch.autocast(kind, enabled=False)
    sync = torch.cuda.synchronize if kind == "cuda" else (lambda: None)
    ref = None
    if objective == "clo":
        with torch.no_grad(), ctx:
            ref = response_logps(model, ids, start).sum(-1)

    def step():
        with ctx:
            lp = response_logps(model, ids, start)
            if objective == "sft":
                loss = -lp.mean()
            else:
                s = lp.sum(-1)
                # rows: [en chosen, en rejected, tgt chosen, tgt rejected] per quadruple
                s, r = s.view(B, 4), ref.view(B, 4)
                margin = 0.1 * ((s[:, [0, 2]] - r[:, [0, 2]]) - (s[:, [1, 3]] - r[:, [1, 3]]))
                nll = -lp.view(B, 4, -1)[:, 2].mean()
                loss = 0.5 * nll + 0.5 * (-F.logsigmoid(margin)).mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    if kind == "cuda":
        torch.cuda.reset_peak_memory_stats()
    step()
    sync()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t)
    ms = statistics.median(times) * 1000
    return {
        "ms_per_step": round(ms, 2),
        "tokens_per_s": round(n * T / ms * 1000, 1),
        "peak_bytes": torch.cuda.max_memory_allocated() if kind == "cuda" else None,
        "timed_steps": steps,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="stories260K,big,smollm135m,qwen05b")
    ap.add_argument("--objectives", default="sft,clo")
    ap.add_argument("--dtypes", default="f32,bf16")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--seq", type=int)
    ap.add_argument("--device", default="cuda", help="cuda, or cpu for a check of this script")
    a, _ = ap.parse_known_args()  # run.sh passes gpu-bench's flags too
    if a.device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"engine": "torch", "error": "CUDA is not available to this PyTorch"}))
        return 0
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    gpu = torch.cuda.get_device_name(0) if a.device == "cuda" else "cpu"
    for name in a.configs.split(","):
        small = name in ("stories260K", "big")
        B = a.batch or (8 if small else 1)
        T = a.seq or (128 if small else 256)
        for objective in a.objectives.split(","):
            for dtype in a.dtypes.split(","):
                row = {"engine": "torch", "torch": torch.__version__, "device": gpu, "config": name,
                       "objective": objective, "dtype": dtype, "batch": B, "seq": T}
                try:
                    row.update(run(name, objective, dtype, B, T, a.steps, a.device))
                except Exception as e:  # one row per failure (e.g. out of memory), the rest still run
                    row["error"] = str(e).split("\n")[0]
                if a.device == "cuda":
                    torch.cuda.empty_cache()
                print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
