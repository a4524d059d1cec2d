#!/usr/bin/python3
"""The reference DINO training loop (facebookresearch/dino's own modules: VisionTransformer,
DINOHead, DINOLoss, MultiCropWrapper, schedules, AdamW groups, EMA) on Fashion-MNIST or on the
images of any dino-ts preset, with the teacher's weighted k-NN (eval_knn.knn_classifier) before
training and after each epoch.

It answers one question: does the reference, run with the same small-data settings as a dino-ts
preset, learn as fast (or as slowly) as dino-ts does? Usage (Debian python3-torch):

  DINO_REF=path/to/dino /usr/bin/python3 scripts/reference/train_dino_reference.py \
      --train-size 12800 --epochs 2 --embed-dim 64 --depth 2 --heads 2 --out-dim 1024

On the shapes preset's own images (written by export-data.mjs), with the preset's settings:

  node scripts/reference/export-data.mjs runs/shapes-npy --preset shapes
  DINO_REF=path/to/dino /usr/bin/python3 scripts/reference/train_dino_reference.py --npy runs/shapes-npy \
      --epochs 3 --batch 32 --lr 0.004 --depth 4 --heads 4 --out-dim 256 --hidden-dim 256 \
      --bottleneck-dim 64 --local-size 16 --drop-path 0 --use-bn-in-head 1

With the fashion-mnist preset's settings, the reference k-NN protocol (all 60,000 training images
in the bank, the 10,000 test images) and a 20-minute budget, as `dino train --preset
fashion-mnist --time-limit 20` followed by `dino eval knn --bank 0`:

  DINO_REF=path/to/dino OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/reference/train_dino_reference.py \
      --train-size 60000 --epochs 8 --batch 64 --lr 0.001 --embed-dim 64 --depth 2 --heads 2 \
      --out-dim 1024 --hidden-dim 512 --bottleneck-dim 128 --local-crops 4 --local-size 12 \
      --momentum 0.99 --teacher-temp 0.04 --drop-path 0.1 --bank 2048 --test 1000 \
      --final-bank 0 --final-test 10000 --time-limit 20

Prints one JSON line per k-NN evaluation."""
import argparse
import gzip
import json
import math
import os
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms

sys.path.insert(0, os.environ.get("DINO_REF", "dino"))
import utils  # noqa: E402  (the reference's utils.py)
import vision_transformer as vits  # noqa: E402
from main_dino import DINOLoss  # noqa: E402
from eval_knn import knn_classifier  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
p.add_argument("--npy", help="a folder written by export-data.mjs (instead of Fashion-MNIST)")
p.add_argument("--bank", type=int, default=2048, help="k-NN memory bank size (0: the whole training split)")
p.add_argument("--test", type=int, default=1000, help="held-out images scored by the k-NN")
p.add_argument("--train-size", type=int, default=12800)
p.add_argument("--epochs", type=int, default=2)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--lr", type=float, default=0.001)
p.add_argument("--embed-dim", type=int, default=64)
p.add_argument("--depth", type=int, default=2)
p.add_argument("--heads", type=int, default=2)
p.add_argument("--patch", type=int, default=4)
p.add_argument("--out-dim", type=int, default=1024)
p.add_argument("--hidden-dim", type=int, default=512)
p.add_argument("--bottleneck-dim", type=int, default=128)
p.add_argument("--local-crops", type=int, default=4)
p.add_argument("--local-size", type=int, default=12)
p.add_argument("--local-scale", type=float, nargs=2, default=(0.05, 0.4))
p.add_argument("--global-scale", type=float, nargs=2, default=(0.4, 1.0))
p.add_argument("--teacher-temp", type=float, default=0.04)
p.add_argument("--momentum", type=float, default=0.99)
p.add_argument("--norm-last-layer", type=int, default=1)
p.add_argument("--use-bn-in-head", type=int, default=0, help="BatchNorm in the head MLP (main_dino.py --use_bn_in_head)")
p.add_argument("--freeze-last-layer", type=int, default=1)
p.add_argument("--drop-path", type=float, default=0.1)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--final-bank", type=int, default=None,
               help="memory bank of the k-NN after training (default: --bank); 0: the whole training split")
