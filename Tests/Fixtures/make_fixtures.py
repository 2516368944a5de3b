#!/usr/bin/env python3
"""Generates the reference fixtures Cuentista's tests compare against.

Run once with the pinned versions in requirements.txt; the outputs are committed so that
CI never needs PyTorch:

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install -r Tests/Fixtures/requirements.txt
    /tmp/ref/bin/python Tests/Fixtures/make_fixtures.py

With --check-saved DIR it instead loads a model directory written by Cuentista
(`cuentista convert`) with transformers and checks its logits against the reference.

The tokenizer fixtures (Tests/Fixtures/tokenizer/) need the novel at
<repo>/../shared/corpus/quijote.txt; --tokenizer-only writes just those.
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


# ---------------------------------------------------------------------------------------
# Tokenizer fixtures (Tests/Fixtures/tokenizer/, read by Tests/TokenizerTests)

TOKENIZER = os.path.join(HERE, "tokenizer")
QUIJOTE = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "corpus", "quijote.txt"))
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def lines_with_endings(data):
    """Split bytes on b"\\n" keeping it, as HF's trainer reads files (CR stays in the line)."""
    parts = data.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def train_byte_level(path, vocab_size, **kwargs):
    from tokenizers import ByteLevelBPETokenizer
    tok = ByteLevelBPETokenizer()
    tok.train(files=[path], vocab_size=vocab_size, special_tokens=["<|endoftext|>"], show_progress=False, **kwargs)
    return tok


def save_tokenizer(tok, directory, with_json=True):
    fresh(directory)
    tok.save_model(directory)
    if with_json:
        tok.save(os.path.join(directory, "tokenizer.json"), pretty=False)


def tiktoken_for(tok):
    """tiktoken over the same vocab: ranks are HF ids, which follow merge order."""
    import tiktoken
    byte_of = {c: b for b, c in enumerate(bytes_to_unicode())}
    ranks = {}
    for token, i in tok.get_vocab().items():
        if token != "<|endoftext|>":
            ranks[bytes(byte_of[c] for c in token)] = i
    return tiktoken.Encoding("quijote-hf", pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
                             special_tokens={"<|endoftext|>": tok.token_to_id("<|endoftext|>")})


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


