#!/usr/bin/env python3
"""PyTorch side of the decode benchmark: transformers' generate and a hand-written KV-cache loop.

Greedy, EOS ignored, random prompts of PROMPT tokens, NEW tokens per sequence. Prints one
JSON object per method with tokens/s over the whole call, decode tokens/s after the first
token, and the time to first token.
"""
import json
import sys
import time

import torch
from transformers import GPT2LMHeadModel

model_dir, threads, batch, prompt, new = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
model = GPT2LMHeadModel.from_pretrained(model_dir).eval()
ids = torch.randint(0, model.config.vocab_size, (batch, prompt), generator=torch.Generator().manual_seed(0))


def generate():
    start = time.perf_counter()
    model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=new, min_new_tokens=new,
                   pad_token_id=0)
    return time.perf_counter() - start, None


def manual():
    start = time.perf_counter()
    out = model(ids, use_cache=True)
    past, token = out.past_key_values, out.logits[:, -1, :].argmax(-1, keepdim=True)
    ttft = time.perf_counter() - start
    for _ in range(new - 1):
        out = model(token, past_key_values=past, use_cache=True)
        past, token = out.past_key_values, out.logits[:, -1, :].argmax(-1, keepdim=True)
    return time.perf_counter() - start, ttft


results = []
with torch.inference_mode():
    for name, run in (("generate", generate), ("manual_loop", manual)):
        run()  # warm-up
        total, ttft = run()
        if ttft is None:
            # generate's time to first token: a prefill plus one step, measured separately.
            start = time.perf_counter()
            model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=1, pad_token_id=0)
            ttft = time.perf_counter() - start
        results.append({"method": name, "batch": batch, "tokens_per_s": batch * new / total,
                        "decode_tokens_per_s": batch * (new - 1) / (total - ttft), "ttft_s": ttft})
# The faster of the two is the reference the benchmark compares against.
for r in results:
    print(json.dumps(r), file=sys.stderr)
print(json.dumps(max(results, key=lambda r: r["decode_tokens_per_s"])))