p.add_argument("--final-test", type=int, default=None, help="held-out images of the k-NN after training (default: --test)")
p.add_argument("--time-limit", type=float, default=None,
               help="stop training after this many minutes of wall-clock time since it began (the epoch-end k-NN "
                    "evaluations included, as dino-ts's --time-limit), then evaluate once more")
a = p.parse_args()
torch.set_num_threads(a.threads)
# The reference's DINOLoss all-reduces its center: a one-process group makes that the identity.
# A file store, not a TCP port, so several runs can go side by side.
_store = tempfile.NamedTemporaryFile(prefix="dino-ref-pg-", delete=False).name
os.unlink(_store)
torch.distributed.init_process_group("gloo", init_method=f"file://{_store}", rank=0, world_size=1)
torch.manual_seed(a.seed)
np.random.seed(a.seed)


def idx(name):
    with gzip.open(os.path.join(a.data, name)) as f:
        raw = f.read()
    return np.frombuffer(raw, np.uint8, offset=16 if "images" in name else 8)


if a.npy:
    load = lambda name: np.load(os.path.join(a.npy, name))
    train_x, train_y, test_x, test_y = load("train_x.npy"), load("train_y.npy"), load("test_x.npy"), load("test_y.npy")
    with open(os.path.join(a.npy, "stats.json")) as f:
        stats = json.load(f)
    MEAN, STD = tuple(stats["mean"]), tuple(stats["std"])
else:
    train_x = idx("train-images-idx3-ubyte.gz").reshape(-1, 28, 28)
    train_y = idx("train-labels-idx1-ubyte.gz")
    test_x = idx("t10k-images-idx3-ubyte.gz").reshape(-1, 28, 28)
    test_y = idx("t10k-labels-idx1-ubyte.gz")
    MEAN, STD = (0.2860,), (0.3530,)
size = train_x.shape[1]
chans = 1 if train_x.ndim == 3 else train_x.shape[3]
mode = "L" if chans == 1 else "RGB"
rng = np.random.default_rng(a.seed)
sub = rng.permutation(len(train_x))[: a.train_size]
bank = rng.permutation(len(train_x))[: (a.bank or len(train_x))]
s = size / 224  # blur radii scaled to the image size, as dino-ts does
norm = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
jitter = transforms.Compose([
    transforms.RandomHorizontalFlip(p=0.5),
    transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8),
    transforms.RandomGrayscale(p=0.2),
])
g1 = transforms.Compose([transforms.RandomResizedCrop(size, scale=tuple(a.global_scale), interpolation=transforms.InterpolationMode.BICUBIC), jitter,
                         utils.GaussianBlur(1.0, 0.1 * s, 2 * s), norm])
g2 = transforms.Compose([transforms.RandomResizedCrop(size, scale=tuple(a.global_scale), interpolation=transforms.InterpolationMode.BICUBIC), jitter,
                         utils.GaussianBlur(0.1, 0.1 * s, 2 * s), utils.Solarization(0.2), norm])
loc = transforms.Compose([transforms.RandomResizedCrop(a.local_size, scale=tuple(a.local_scale), interpolation=transforms.InterpolationMode.BICUBIC), jitter,
                          utils.GaussianBlur(0.5, 0.1 * s, 2 * s), norm])


def crops(batch):
    imgs = [Image.fromarray(x, mode) for x in batch]
    views = [torch.stack([g1(i) for i in imgs]), torch.stack([g2(i) for i in imgs])]
    views += [torch.stack([loc(i) for i in imgs]) for _ in range(a.local_crops)]
    return views


def vit(dp):
    return vits.VisionTransformer(img_size=[size], patch_size=a.patch, in_chans=chans, embed_dim=a.embed_dim, depth=a.depth,
                                  num_heads=a.heads, mlp_ratio=4, qkv_bias=True, drop_path_rate=dp,
                                  norm_layer=lambda d: nn.LayerNorm(d, eps=1e-6))


