import Foundation
import Messaging
import Wire

/// An error a service answered with.
public struct ServiceError: Error, CustomStringConvertible, Sendable {
    public let code: ErrorCode
    public let message: String
    public let field: String

    public init(_ reply: ErrorReply) {
        code = reply.code
        message = reply.message
        field = reply.field
    }

    public var description: String { "\(code): \(message)" }
}

/// A client of the coordinator's services, typed: what `cuentista jobs`, `status` and the
/// tests use. Any other language does the same with Protos/ and a DEALER socket.
public final class ServiceClient {
    public let client: MajordomoClient
    public var timeoutMilliseconds: Int

    public init(context: ZMQContext, endpoint: String, timeoutMilliseconds: Int = 10_000,
                serverKey: String? = nil, keys: CurveKeys? = nil) throws {
        client = try MajordomoClient(context: context, endpoint: endpoint, serverKey: serverKey, keys: keys)
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    public func jobs(_ request: JobRequest, timeoutMilliseconds: Int? = nil, onPartial: (JobReply) throws -> Void = { _ in }) throws -> JobReply {
        let body = try client.request(service: InternalService.jobs, body: request.checkedWire(), timeoutMilliseconds: timeoutMilliseconds ?? self.timeoutMilliseconds) {
            try onPartial(try JobReply(wire: $0))
        }
        let reply = try JobReply(wire: body)
        if case let .error(error) = reply.reply { throw ServiceError(error) }
        return reply
    }

    public func status() throws -> StatusReply {
        let body = try client.request(service: InternalService.status, body: StatusRequest(version: .v1).wire(), timeoutMilliseconds: timeoutMilliseconds)
        let reply = try StatusReply(wire: body)
        if let error = reply.error, error.code != .unspecified { throw ServiceError(error) }
        return reply
    }

    public func tokenize(_ request: TokenizeRequest, retries: Int = 2) throws -> TokenizeReply {
        let body = try client.request(service: "tokenize", body: request.checkedWire(), timeoutMilliseconds: timeoutMilliseconds, retries: retries)
        let reply = try TokenizeReply(wire: body)
        if case let .error(error) = reply.reply { throw ServiceError(error) }
        return reply
    }
}
