#!/usr/bin/env python3
"""PyTorch side of the serving benchmark: the same streaming load as `cuentista-bench serve`.

CLIENTS threads each send REQUESTS greedy requests one after another (random prompts of PROMPT
tokens, NEW tokens, EOS ignored) to a server thread. `generate` mode: the server runs each
request with `model.generate` and a streamer, one at a time (how a plain transformers server
serves). `batch` mode: transformers' continuous batching (`generate_batch`) on all requests
that wait, when this transformers version has it. Prints one JSON object: aggregate tokens/s
and time-to-first-token percentiles (from sending to the first new token).
"""
import json
import queue
import sys
import threading
import time

import torch
from transformers import GPT2LMHeadModel
from transformers.generation.streamers import BaseStreamer

model_dir, threads, clients, requests, prompt_len, new, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7] if len(sys.argv) > 7 else "generate"
torch.set_num_threads(threads)
model = GPT2LMHeadModel.from_pretrained(model_dir).eval()
vocab = model.config.vocab_size


class FirstToken(BaseStreamer):
    """Records when the first new token arrives (generate first puts the prompt)."""

    def __init__(self, sent):
        self.sent, self.calls, self.first, self.count = sent, 0, None, 0

    def put(self, value):
        self.calls += 1
        if self.calls == 1:
            return  # the prompt
        self.count += value.numel()
        if self.first is None:
            self.first = time.perf_counter() - self.sent

    def end(self):
        pass


inbox = queue.Queue()
results, lock = [], threading.Lock()


def server():
    with torch.inference_mode():
        while True:
            item = inbox.get()
            if item is None:
                return
            ids, sent, done = item
            streamer = FirstToken(sent)
            model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=new, min_new_tokens=new,
                           pad_token_id=0, streamer=streamer)
            done.put((streamer.first, streamer.count))


def client(c):
    g = torch.Generator().manual_seed(c)
    for _ in range(requests):
        ids = torch.randint(0, vocab, (1, prompt_len), generator=g)
        done = queue.Queue()
        inbox.put((ids, time.perf_counter(), done))
        first, count = done.get()
        with lock:
            results.append((first, count))


def run_generate():
    worker = threading.Thread(target=server)
    worker.start()
    # Warm-up.
    done = queue.Queue()
    inbox.put((torch.tensor([[1, 2, 3]]), time.perf_counter(), done))
    done.get()
    start = time.perf_counter()
    pool = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - start
    inbox.put(None)
    worker.join()
    return wall


def run_batch():
    # Every request at once through continuous batching; first-token times are not exposed
    # per request, so only throughput is reported.
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, vocab, (prompt_len,), generator=g).tolist() for _ in range(clients * requests)]
    from transformers import GenerationConfig
    config = GenerationConfig(max_new_tokens=new, min_new_tokens=new, do_sample=False, eos_token_id=-1, pad_token_id=0,
                              max_batch_tokens=256, num_blocks=max(64, clients * (prompt_len + new) // 32 + 8), block_size=32)
    with torch.inference_mode():
        model.generate_batch(inputs=inputs[:2], generation_config=config)
        start = time.perf_counter()
        outputs = model.generate_batch(inputs=inputs, generation_config=config)
        wall = time.perf_counter() - start
    for out in outputs.values():
        results.append((float("nan"), len(out.generated_tokens)))
    return wall


wall = run_batch() if mode == "batch" else run_generate()
firsts = sorted(r[0] for r in results if r[0] == r[0])
tokens = sum(r[1] for r in results)


def pct(p):
    return firsts[min(len(firsts) - 1, int(len(firsts) * p))] if firsts else float("nan")


print(json.dumps({"mode": mode, "clients": clients, "requests": clients * requests, "tokens": tokens, "wall_s": wall,
                  "tokens_per_s": tokens / wall, "ttft_p50_s": pct(0.5), "ttft_p99_s": pct(0.99)}))
