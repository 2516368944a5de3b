import Foundation

extension BPETokenizer {
    /// Loads a model directory: `tokenizer.json` if present, else `vocab.json` + `merges.txt`.
    public init(directory: String) throws(TokenizerError) {
        let fm = FileManager.default
        let json = (directory as NSString).appendingPathComponent("tokenizer.json")
        let vocab = (directory as NSString).appendingPathComponent("vocab.json")
        let merges = (directory as NSString).appendingPathComponent("merges.txt")
        if fm.fileExists(atPath: json) {
            try self.init(tokenizerJSON: json)
        } else if fm.fileExists(atPath: vocab) && fm.fileExists(atPath: merges) {
            try self.init(vocabJSON: vocab, mergesTXT: merges)
        } else {
            throw .noTokenizerFiles(directory: directory)
        }
    }

    /// Loads GPT-2's original pair of files. The merges file may start with a `#version`
    /// line. These files cannot say which tokens are special, so each of `specialTokens` that
    /// is in the vocab becomes a special added token (as `GPT2Tokenizer` does for
    /// `<|endoftext|>`).
    public init(vocabJSON: String, mergesTXT: String, specialTokens: [String] = ["<|endoftext|>"]) throws(TokenizerError) {
        let vocabBytes = try readFile(vocabJSON)
        let mergesBytes = try readFile(mergesTXT)
        let root: JSONValue
        do { root = try JSONParser.parse(vocabBytes) } catch {
            throw .invalidFile(file: vocabJSON, reason: "invalid JSON at byte \(error.offset): \(error.message)")
        }
        let vocab = try parseVocab(root, file: vocabJSON, field: "the top-level object")
        var lookup = [[UInt8]: Int32](minimumCapacity: vocab.count)
        for v in vocab { lookup[Array(v.token.utf8)] = v.id }

        var merges = [(left: Int32, right: Int32, newId: Int32)]()
        // Split bytes, not Characters: "\r\n" is one Character and would hide the "\n".
        for (number, rawLine) in mergesBytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            var bytes = rawLine
            if bytes.last == 0x0D { bytes = bytes.dropLast() }
            let line = String(decoding: bytes, as: UTF8.self)
            if line.isEmpty || line.hasPrefix("#version") { continue }
            let parts = bytes.split(separator: 0x20, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard parts.count == 2 else {
                throw .invalidFile(file: mergesTXT, reason: "line \(number + 1): expected two tokens separated by one space, got \"\(line)\"")
            }
            merges.append(try resolveMerge(parts[0], parts[1], lookup, file: mergesTXT, where: "line \(number + 1)"))
        }
        var added = [AddedToken]()
        for s in specialTokens {
            if let id = lookup[Array(s.utf8)] { added.append(AddedToken(content: s, id: id, special: true, normalized: false)) }
        }
        var options = TokenizerOptions()
        options.hasPostProcessor = true
        self.init(model: BPEModel(TokenizerSpec(vocab: vocab, merges: merges, addedTokens: added, options: options, unkId: nil)))
    }

    /// Loads a Hugging Face `tokenizer.json` holding a byte-level BPE (GPT-2 style).
    public init(tokenizerJSON path: String) throws(TokenizerError) {
        try self.init(tokenizerJSONData: try readFile(path), file: path)
    }

    /// Same, from the file's contents; `file` only names it in errors.
    public init(tokenizerJSONData data: [UInt8], file: String = "tokenizer.json") throws(TokenizerError) {
        let root: JSONValue
        do { root = try JSONParser.parse(data) } catch {
            throw .invalidFile(file: file, reason: "invalid JSON at byte \(error.offset): \(error.message)")
        }
        guard case .object = root else { throw .invalidFile(file: file, reason: "expected a JSON object") }
        var options = TokenizerOptions()

        func typeName(_ v: JSONValue) -> String { v["type"]?.stringValue ?? "(no type)" }

        if let n = root["normalizer"], !n.isNull {
            throw .unsupported(file: file, what: "normalizer \(typeName(n))")
        }
        for field in ["truncation", "padding"] {
            if let v = root[field], !v.isNull {
                throw .unsupported(file: file, what: "\(field) is set (encode here never truncates or pads)")
            }
        }

        // Pre-tokenizer: ByteLevel, possibly as the only member of a Sequence.
        guard var pre = root["pre_tokenizer"], !pre.isNull else {
            throw .unsupported(file: file, what: "no pre_tokenizer (byte-level BPE needs a ByteLevel pre_tokenizer)")
        }
        if typeName(pre) == "Sequence", case .array(let members)? = pre["pretokenizers"], members.count == 1 {
            pre = members[0]
        }
        guard typeName(pre) == "ByteLevel" else {
            throw .unsupported(file: file, what: "pre_tokenizer \(typeName(pre))")
        }
        if pre["use_regex"]?.boolValue == false {
            throw .unsupported(file: file, what: "ByteLevel pre_tokenizer with use_regex = false")
        }
        options.addPrefixSpace = pre["add_prefix_space"]?.boolValue ?? true

        if let d = root["decoder"], !d.isNull, typeName(d) != "ByteLevel" {
            throw .unsupported(file: file, what: "decoder \(typeName(d))")
        }
        if let post = root["post_processor"], !post.isNull {
            guard typeName(post) == "ByteLevel" else {
                throw .unsupported(file: file, what: "post_processor \(typeName(post))")
            }
            options.trimOffsets = post["trim_offsets"]?.boolValue ?? true
            options.postProcessorAddPrefixSpace = post["add_prefix_space"]?.boolValue ?? true
            options.hasPostProcessor = true
        } else {
            options.hasPostProcessor = false
        }

        guard let model = root["model"], case .object = model else {
            throw .invalidFile(file: file, reason: "no \"model\" object")
        }
        let modelType = model["type"]?.stringValue ?? (model["merges"] != nil ? "BPE" : "(no type)")
        guard modelType == "BPE" else { throw .unsupported(file: file, what: "model type \(modelType)") }
        if let d = model["dropout"], !d.isNull, !(d.intValue == 0) {
            throw .unsupported(file: file, what: "BPE dropout")
        }
        for field in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = model[field], !v.isNull, v.stringValue != "" {
                throw .unsupported(file: file, what: "BPE \(field)")
            }
        }
        if model["byte_fallback"]?.boolValue == true {
            throw .unsupported(file: file, what: "BPE byte_fallback")
        }
        options.ignoreMerges = model["ignore_merges"]?.boolValue ?? false

