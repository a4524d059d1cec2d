#!/usr/bin/python3
"""The two measurements of scripts/bench/torch_bench.py (the same models and steps) on CUDA:
its definitions are run as they are, with CUDA as the default device and each time read after
a synchronize (CUDA kernels run asynchronously). Prints one JSON line per measurement."""
import json
import sys
import time
from pathlib import Path

import torch

if not torch.cuda.is_available():
    print(json.dumps({"name": "pytorch-cuda", "skipped": "torch.cuda.is_available() is False"}))
    sys.exit(0)
torch.backends.cuda.matmul.allow_tf32 = False  # float32, as the other rows
torch.backends.cudnn.allow_tf32 = False
torch.set_default_device("cuda")
source = (Path(__file__).parent.parent / "bench" / "torch_bench.py").read_text()
source = source[: source.index("\nfor name, fn in")]
sys.argv = [sys.argv[0], "1"]
ns = {"__name__": "torch_bench"}
exec(compile(source, "torch_bench.py", "exec"), ns)
clock = time.perf_counter
ns["time"].perf_counter = lambda: (torch.cuda.synchronize(), clock())[1]
for name, fn in (("dino-step", ns["dino_step"]), ("vit-s16-infer", ns["vit_s16_infer"])):
    b, s = fn()
    print(json.dumps({"name": name, "impl": "pytorch", "backend": "cuda", "device": torch.cuda.get_device_name(0), "batch": b,
                      "sec_per_iter": round(s, 4), "img_per_s": round(b / s, 2)}), flush=True)
