#!/usr/bin/env python3
"""PyTorch side of the training benchmark: fp32 steps of GPT2LMHeadModel with AdamW
(weight decay 0.01 on the Trainer's groups), clipping at 1.0; best step time and peak RSS."""
import json
import resource
import sys
import time

import torch
from transformers import GPT2LMHeadModel

model_dir, threads, batch, seq, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
model = GPT2LMHeadModel.from_pretrained(model_dir)
model.config.attn_pdrop = model.config.resid_pdrop = model.config.embd_pdrop = 0.0
model.train()
named = list(model.named_parameters())
decay = [p for n, p in named if not (n.endswith(".bias") or ".ln_" in n)]
no_decay = [p for n, p in named if n.endswith(".bias") or ".ln_" in n]
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-5)
ids = torch.randint(0, model.config.vocab_size, (batch, seq), generator=torch.Generator().manual_seed(0))
best = float("inf")
for step in range(steps + 1):
    start = time.perf_counter()
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad()
    if step > 0:
        best = min(best, time.perf_counter() - start)
print(json.dumps({"tokens_per_s": batch * seq / best, "step_s": best,
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
