import RunOptions

/// A job's specification: paths and the like, plus the engine's options carried as they are.
/// `spec.epochs` reads and writes `spec.options.epochs`, so no option is declared twice.
@dynamicMemberLookup
public protocol JobSpecification: Codable, Sendable, Equatable {
    associatedtype Options: JobOptions
    var options: Options { get set }
}

extension JobSpecification {
    public subscript<T>(dynamicMember option: WritableKeyPath<Options, T>) -> T {
        get { options[keyPath: option] }
        set { options[keyPath: option] = newValue }
    }

    /// The engine's options, every value checked (no file is read).
    public func checkedOptions() throws(JobSpecError) -> Options {
        do { try options.validate() } catch { throw JobSpecError(field: error.name, error.reason) }
        return options
    }
}