        guard let vocabValue = model["vocab"] else { throw .invalidFile(file: file, reason: "model has no vocab") }
        let vocab = try parseVocab(vocabValue, file: file, field: "model.vocab")
        var lookup = [[UInt8]: Int32](minimumCapacity: vocab.count)
        for v in vocab { lookup[Array(v.token.utf8)] = v.id }

        guard case .array(let mergeItems)? = model["merges"] else {
            throw .invalidFile(file: file, reason: "model.merges is missing or not an array")
        }
        var merges = [(left: Int32, right: Int32, newId: Int32)]()
        merges.reserveCapacity(mergeItems.count)
        for (k, item) in mergeItems.enumerated() {
            let place = "model.merges[\(k)]"
            switch item {
            case .string(let s):  // "a b", the format before tokenizers 0.20
                let parts = s.utf8.split(separator: 0x20, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
                guard parts.count == 2 else { throw .invalidFile(file: file, reason: "\(place): expected \"a b\", got \"\(s)\"") }
                merges.append(try resolveMerge(parts[0], parts[1], lookup, file: file, where: place))
            case .array(let pair):  // ["a", "b"]
                guard pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue else {
                    throw .invalidFile(file: file, reason: "\(place): expected a pair of strings")
                }
                merges.append(try resolveMerge(a, b, lookup, file: file, where: place))
            default:
                throw .invalidFile(file: file, reason: "\(place): expected a string or a pair of strings")
            }
        }

        var unkId: Int32?
        if let u = model["unk_token"]?.stringValue { unkId = lookup[Array(u.utf8)] }

        var added = [AddedToken]()
        if case .array(let items)? = root["added_tokens"] {
            for (k, item) in items.enumerated() {
                guard let id = item["id"]?.intValue, id >= 0, id < Int(Int32.max), let content = item["content"]?.stringValue else {
                    throw .invalidFile(file: file, reason: "added_tokens[\(k)]: needs an integer id and a content string")
                }
                let special = item["special"]?.boolValue ?? false
                added.append(AddedToken(content: content, id: Int32(id), special: special,
                                        singleWord: item["single_word"]?.boolValue ?? false,
                                        lstrip: item["lstrip"]?.boolValue ?? false,
                                        rstrip: item["rstrip"]?.boolValue ?? false,
                                        normalized: item["normalized"]?.boolValue ?? !special))
            }
        }
        self.init(model: BPEModel(TokenizerSpec(vocab: vocab, merges: merges, addedTokens: added, options: options, unkId: unkId)))
    }
}

private func readFile(_ path: String) throws(TokenizerError) -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw .io(file: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
    }
    return [UInt8](data)
}

private func parseVocab(_ value: JSONValue, file: String, field: String) throws(TokenizerError) -> [(token: String, id: Int32)] {
    guard case .object(let members) = value else { throw .invalidFile(file: file, reason: "\(field) is not an object of token → id") }
    var vocab = [(token: String, id: Int32)]()
    vocab.reserveCapacity(members.count)
    for (token, v) in members {
        guard let id = v.intValue, id >= 0, id < Int(Int32.max) else {
            throw .invalidFile(file: file, reason: "\(field): id of \"\(token)\" is not a non-negative integer")
        }
        vocab.append((token, Int32(id)))
    }
    return vocab
}

/// Mirrors HF: both halves and their concatenation must be vocab entries.
private func resolveMerge(_ a: String, _ b: String, _ lookup: [[UInt8]: Int32], file: String, where place: String)
    throws(TokenizerError) -> (left: Int32, right: Int32, newId: Int32) {
    guard let left = lookup[Array(a.utf8)] else { throw .invalidFile(file: file, reason: "\(place): merge token \"\(a)\" is not in the vocab") }
    guard let right = lookup[Array(b.utf8)] else { throw .invalidFile(file: file, reason: "\(place): merge token \"\(b)\" is not in the vocab") }
    guard let merged = lookup[Array(a.utf8) + Array(b.utf8)] else {
        throw .invalidFile(file: file, reason: "\(place): merged token \"\(a)\(b)\" is not in the vocab")
    }
    return (left, right, merged)
}
