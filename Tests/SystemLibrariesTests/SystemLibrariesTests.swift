import CProtobufC
import CZMQ
import Testing

/// The module maps for libzmq and libprotobuf-c link and resolve symbols (the services use
/// them; this keeps the package honest until they do).
@Suite("System libraries")
struct SystemLibrariesTests {
    @Test("libzmq links, has CurveZMQ, and a PAIR socket pair carries a message")
    func zmq() throws {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        #expect(major >= 4)
        #expect(zmq_has("curve") == 1)
        let context = try #require(zmq_ctx_new())
        defer { zmq_ctx_term(context) }
        let a = try #require(zmq_socket(context, ZMQ_PAIR)), b = try #require(zmq_socket(context, ZMQ_PAIR))
        defer { zmq_close(a); zmq_close(b) }
        #expect(zmq_bind(a, "inproc://system-libraries-test") == 0)
        #expect(zmq_connect(b, "inproc://system-libraries-test") == 0)
        #expect(zmq_send(a, "hola", 4, 0) == 4)
        var buffer = [UInt8](repeating: 0, count: 8)
        #expect(zmq_recv(b, &buffer, 8, 0) == 4)
        #expect(String(decoding: buffer.prefix(4), as: UTF8.self) == "hola")
    }

    @Test("libprotobuf-c links")
    func protobufC() {
        let version = String(cString: protobuf_c_version())
        #expect(version.hasPrefix("1."))
    }
}
