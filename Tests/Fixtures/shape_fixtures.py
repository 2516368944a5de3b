"""The shape matrix: small random GPT-2s covering the configuration options transformers
accepts, each with reference logits, a greedy continuation and, for some, every gradient.

Called by make_fixtures.py (or alone: make_fixtures.py --shapes-only); writes
shapes/<name>/{config.json, model.safetensors, reference.safetensors}. Read by
Tests/GPT2Tests/ShapeMatrixTests.swift, which runs every shape at several thread counts.
The references come from transformers' eager attention and a plain greedy loop over full
forward passes (no KV cache), so they share nothing with Cuentista's cached decoding.
"""
import os
import shutil

import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel

# name -> (GPT2Config overrides, whether gradients are written). Every shape is small
# (the whole set stays well under 1 MB) and odd on purpose: widths that are not multiples of
# 16, head sizes of 4 and 24, one head, an MLP narrower than the embedding, short contexts.
SHAPES = {
    "base": (dict(vocab_size=96, n_positions=32, n_embd=32, n_layer=2, n_head=2), True),
    "inner-equals-embd-relu": (dict(vocab_size=80, n_positions=24, n_embd=32, n_layer=2, n_head=4, n_inner=32,
                                    activation_function="relu"), True),
    "inner-narrow-gelu": (dict(vocab_size=70, n_positions=24, n_embd=40, n_layer=2, n_head=5, n_inner=12,
                               activation_function="gelu"), False),
    "one-head-gelu-fast": (dict(vocab_size=64, n_positions=20, n_embd=24, n_layer=2, n_head=1,
                                activation_function="gelu_fast"), False),
    "many-heads-pytorch-tanh": (dict(vocab_size=100, n_positions=20, n_embd=48, n_layer=1, n_head=12,
                                     activation_function="gelu_pytorch_tanh"), False),
    "odd-width-quick-gelu": (dict(vocab_size=77, n_positions=24, n_embd=20, n_layer=3, n_head=5, n_inner=52,
                                  activation_function="quick_gelu"), True),
    "silu-unscaled": (dict(vocab_size=60, n_positions=24, n_embd=24, n_layer=2, n_head=2, activation_function="silu",
                           scale_attn_weights=False), True),
    "swish-inverse-layer": (dict(vocab_size=50, n_positions=24, n_embd=32, n_layer=3, n_head=2, activation_function="swish",
                                 scale_attn_by_inverse_layer_idx=True), True),
    "tanh-reorder-upcast": (dict(vocab_size=90, n_positions=24, n_embd=16, n_layer=2, n_head=4, activation_function="tanh",
                                 reorder_and_upcast_attn=True, scale_attn_by_inverse_layer_idx=True), False),
    "short-context-eps": (dict(vocab_size=40, n_positions=8, n_embd=32, n_layer=2, n_head=2, layer_norm_epsilon=0.3,
                               activation_function="gelu_new"), False),
    "eos-outside-vocab": (dict(vocab_size=64, n_positions=24, n_embd=32, n_layer=1, n_head=2,
                               bos_token_id=50256, eos_token_id=50256), False),
    "wide-heads-sigmoid": (dict(vocab_size=130, n_positions=24, n_embd=72, n_layer=1, n_head=3, n_inner=100,
                                activation_function="sigmoid"), False),
    "eight-wide-gelu-accurate": (dict(vocab_size=33, n_positions=16, n_embd=8, n_layer=2, n_head=2,
                                  activation_function="gelu_accurate"), True),
}

DEFAULTS = dict(bos_token_id=0, eos_token_id=0, attn_implementation="eager")


def random_model(overrides, seed):
    torch.manual_seed(seed)
    config = GPT2Config(**{**DEFAULTS, **overrides})
    model = GPT2LMHeadModel(config).eval()
    # As the tiny model: every tensor non-trivial, so each one shows in the logits.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".ln_" in name or name.startswith("transformer.ln_f"):
                p.copy_((1 if name.endswith("weight") else 0) + 0.2 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
    return model


def greedy(model, prompt, new_tokens):
    """Greedy continuation by full forward passes; also the smallest top-1/top-2 logit gap."""
    tokens, margin = list(prompt), float("inf")
    with torch.no_grad():
        for _ in range(new_tokens):
            logits = model(torch.tensor([tokens])).logits[0, -1]
            top = torch.topk(logits, 2).values
            margin = min(margin, float(top[0] - top[1]))
            tokens.append(int(torch.argmax(logits)))
    return tokens[len(prompt):], margin


def make_shape(name, overrides, with_gradients, out_root, seed):
    directory = os.path.join(out_root, name)
    shutil.rmtree(directory, ignore_errors=True)
    model = random_model(overrides, seed)
    model.save_pretrained(directory, safe_serialization=True)
    generation_config = os.path.join(directory, "generation_config.json")
    if os.path.exists(generation_config):
        os.remove(generation_config)
    config = model.config
    g = torch.Generator().manual_seed(seed)
    T = min(12, config.n_positions)
    tokens = torch.randint(0, config.vocab_size, (2, T), generator=g)
    with torch.no_grad():
        logits = model(tokens).logits.float().contiguous()
    tensors = {"tokens": tokens.to(torch.int64).contiguous(), "logits": logits}

    # A greedy continuation to the end of the context, from a prompt whose every step has a
    # clear winner (gap >= 1e-2), so that float32 rounding cannot flip a token.
    prompt_length = min(4, config.n_positions - 1)
    for attempt in range(100):
        prompt = torch.randint(0, config.vocab_size, (prompt_length,), generator=g).tolist()
        continuation, margin = greedy(model, prompt, config.n_positions - prompt_length)
        if margin >= 1e-2:
            break
    else:
        raise SystemExit(f"{name}: no prompt with a clear greedy path")
    tensors["greedy.prompt"] = torch.tensor(prompt, dtype=torch.int64)
    tensors["greedy.tokens"] = torch.tensor(continuation, dtype=torch.int64)
    tensors["greedy.margin"] = torch.tensor([margin], dtype=torch.float32)

    if with_gradients:
        labels = tokens.clone()
        labels[1, T - 3:] = -100
        model.zero_grad()
        out = model(input_ids=tokens, labels=labels)
        out.loss.backward()
        tensors["labels"] = labels.to(torch.int64).contiguous()
        tensors["loss"] = out.loss.detach().reshape(1).float()
        for pname, p in model.named_parameters():
            if p.grad is not None and not pname.startswith("lm_head"):
                tensors["grad." + pname] = p.grad.detach().float().contiguous()
    save_file(tensors, os.path.join(directory, "reference.safetensors"))


def make(out_root):
    os.makedirs(out_root, exist_ok=True)
    for index, (name, (overrides, with_gradients)) in enumerate(SHAPES.items()):
        make_shape(name, overrides, with_gradients, out_root, seed=100 + index)
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, files in os.walk(out_root) for n in files)
    print(f"shape matrix: {len(SHAPES)} models, {total / 1e6:.2f} MB under {out_root}")
