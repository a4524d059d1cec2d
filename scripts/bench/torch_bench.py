#!/usr/bin/python3
"""The same two measurements in PyTorch (Debian's python3-torch), one thread, following the
reference implementation (facebookresearch/dino: pre-norm ViT, DINOHead, DINOLoss, AdamW, EMA).
Prints one JSON line per measurement."""
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * (C // self.heads) ** -0.5).softmax(dim=-1)
        x = x + self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    def __init__(self, img, patch, chans, dim, depth, heads):
        super().__init__()
        self.patch = patch
        self.proj = nn.Conv2d(chans, dim, patch, patch)
        n = (img // patch) ** 2
        self.cls = nn.Parameter(torch.zeros(1, 1, dim).normal_(std=0.02))
        self.pos = nn.Parameter(torch.zeros(1, n + 1, dim).normal_(std=0.02))
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def pos_embed(self, npatch):
        N = self.pos.shape[1] - 1
        if npatch == N:
            return self.pos
        s0, s1 = int(math.sqrt(N)), int(math.sqrt(npatch))
        p = F.interpolate(self.pos[:, 1:].reshape(1, s0, s0, -1).permute(0, 3, 1, 2),
                          scale_factor=((s1 + 0.1) / s0, (s1 + 0.1) / s0), mode="bicubic")
        return torch.cat((self.pos[:, :1], p.permute(0, 2, 3, 1).reshape(1, -1, p.shape[1])), 1)

    def forward(self, x):
        x = self.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls.expand(x.shape[0], -1, -1), x), 1)
        x = x + self.pos_embed(x.shape[1] - 1)
        for b in self.blocks:
            x = b(x)
        return self.norm(x)[:, 0]


class Head(nn.Module):
    def __init__(self, dim, k, hidden=2048, bottleneck=256):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, bottleneck))
        self.last = nn.utils.weight_norm(nn.Linear(bottleneck, k, bias=False))
        self.last.weight_g.data.fill_(1)
        self.last.weight_g.requires_grad = False

    def forward(self, x):
        return self.last(F.normalize(self.mlp(x), dim=-1))


def peak_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def dino_step(steps=4):
    B, K = 64, 4096
    student = nn.ModuleDict({"b": ViT(28, 4, 1, 192, 6, 3), "h": Head(192, K)})
    teacher = nn.ModuleDict({"b": ViT(28, 4, 1, 192, 6, 3), "h": Head(192, K)})
    teacher.load_state_dict(student.state_dict())
    for p in teacher.parameters():
        p.requires_grad = False
    opt = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=1e-4, weight_decay=0.04)
    center = torch.zeros(1, K)
    g = [torch.randn(B, 1, 28, 28) for _ in range(2)]
    loc = [torch.randn(B, 1, 12, 12) for _ in range(6)]
    times = []
    for it in range(steps + 1):
        t0 = time.perf_counter()
        with torch.no_grad():
            t_out = teacher["h"](teacher["b"](torch.cat(g)))
        s_out = student["h"](torch.cat((student["b"](torch.cat(g)), student["b"](torch.cat(loc)))))
        q = F.softmax((t_out - center) / 0.04, dim=-1).chunk(2)
        s = (s_out / 0.1).chunk(8)
        loss, n = 0, 0
        for iq in range(2):
            for v in range(8):
                if v != iq:
                    loss = loss + torch.sum(-q[iq] * F.log_softmax(s[v], dim=-1), dim=-1).mean()
                    n += 1
        loss = loss / n
        opt.zero_grad()
        loss.backward()
        for p in student.parameters():
            if p.grad is not None:
                c = 3.0 / (p.grad.norm(2) + 1e-6)
                if c < 1:
                    p.grad.mul_(c)
        opt.step()
        with torch.no_grad():
            center = center * 0.9 + t_out.mean(0, keepdim=True) * 0.1
            for ps, pt in zip(student.parameters(), teacher.parameters()):
                pt.mul_(0.996).add_(0.004 * ps.detach())
        if it > 0:
            times.append(time.perf_counter() - t0)
    return B, sorted(times)[len(times) // 2]


def vit_s16_infer(steps=3):
    B = 8
    m = ViT(224, 16, 3, 384, 12, 6).eval()
    x = torch.randn(B, 3, 224, 224)
    times = []
    with torch.no_grad():
        for it in range(steps + 1):
            t0 = time.perf_counter()
            m(x)
            if it > 0:
                times.append(time.perf_counter() - t0)
    return B, sorted(times)[len(times) // 2]


for name, fn in (("dino-step", dino_step), ("vit-s16-infer", vit_s16_infer)):
    b, s = fn()
    # One torch thread can still run OpenBLAS's own threads inside each matrix product.
    blas = int(os.environ.get("OPENBLAS_NUM_THREADS", "1"))
    impl = "pytorch" if blas == 1 else f"pytorch (OpenBLAS {blas} threads)"
    print(json.dumps({"name": name, "impl": impl, "backend": "cpu", "threads": max(torch.get_num_threads(), blas), "batch": b,
                      "sec_per_iter": round(s, 4), "img_per_s": round(b / s, 2), "peak_rss_mb": peak_mb()}), flush=True)