student = utils.MultiCropWrapper(vit(a.drop_path), vits.DINOHead(a.embed_dim, a.out_dim, bool(a.use_bn_in_head), bool(a.norm_last_layer), 3, a.hidden_dim, a.bottleneck_dim))
teacher = utils.MultiCropWrapper(vit(0), vits.DINOHead(a.embed_dim, a.out_dim, bool(a.use_bn_in_head), True, 3, a.hidden_dim, a.bottleneck_dim))
teacher.load_state_dict(student.state_dict())
for q in teacher.parameters():
    q.requires_grad = False
ncrops = 2 + a.local_crops
loss_fn = DINOLoss(a.out_dim, ncrops, 0.04, a.teacher_temp, 0, a.epochs)
opt = torch.optim.AdamW(utils.get_params_groups(student))
ipe = len(sub) // a.batch
lr_s = utils.cosine_scheduler(a.lr * a.batch / 256, 1e-6, a.epochs, ipe, warmup_epochs=1)
wd_s = utils.cosine_scheduler(0.04, 0.4, a.epochs, ipe)
m_s = utils.cosine_scheduler(a.momentum, 1, a.epochs, ipe)


final_bank = bank if a.final_bank is None else rng.permutation(len(train_x))[: (a.final_bank or len(train_x))]
final_test = a.test if a.final_test is None else a.final_test


@torch.no_grad()
def knn(epoch, seconds, idx=bank, n_test=a.test):
    teacher.eval()
    f = lambda xs: F.normalize(torch.cat([teacher.backbone(torch.stack([norm(Image.fromarray(x, mode)) for x in xs[i:i + 256]]))
                                          for i in range(0, len(xs), 256)]), dim=1)
    tr, te = f(train_x[idx]), f(test_x[:n_test])
    top1, _ = knn_classifier(tr, torch.from_numpy(train_y[idx].astype(np.int64)), te, torch.from_numpy(test_y[:n_test].astype(np.int64)), 20, 0.07, 10)
    print(json.dumps({"impl": "pytorch-reference", "epoch": epoch, "knn_top1": round(top1, 2), "bank": len(idx), "test": n_test,
                      "seconds": round(seconds, 1)}), flush=True)
    # main_dino.py never puts its teacher in eval mode: a BatchNorm head normalises with batch statistics.
    teacher.train()


start = time.time()
knn(0, 0)
deadline = start + a.time_limit * 60 if a.time_limit else float("inf")
stopped = False
for epoch in range(a.epochs):
    student.train()
    order = rng.permutation(sub)
    for i in range(ipe):
        it = epoch * ipe + i
        if time.time() >= deadline:
            stopped = True
            break
        for j, g in enumerate(opt.param_groups):
            g["lr"] = lr_s[it]
            if j == 0:
                g["weight_decay"] = wd_s[it]
        views = crops(train_x[order[i * a.batch:(i + 1) * a.batch]])
        t_out = teacher(views[:2])
        s_out = student(views)
        loss = loss_fn(s_out, t_out, epoch)
        opt.zero_grad()
        loss.backward()
        utils.clip_gradients(student, 3.0)
        utils.cancel_gradients_last_layer(epoch, student, a.freeze_last_layer)
        opt.step()
        with torch.no_grad():
            for ps, pt in zip(student.parameters(), teacher.parameters()):
                pt.data.mul_(m_s[it]).add_((1 - m_s[it]) * ps.detach().data)
        if i % 50 == 0:
            print(json.dumps({"epoch": epoch, "it": it, "loss": round(loss.item(), 4)}), flush=True)
    if stopped:
        # The time budget ended inside this epoch: the teacher as it is now.
        break
    knn(epoch + 1, time.time() - start)
done = it if stopped else a.epochs * ipe
print(json.dumps({"time_limit_minutes": a.time_limit, "iterations": done, "images": done * a.batch,
                  "training_seconds": round(time.time() - start, 1)}), flush=True)
if stopped or a.final_bank is not None or a.final_test is not None:
    knn(round(done / ipe, 3), time.time() - start, final_bank, final_test)
