#!/usr/bin/env python3
"""Reference side of the tokenizer benchmark: HF `tokenizers` (Rust) and `tiktoken` given the
same vocabulary and merges, single thread, one call over the whole file."""
import json
import os
import sys
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import tiktoken  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

directory, path, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(path, encoding="utf-8", newline="").read()  # keep the BOM and CRLF as they are
size = len(text.encode("utf-8"))
hf = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))

pattern = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
cs, n = bs[:], 0
for b in range(256):
    if b not in bs:
        bs.append(b)
        cs.append(256 + n)
        n += 1
byte_of = {chr(c): b for b, c in zip(bs, cs)}
vocab = hf.get_vocab()
ranks = {bytes(byte_of[ch] for ch in tok): i for tok, i in vocab.items() if tok != "<|endoftext|>"}
tt = tiktoken.Encoding("bench", pat_str=pattern, mergeable_ranks=ranks,
                       special_tokens={"<|endoftext|>": vocab["<|endoftext|>"]})


def best(fn):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


hf_time, hf_ids = best(lambda: hf.encode(text).ids)
tt_time, tt_ids = best(lambda: tt.encode(text, allowed_special="all"))
hf_decode, _ = best(lambda: hf.decode(hf_ids))
tt_decode, _ = best(lambda: tt.decode(tt_ids))
h = 0xCBF29CE484222325
for i in hf_ids:
    for b in int(i).to_bytes(2, "little"):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
print(json.dumps({"hf_encode_mb_per_s": size / hf_time / 1e6, "tiktoken_encode_mb_per_s": size / tt_time / 1e6,
                  "hf_decode_mb_per_s": size / hf_decode / 1e6, "tiktoken_decode_mb_per_s": size / tt_decode / 1e6,
                  "tokens": len(hf_ids), "same_ids": hf_ids == tt_ids, "ids_fnv1a": format(h, "x")}))
