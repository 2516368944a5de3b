import Wire

// Job specifications on the wire, derived from their properties: property `maxLength` travels
// as field `max_length` of jobs.proto (FieldValuesCoding). A field the wire leaves unset takes
// the default declared in `PrepareOptions` / `TrainingOptions` (the same the CLI shows), never
// a second copy of it. Everything sent is taken as sent, so an explicit lr of 0 is refused by
// validation rather than quietly replaced. (Tests/ServicesTests/SpecAgreementTests checks it.)

enum SpecConversion {
    /// The received fields over the encoded defaults, decoded; a field of the wrong type or an
    /// enum value the build does not know is a `JobSpecError` naming the field.
    static func decode<Spec: Codable>(_ fields: [String: FieldValue], defaults: Spec) throws(JobSpecError) -> Spec {
        do {
            let merged = try FieldValuesEncoder.encode(defaults).merging(fields) { _, received in received }
            return try Spec(from: FieldValuesDecoder(fields: merged))
        } catch let error as DecodingError {
            throw JobSpecError(decoding: error, fields: fields)
        } catch {
            throw JobSpecError(field: "spec", "\(error)")
        }
    }

    static func encode<Spec: Encodable>(_ spec: Spec) -> [String: FieldValue] {
        // Encoding a specification cannot fail: every property is a scalar, a string or a list
        // of strings (SpecAgreementTests encodes every field).
        (try? FieldValuesEncoder.encode(spec)) ?? [:]
    }
}

extension JobSpecError {
    init(decoding error: DecodingError, fields: [String: FieldValue]) {
        let key: (any CodingKey)? = switch error {
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context): context.codingPath.last
        case let .keyNotFound(key, _): key
        @unknown default: nil
        }
        let name = key.map { FieldNames.snakeCase($0.stringValue) } ?? "spec"
        let flag = name.replacingOccurrences(of: "_", with: "-")
        if case .dataCorrupted = error, case let .string(text)? = fields[name] {
            self.init(field: flag, "'\(text)' is not one of its values")
        } else {
            self.init(field: flag, "has a value of the wrong type")
        }
    }
}

extension PrepareJobSpec {
    public init(wire spec: Wire.PrepareSpec) throws(JobSpecError) {
        self = try SpecConversion.decode(spec.fields, defaults: .defaults)
    }

    public var wire: Wire.PrepareSpec { Wire.PrepareSpec(fields: SpecConversion.encode(self)) }
}

extension TrainJobSpec {
    public init(wire spec: Wire.TrainSpec) throws(JobSpecError) {
        self = try SpecConversion.decode(spec.fields, defaults: .defaults)
    }

    public var wire: Wire.TrainSpec { Wire.TrainSpec(fields: SpecConversion.encode(self)) }
}

extension JobSpec {
    /// nil when the submission names no job; a field the specification cannot take is an error.
    public init?(wire submit: JobSubmit) throws(JobSpecError) {
        switch submit.spec {
        case let .prepare(spec): self = .prepare(try PrepareJobSpec(wire: spec))
        case let .train(spec): self = .train(try TrainJobSpec(wire: spec))
        case nil: return nil
        }
    }

    public var wire: JobSubmit {
        switch self {
        case let .prepare(spec): JobSubmit(version: .v1, spec: .prepare(spec.wire))
        case let .train(spec): JobSubmit(version: .v1, spec: .train(spec.wire))
        }
    }
}