def make_tokenizer_fixtures():
    import random
    import tokenizers
    import tiktoken
    from tokenizers import AddedToken, Tokenizer, processors, pre_tokenizers

    if not os.path.exists(QUIJOTE):
        sys.exit(f"tokenizer fixtures need the corpus at {QUIJOTE}")
    corpus = open(QUIJOTE, "rb").read()
    text_path = os.path.join(TOKENIZER, "test_text.txt")  # written by hand, committed
    test_text = open(text_path, encoding="utf-8", newline="").read()

    # (a) "GPT-2 sized" BPE on the novel. With ByteLevelBPETokenizer's defaults (min_frequency=2)
    # the novel only supports 22,414 tokens, well short of the 50,257 asked for.
    big_dir = os.path.join(TOKENIZER, "quijote-22k")
    big = train_byte_level(QUIJOTE, 50257)
    save_tokenizer(big, big_dir)
    hf = Tokenizer.from_file(os.path.join(big_dir, "tokenizer.json"))

    # (b) ids and offsets of the test text, plus variants of the pipeline. Offsets are stored
    # as (start - previous end, end - start) pairs, flattened, to keep the file small.
    def packed_offsets(offsets):
        flat, previous_end = [], 0
        for start, end in offsets:
            flat += [start - previous_end, end - start]
            previous_end = end
        return flat

    enc = hf.encode(test_text)
    reference = {"ids": enc.ids, "offsets": packed_offsets(enc.offsets)}
    hf.encode_special_tokens = True
    reference["ids_special_disallowed"] = hf.encode(test_text).ids
    hf.encode_special_tokens = False
    trimmed = Tokenizer.from_file(os.path.join(big_dir, "tokenizer.json"))
    trimmed.post_processor = processors.ByteLevel(trim_offsets=True)
    reference["offsets_trimmed"] = packed_offsets(trimmed.encode(test_text).offsets)
    prefixed = Tokenizer.from_file(os.path.join(big_dir, "tokenizer.json"))
    prefixed.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    penc = prefixed.encode(test_text)
    reference["ids_prefix_space"] = penc.ids
    reference["offsets_prefix_space"] = packed_offsets(penc.offsets)
    assert hf.decode(enc.ids, skip_special_tokens=False) == test_text

    # Added tokens with HF's matching options (lstrip, rstrip, single_word, overlaps).
    custom = Tokenizer.from_file(os.path.join(big_dir, "tokenizer.json"))
    custom.add_special_tokens([AddedToken("<mask>", lstrip=True), AddedToken("<|im_start|>", rstrip=True)])
    custom.add_tokens([AddedToken("[NS]", single_word=True), AddedToken("<|end", normalized=False),
                       AddedToken("ñandú", rstrip=True)])
    sample = ("Hola <mask> mundo[NS] [NS] x[NS]y ñandú   fin <|endoftext|> <|end of\t<mask><|im_start|>  "
              "user\n¿ñandú?ñandú\u00a0\u00a0z  <mask>[NS]")
    cenc = custom.encode(sample)
    custom.encode_special_tokens = True
    reference["added_tokens_case"] = {
        "added_tokens_json": json.dumps(json.loads(custom.to_str())["added_tokens"], ensure_ascii=True, separators=(",", ":")),
        "text": sample, "ids": cenc.ids, "offsets": packed_offsets(cenc.offsets),
        "ids_special_disallowed": custom.encode(sample).ids,
    }

    # Decoding of arbitrary id runs, split characters and invalid UTF-8 included.
    rng = random.Random(2024)
    vocab = hf.get_vocab()
    byte_of = {c: b for b, c in enumerate(bytes_to_unicode())}
    single = sorted(i for t, i in vocab.items() if len(t) == 1 and byte_of.get(t, 0) >= 0x80)  # lone high bytes
    high = sorted(i for t, i in vocab.items() if any(ord(c) >= 0x80 for c in t))
    pools = [single, high, list(range(hf.get_vocab_size()))]
    cases = []
    for _ in range(300):
        ids = [rng.choice(rng.choice(pools)) for _ in range(rng.randint(1, 6))]
        cases.append({"ids": ids, "text": hf.decode(ids, skip_special_tokens=False)})
    reference["decode_cases"] = cases
    with open(os.path.join(TOKENIZER, "test_text.hf.json"), "w") as f:
        json.dump(reference, f, ensure_ascii=True, separators=(",", ":"))

    # (c) the whole novel, one encode call, as uint16 little-endian.
    ids = hf.encode(corpus.decode("utf-8")).ids
    assert max(ids) < 65536
    import array
    packed = array.array("H", ids)
    if sys.byteorder != "little":
        packed.byteswap()
    with open(os.path.join(TOKENIZER, "quijote.ids.u16"), "wb") as f:
        packed.tofile(f)

    # (d) compression: a small vocab trained on the first 90% of the lines, measured on the rest.
    lines = lines_with_endings(corpus)
    cut = len(lines) * 9 // 10
    train_part, held_out = b"".join(lines[:cut]), b"".join(lines[cut:])
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        part_path = os.path.join(tmp, "train.txt")
        with open(part_path, "wb") as f:
            f.write(train_part)
        small = train_byte_level(part_path, 2000)
    save_tokenizer(small, os.path.join(TOKENIZER, "quijote-2k"), with_json=False)
    held_tokens = len(small.encode(held_out.decode("utf-8")).ids)

    # Exact training reference that needs no corpus: the test text, line by line.
    tiny = train_byte_level(text_path, 600)
    save_tokenizer(tiny, os.path.join(TOKENIZER, "test-text-600"), with_json=False)

    # (e) tiktoken with the same vocab and the GPT-2 pattern must agree with HF.
    tk = tiktoken_for(big)
    tk_test = tk.encode(test_text, allowed_special="all")
    tk_novel = tk.encode(corpus.decode("utf-8"), allowed_special="all")
    print(f"tiktoken == HF on the test text: {tk_test == enc.ids}; on the novel: {tk_novel == ids}")

    meta = {
        "versions": {"tokenizers": tokenizers.__version__, "tiktoken": tiktoken.__version__},
        "quijote": {"bytes": len(corpus), "fnv1a64": f"{fnv1a64(corpus):016x}", "tokens": len(ids),
                    "ids_fnv1a64": f"{fnv1a64(packed.tobytes()):016x}"},
        "quijote_50k": {"requested_vocab_size": 50257, "vocab_size": big.get_vocab_size(), "min_frequency": 2},
        "compression": {"vocab_size": 2000, "min_frequency": 2, "train_lines": cut, "total_lines": len(lines),
                        "held_out_bytes": len(held_out), "held_out_tokens": held_tokens,
                        "tokens_per_byte": held_tokens / len(held_out)},
        "tiktoken_matches_hf": {"test_text": tk_test == enc.ids, "quijote": tk_novel == ids},
    }
    with open(os.path.join(TOKENIZER, "reference.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, files in os.walk(TOKENIZER) for n in files)
    print(f"tokenizer fixtures: {total / 1e6:.2f} MB under {TOKENIZER}")


def check_loadable(directory):
    """transformers loads a directory Cuentista wrote (e.g. a training checkpoint) with every
    weight found, and the tokenizer files load too."""
    from transformers import AutoTokenizer
    model, info = GPT2LMHeadModel.from_pretrained(directory, output_loading_info=True)
    missing = [k for k in info["missing_keys"] if not k.endswith("attn.bias") and not k.endswith("masked_bias")]
    if missing or info["unexpected_keys"]:
        print("missing:", missing, "unexpected:", info["unexpected_keys"])
        return 1
    tokenizer = AutoTokenizer.from_pretrained(directory) if os.path.exists(os.path.join(directory, "tokenizer.json")) else None
    ids = torch.tensor([tokenizer.encode("Había una vez")]) if tokenizer else torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        loss = model(ids, labels=ids).loss.item()
    print(f"transformers loaded {directory}: all weights present, tokenizer {'loaded' if tokenizer else 'absent'}, loss {loss:.4f}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check-saved", metavar="DIR", help="check a model directory saved by Cuentista")
    parser.add_argument("--check-loadable", metavar="DIR", help="check that transformers loads DIR (e.g. a checkpoint)")
    parser.add_argument("--tokenizer-only", action="store_true", help="only write Tests/Fixtures/tokenizer/")
    parser.add_argument("--shapes-only", action="store_true", help="only write Tests/Fixtures/shapes/ (the shape matrix)")
    args = parser.parse_args()
    if args.check_saved:
        sys.exit(check_saved(args.check_saved))
    if args.check_loadable:
        sys.exit(check_loadable(args.check_loadable))
    if args.tokenizer_only:
        make_tokenizer_fixtures()
        return
    torch.set_num_threads(1)
    import shape_fixtures
    if args.shapes_only:
        shape_fixtures.make(os.path.join(HERE, "shapes"))
        return
    model = tiny_model()
    make_models(model)
    make_reference(model)
    import generation_fixtures
    import training_fixtures
    generation_fixtures.make(model, REFERENCE)
    training_fixtures.make(model, REFERENCE)
    make_tokenizer_fixtures()
    shape_fixtures.make(os.path.join(HERE, "shapes"))
    # The tiny model gets a tokenizer trained on the test text, so that a model directory of
    # the fixtures holds both, as on the hub.
    generation_fixtures.make_tokenized_model(model, os.path.join(MODELS, "tiny-safetensors"), REFERENCE,
                                             os.path.join(TOKENIZER, "test_text.txt"))
    print("fixtures written under", HERE)


if __name__ == "__main__":
    main()
