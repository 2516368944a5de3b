import Foundation

extension BPETokenizer {
    /// Writes `vocab.json`, `merges.txt` and `tokenizer.json` into `directory` (created if
    /// needed), in the formats Hugging Face `tokenizers` writes and loads.
    public func save(to directory: String) throws(TokenizerError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .io(file: directory, reason: "cannot create directory: \(error)")
        }
        let files: [(String, [UInt8])] = [
            ("vocab.json", vocabJSONBytes()),
            ("merges.txt", mergesTXTBytes()),
            ("tokenizer.json", tokenizerJSONBytes()),
        ]
        for (name, bytes) in files {
            let path = (directory as NSString).appendingPathComponent(name)
            do { try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
                throw .io(file: path, reason: "cannot write: \(error)")
            }
        }
    }

    private func writeVocab(_ w: inout JSONWriter) {
        w.raw("{")
        var first = true
        for (id, token) in model.vocabTokens.enumerated() {
            guard let token else { continue }
            if !first { w.raw(",") }
            first = false
            w.string(token)
            w.raw(":")
            w.int(id)
        }
        w.raw("}")
    }

    func vocabJSONBytes() -> [UInt8] {
        var w = JSONWriter()
        writeVocab(&w)
        return w.bytes
    }

    func mergesTXTBytes() -> [UInt8] {
        var out = Array("#version: 0.2\n".utf8)
        for m in model.merges {
            out.append(contentsOf: (model.vocabTokens[Int(m.left)] ?? "").utf8)
            out.append(0x20)
            out.append(contentsOf: (model.vocabTokens[Int(m.right)] ?? "").utf8)
            out.append(0x0A)
        }
        return out
    }

    /// The layout `Tokenizer.save(pretty=False)` produces for a `ByteLevelBPETokenizer`.
    func tokenizerJSONBytes() -> [UInt8] {
        let o = model.options
        var w = JSONWriter()
        w.raw("{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[")
        for (k, a) in model.addedTokens.enumerated() {
            if k > 0 { w.raw(",") }
            w.raw("{\"id\":\(a.id),\"content\":")
            w.string(a.content)
            w.raw(",\"single_word\":"); w.bool(a.singleWord)
            w.raw(",\"lstrip\":"); w.bool(a.lstrip)
            w.raw(",\"rstrip\":"); w.bool(a.rstrip)
            w.raw(",\"normalized\":"); w.bool(a.normalized)
            w.raw(",\"special\":"); w.bool(a.special)
            w.raw("}")
        }
        w.raw("],\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":")
        w.bool(o.addPrefixSpace)
        w.raw(",\"trim_offsets\":true,\"use_regex\":true},\"post_processor\":")
        if o.hasPostProcessor {
            w.raw("{\"type\":\"ByteLevel\",\"add_prefix_space\":")
            w.bool(o.postProcessorAddPrefixSpace)
            w.raw(",\"trim_offsets\":")
            w.bool(o.trimOffsets)
            w.raw(",\"use_regex\":true}")
        } else {
            w.raw("null")
        }
        w.raw(",\"decoder\":{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}")
        w.raw(",\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":")
        if let unk = model.unkId, let s = model.tokenString(unk) { w.string(s) } else { w.raw("null") }
        w.raw(",\"continuing_subword_prefix\":null,\"end_of_word_suffix\":null,\"fuse_unk\":false,\"byte_fallback\":false,\"ignore_merges\":")
        w.bool(o.ignoreMerges)
        w.raw(",\"vocab\":")
        writeVocab(&w)
        w.raw(",\"merges\":[")
        for (k, m) in model.merges.enumerated() {
            if k > 0 { w.raw(",") }
            w.raw("[")
            w.string(model.vocabTokens[Int(m.left)] ?? "")
            w.raw(",")
            w.string(model.vocabTokens[Int(m.right)] ?? "")
            w.raw("]")
        }
        w.raw("]}}")
        return w.bytes
    }
}
