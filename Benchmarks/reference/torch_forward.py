#!/usr/bin/env python3
"""PyTorch side of the forward-pass benchmark: load time and forward throughput."""
import json
import sys
import time

import torch
from transformers import GPT2LMHeadModel

model_dir, threads, batch, seq, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
start = time.perf_counter()
model = GPT2LMHeadModel.from_pretrained(model_dir).eval()
load = time.perf_counter() - start
tokens = torch.randint(0, model.config.vocab_size, (batch, seq), generator=torch.Generator().manual_seed(0))
times = []
with torch.inference_mode():
    model(tokens)  # warm-up
    for _ in range(iters):
        start = time.perf_counter()
        model(tokens)
        times.append(time.perf_counter() - start)
best = min(times)
print(json.dumps({"load_s": load, "forward_s": best, "tokens_per_s": batch * seq / best}))
