import ArgumentParser
import Foundation
import Services
import Wire

/// Switches every generator to a model, without a train job (`jobs submit train --deploy` does
/// the same when its job succeeds). An admin's call: through the operator's endpoint
/// (`--data-dir` on the coordinator's machine) or with an admin CurveZMQ key.
struct DeployCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Switch every generator to a model directory (relative to the data directory) or to job:<id>'s best model.",
        discussion: """
          cuentista deploy runs/finetune/final --data-dir DATA
          cuentista deploy job:job-000002 --data-dir DATA
        Requests in flight finish on the model they started with. Switching to the model already
        served (unchanged on disk) loads nothing.
        """)

    @Argument(help: "A model directory relative to the data directory, or job:<id> (a succeeded train job).") var model: String
    @OptionGroup var connection: ClientArguments

    func run() throws {
        let client = try connection.client()
        let body = try client.client.request(service: "generate", body: GeneratorCall(call: .switchModel(SwitchModelRequest(version: .v1, model: model))).checkedWire(),
                                             timeoutMilliseconds: max(connection.timeoutMs, 60_000))
        let event = try GenerateEvent(wire: body)
        switch event.event {
        case let .model(info):
            print("every generator serves \(info.model) (\(info.parameters) parameters, context \(info.context))")
        case let .error(error):
            throw ServiceError(error)
        default:
            throw ValidationError("the coordinator answered the switch with something else: \(event)")
        }
    }
}
