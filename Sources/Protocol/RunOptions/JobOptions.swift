/// The options of a run: plain values with their defaults and a check of every value that needs
/// no file (`TrainingOptions`, `PrepareOptions`).
public protocol JobOptions: Codable, Sendable, Equatable {
    func validate() throws(InvalidOption)
}
