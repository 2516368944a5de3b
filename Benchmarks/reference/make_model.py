#!/usr/bin/env python3
"""Creates (once) a randomly initialised GPT-2 with the real 124M shape for benchmarks."""
import os
import sys

import torch
from transformers import GPT2Config, GPT2LMHeadModel

out = sys.argv[1]
if os.path.exists(os.path.join(out, "model.safetensors")):
    sys.exit(0)
torch.manual_seed(0)
model = GPT2LMHeadModel(GPT2Config()).eval()
model.save_pretrained(out, safe_serialization=True)
print(f"created {out} ({model.num_parameters():,} parameters)", file=sys.stderr)
