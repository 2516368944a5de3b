import Foundation
import Messaging
import Testing
import Wire

/// libzmq 4.3 numbers a ROUTER's anonymous peers 0x00 + a 32-bit counter that starts at
/// `rand()`, and it never seeds `rand()`: unseeded, every process hands out the same ids. A
/// peer that claims the next one (ZMQ_ROUTING_ID) makes libzmq assert when the next anonymous
/// peer connects. The attacker here claims the ids an unseeded process would hand out first.
@Suite("Routing ids: no peer-chosen id brings a service down", .serialized)
struct RoutingIdTests {
    /// The first ids of the first routers of an unseeded process: glibc's rand() from seed 1,
    /// combined as libzmq's generate_random does (low 31 bits, then one more bit on top).
    static func predictedIds(routers: Int = 4, each: Int = 8) -> [[UInt8]] {
        srand(1)
        var ids: [[UInt8]] = []
        for _ in 0..<routers {
            let low = UInt32(truncatingIfNeeded: rand()), high = UInt32(truncatingIfNeeded: rand()) << 31
            let start = high | low
            for k in 0..<each {
                let value = start &+ UInt32(k)
                ids.append([0, UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)])
            }
        }
        srand(UInt32(truncatingIfNeeded: time(nil)))
        return ids
    }

    /// Sockets that claim the predicted ids and stay connected (they reconnect on their own).
    static func squat(_ endpoint: String, context: ZMQContext) throws -> [ZMQSocket] {
        try predictedIds().map { id in
            let socket = try ZMQSocket(context, .dealer)
            try socket.setRoutingId(id)
            try socket.connect(endpoint)
            return socket
        }
    }

    /// Anonymous peers (no routing id of their own) ask for the status, one after the other.
    static func ordinaryClients(_ endpoint: String, context: ZMQContext, count: Int) throws -> Int {
        var answered = 0
        for _ in 0..<count {
            let socket = try ZMQSocket(context, .dealer)
            try socket.connect(endpoint)
            try socket.send([[], Majordomo.clientHeader, [1], Array(InternalService.status.utf8), StatusRequest(version: .v1).wire()])
            let ok = try poll([socket], timeoutMilliseconds: 3000)[0] && (try socket.receive()) != nil
            socket.close()
            guard ok else { break }  // down: no point waiting for the others
            answered += 1
        }
        return answered
    }

    @Test("peers claiming the ids an unseeded libzmq hands out next: the coordinator keeps answering, before and after a restart")
    func coordinatorSurvivesSquatters() throws {
        let system = try LiveSystem()
        try system.startCoordinator()
        try system.waitUntilAnswering()
        let squatters = try Self.squat(system.endpoint, context: system.context)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try Self.ordinaryClients(system.endpoint, context: system.context, count: 40) == 40)
        #expect(system.isRunning("coordinator"), "\(system.log("coordinator").suffix(2000))")
        system.kill9("coordinator")
        try system.startCoordinator()
        try system.waitUntilAnswering()
        Thread.sleep(forTimeInterval: 1)  // the squatters reconnect, claiming the same ids
        #expect(try Self.ordinaryClients(system.endpoint, context: system.context, count: 40) == 40)
        #expect(system.isRunning("coordinator"), "\(system.log("coordinator").suffix(2000))")
        for socket in squatters { socket.close() }
        #expect(system.stop("coordinator") == 0)
    }

    @Test("the generator's direct endpoint: squatters on the next ids, then ordinary clients; it keeps answering")
    func generatorSurvivesSquatters() throws {
        let direct = "tcp://127.0.0.1:\(LiveSystem.freePort())"
        let system = try GeneratorServiceTests.system(generatorArguments: ["--bind", direct])
        let squatters = try Self.squat(direct, context: system.context)
        Thread.sleep(forTimeInterval: 0.5)
        var answered = 0
        for i in 0..<30 {
            let socket = try ZMQSocket(system.context, .dealer)
            try socket.connect(direct)
            let call = GeneratorCall(call: .generate(GenerateRequest(version: .v1, requestId: "r\(i)", prompt: .text("Había"),
                                                                     parameters: GeneratorServiceTests.parameters { $0.maxNewTokens = 1 })))
            try socket.send([[], Majordomo.clientHeader, [1], Array("generate".utf8), call.wire()])
            let ok = try poll([socket], timeoutMilliseconds: 5000)[0] && (try socket.receive()) != nil
            socket.close()
            guard ok else { break }
            answered += 1
        }
        #expect(answered == 30)
        #expect(system.isRunning("generator"), "\(system.log("generator").suffix(2000))")
        for socket in squatters { socket.close() }
    }
}
