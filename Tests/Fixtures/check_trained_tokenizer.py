#!/usr/bin/env python3
"""Checks that Hugging Face `tokenizers` loads a tokenizer written by Cuentista's
`BPETokenizer.save(to:)` and encodes like Cuentista does (a by-hand check; CI has no Python).

    python Tests/Fixtures/check_trained_tokenizer.py DIR TEXTFILE [--ids IDS.json] [--retrain]

DIR holds vocab.json, merges.txt and tokenizer.json. TEXTFILE is encoded with HF twice: from
tokenizer.json and from vocab.json + merges.txt (ByteLevelBPETokenizer.from_file); both must
agree. With --ids, a JSON list of the ids Cuentista produced for TEXTFILE, they must agree with
those too. With --retrain, HF's ByteLevelBPETokenizer is trained on TEXTFILE with the same
vocab size and special tokens, and its vocab and merges must equal DIR's (this holds when DIR
was trained by Cuentista on TEXTFILE's lines).
"""
import argparse
import json
import os
import sys
import tempfile

from tokenizers import ByteLevelBPETokenizer, Tokenizer


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir")
    parser.add_argument("textfile")
    parser.add_argument("--ids", help="JSON list of ids Cuentista produced for TEXTFILE")
    parser.add_argument("--retrain", action="store_true", help="retrain with HF on TEXTFILE and compare")
    args = parser.parse_args()

    text = open(args.textfile, encoding="utf-8", newline="").read()
    from_json = Tokenizer.from_file(os.path.join(args.dir, "tokenizer.json"))
    added = [t.content for t in from_json.get_added_tokens_decoder().values() if t.special]
    from_pair = ByteLevelBPETokenizer.from_file(os.path.join(args.dir, "vocab.json"), os.path.join(args.dir, "merges.txt"))
    from_pair.add_special_tokens(added)

    ids_json = from_json.encode(text).ids
    ids_pair = from_pair.encode(text).ids
    failures = 0
    print(f"HF loaded {args.dir}: vocab {from_json.get_vocab_size()}, special tokens {added}, {len(ids_json)} tokens")
    if ids_json != ids_pair:
        print("FAIL: tokenizer.json and vocab.json + merges.txt encode differently in HF")
        failures += 1
    if from_json.decode(ids_json, skip_special_tokens=False) != text:
        print("FAIL: HF does not decode back to the text")
        failures += 1
    if args.ids:
        ours = json.load(open(args.ids))
        if ours == ids_json:
            print(f"OK: HF ids equal Cuentista's ({len(ours)} tokens)")
        else:
            first = next((k for k, (a, b) in enumerate(zip(ours, ids_json)) if a != b), min(len(ours), len(ids_json)))
            print(f"FAIL: ids differ from Cuentista's at token {first} (HF {len(ids_json)}, Cuentista {len(ours)})")
            failures += 1
    if args.retrain:
        trained = ByteLevelBPETokenizer()
        trained.train(files=[args.textfile], vocab_size=from_json.get_vocab_size(), special_tokens=added,
                      show_progress=False)
        with tempfile.TemporaryDirectory() as tmp:
            trained.save_model(tmp)
            same_vocab = json.load(open(os.path.join(tmp, "vocab.json"))) == json.load(open(os.path.join(args.dir, "vocab.json")))
            same_merges = open(os.path.join(tmp, "merges.txt"), encoding="utf-8").read() == \
                open(os.path.join(args.dir, "merges.txt"), encoding="utf-8").read()
        print(f"{'OK' if same_vocab and same_merges else 'FAIL'}: HF retrained on the text: "
              f"same vocab {same_vocab}, same merges {same_merges}")
        failures += 0 if same_vocab and same_merges else 1
    print("all checks passed" if failures == 0 else f"{failures} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
