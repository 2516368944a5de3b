"""Generation references: greedy `generate` and the logits processors of transformers.

Called by make_fixtures.py with the tiny model; writes reference/generation.safetensors.
"""
import os

import torch
from safetensors.torch import save_file
from transformers.generation.logits_process import (
    MinPLogitsWarper, NoRepeatNGramLogitsProcessor, RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper, TypicalLogitsWarper)

# (name, processor) pairs; the Swift tests apply the same parameters.
PROCESSORS = [
    ("temperature_0.7", TemperatureLogitsWarper(0.7)),
    ("top_k_20", TopKLogitsWarper(20)),
    ("top_p_0.9", TopPLogitsWarper(0.9)),
    ("min_p_0.1", MinPLogitsWarper(0.1)),
    ("typical_p_0.8", TypicalLogitsWarper(0.8)),
    ("repetition_penalty_1.3", RepetitionPenaltyLogitsProcessor(1.3)),
    ("no_repeat_ngram_2", NoRepeatNGramLogitsProcessor(2)),
    ("no_repeat_ngram_3", NoRepeatNGramLogitsProcessor(3)),
]


def make(model, out_dir):
    g = torch.Generator().manual_seed(7)
    tensors = {}
    # Greedy continuations of prompts of different lengths, 48 new tokens, EOS ignored.
    prompts = [[5, 17, 300, 42], [100, 200, 300, 400, 500, 1, 2, 3, 4], [77]]
    for i, prompt in enumerate(prompts):
        ids = torch.tensor([prompt])
        with torch.no_grad():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=48,
                                 min_new_tokens=48, eos_token_id=None, pad_token_id=0)
        tensors[f"greedy.prompt.{i}"] = ids[0].to(torch.int64)
        tensors[f"greedy.output.{i}"] = out[0, len(prompt):].to(torch.int64).contiguous()

    # Logits processors on real rows of the model's logits, with a repetitive context.
    context = torch.randint(0, 512, (3, 12), generator=g)
    context[:, 8:10] = context[:, 2:4]  # so that n-gram bans have something to ban
    context[:, 10:12] = context[:, 2:4]
    with torch.no_grad():
        logits = model(context).logits[:, -1, :].float().contiguous()
    tensors["processors.context"] = context.to(torch.int64).contiguous()
    tensors["processors.logits"] = logits
    for name, processor in PROCESSORS:
        tensors[f"processors.{name}"] = processor(context, logits.clone()).contiguous()
    save_file(tensors, os.path.join(out_dir, "generation.safetensors"))


def make_tokenized_model(model, model_dir, out_dir, text_path):
    """Gives the tiny model a tokenizer (a model directory holds both, as on the hub) and
    records the notebook's views on it: the top-10 next tokens for "Había una vez" and a
    greedy continuation as text."""
    import json
    from tokenizers import ByteLevelBPETokenizer

    tok = ByteLevelBPETokenizer()
    tok.train(files=[text_path], vocab_size=model.config.vocab_size, special_tokens=["<|endoftext|>"],
              show_progress=False)
    assert tok.token_to_id("<|endoftext|>") == model.config.eos_token_id
    tok.save_model(model_dir)
    tok.save(os.path.join(model_dir, "tokenizer.json"), pretty=False)

    prompt = "Había una vez"
    ids = tok.encode(prompt).ids
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, -1].double()
    probs = logits.softmax(-1)
    top = torch.topk(probs, 10)
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             do_sample=False, max_new_tokens=20, pad_token_id=0)
    new = out[0, len(ids):].tolist()
    with open(os.path.join(out_dir, "notebook_views.json"), "w") as f:
        json.dump({"prompt": prompt, "prompt_ids": ids,
                   "next": [{"id": int(i), "probability": float(p)} for p, i in zip(top.values, top.indices)],
                   "greedy_ids": new, "greedy_text": tok.decode(new)}, f, ensure_ascii=False, indent=1)
        f.write("\n")
