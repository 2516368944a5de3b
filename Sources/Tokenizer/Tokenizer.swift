/// Byte-level BPE tokenizer (GPT-2's), identical to Hugging Face `tokenizers`.
public enum TokenizerModule {}
