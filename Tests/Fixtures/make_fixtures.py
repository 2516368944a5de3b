#!/usr/bin/env python3
"""Generates the reference fixtures Cuentista's tests compare against.

Run once with the pinned versions in requirements.txt; the outputs are committed so that
CI never needs PyTorch:

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install -r Tests/Fixtures/requirements.txt
    /tmp/ref/bin/python Tests/Fixtures/make_fixtures.py

With --check-saved DIR it instead loads a model directory written by Cuentista
(`cuentista convert`) with transformers and checks its logits against the reference.
"""
import argparse
import json
import os
import shutil
import sys

import torch
from safetensors.torch import save_file, load_file
from transformers import GPT2Config, GPT2LMHeadModel

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "models")
REFERENCE = os.path.join(HERE, "reference")

TINY = dict(vocab_size=512, n_positions=128, n_embd=64, n_layer=2, n_head=4,
            activation_function="gelu_new", layer_norm_epsilon=1e-5,
            bos_token_id=0, eos_token_id=0)


def tiny_model():
    torch.manual_seed(1234)
    model = GPT2LMHeadModel(GPT2Config(**TINY)).eval()
    # GPT-2's own init (std 0.02, zero biases, unit LayerNorm gains) hides mistakes: scale
    # every tensor up and make biases and gains non-trivial so each one shows in the logits.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
    return model


def write_config(model, directory):
    model.config.to_json_file(os.path.join(directory, "config.json"))


def fresh(directory):
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    return directory


def make_models(model):
    # 1. What save_pretrained writes today: safetensors, tied lm_head omitted.
    st = fresh(os.path.join(MODELS, "tiny-safetensors"))
    model.save_pretrained(st, safe_serialization=True)
    for extra in ("generation_config.json",):
        path = os.path.join(st, extra)
        if os.path.exists(path):
            os.remove(path)

    # 2. pytorch_model.bin as PyTorch >= 1.6 writes it (zip), with the "transformer." prefix
    #    and the tied lm_head.weight sharing wte's storage.
    zp = fresh(os.path.join(MODELS, "tiny-zip"))
    write_config(model, zp)
    torch.save(model.state_dict(), os.path.join(zp, "pytorch_model.bin"))

    # 3. The legacy sequential pickle of 2019-2020 uploads: GPT2Model names (no prefix) and
    #    the attention-mask buffers those checkpoints carried.
    lg = fresh(os.path.join(MODELS, "tiny-legacy"))
    write_config(model, lg)
    state = model.transformer.state_dict()
    n = TINY["n_positions"]
    legacy = {}
    for key, value in state.items():
        legacy[key] = value
        if key.endswith("attn.c_attn.weight"):
            prefix = key[: -len("c_attn.weight")]
            legacy[prefix + "bias"] = torch.tril(torch.ones(n, n)).view(1, 1, n, n)
            legacy[prefix + "masked_bias"] = torch.tensor(-1e4)
    torch.save(legacy, os.path.join(lg, "pytorch_model.bin"), _use_new_zipfile_serialization=False)


def make_reference(model):
    os.makedirs(REFERENCE, exist_ok=True)
    g = torch.Generator().manual_seed(99)
    tokens = torch.randint(0, TINY["vocab_size"], (2, 16), generator=g)
    with torch.no_grad():
        logits = model(tokens).logits.float().contiguous()
    save_file({"tokens": tokens.to(torch.int64).contiguous(), "logits": logits},
              os.path.join(REFERENCE, "forward.safetensors"))
    with open(os.path.join(REFERENCE, "module_tree.txt"), "w") as f:
        f.write(repr(model) + "\n")
    with open(os.path.join(REFERENCE, "versions.json"), "w") as f:
        import transformers, safetensors
        json.dump({"torch": torch.__version__, "transformers": transformers.__version__,
                   "safetensors": safetensors.__version__, "parameters": model.num_parameters()}, f, indent=2)
        f.write("\n")


def check_saved(directory):
    ref = load_file(os.path.join(REFERENCE, "forward.safetensors"))
    model = GPT2LMHeadModel.from_pretrained(directory).eval()
    with torch.no_grad():
        logits = model(ref["tokens"]).logits
    diff = (logits - ref["logits"]).abs().max().item()
    print(f"transformers loaded {directory}: max |logits - reference| = {diff:.3g}")
    return 0 if diff < 1e-5 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check-saved", metavar="DIR", help="check a model directory saved by Cuentista")
    args = parser.parse_args()
    if args.check_saved:
        sys.exit(check_saved(args.check_saved))
    torch.set_num_threads(1)
    model = tiny_model()
    make_models(model)
    make_reference(model)
    import generation_fixtures
    generation_fixtures.make(model, REFERENCE)
    print("fixtures written under", HERE)


if __name__ == "__main__":
    main()
