#!/usr/bin/env python3
"""Reference side of the preparation benchmark: Hugging Face `datasets` + `tokenizers`, the
notebook's way (load a text file, batched fast tokenisation in `map`, group into blocks),
on the same file and tokenizer. Prints MB/s and tokens/s."""
import json
import os
import sys
import tempfile
import time

from datasets import load_dataset
from transformers import PreTrainedTokenizerFast

tokenizer_dir, path, block = sys.argv[1], sys.argv[2], int(sys.argv[3])
size = os.path.getsize(path)
tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(tokenizer_dir, "tokenizer.json"), eos_token="<|endoftext|>")
cache = tempfile.mkdtemp()
start = time.perf_counter()
ds = load_dataset("text", data_files=path, split="train", cache_dir=cache)
ds = ds.filter(lambda b: [len(t.strip()) > 0 for t in b["text"]], batched=True)
tokens = ds.map(lambda b: tok([t + tok.eos_token for t in b["text"]]), batched=True, remove_columns=["text"])


def group(batch):
    ids = sum(batch["input_ids"], [])
    n = len(ids) // block * block
    return {"input_ids": [ids[i:i + block] for i in range(0, n, block)]}


blocks = tokens.map(group, batched=True, remove_columns=tokens.column_names)
elapsed = time.perf_counter() - start
count = sum(len(x) for x in tokens["input_ids"])
print(json.dumps({"mb_per_s": size / elapsed / 1e6, "tokens_per_s": count / elapsed, "tokens": count, "blocks": len(blocks), "seconds": elapsed}))
