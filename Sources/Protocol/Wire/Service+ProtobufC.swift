import CProtos

// service.proto: conversions to and from the protobuf-c structs, and the messages sent alone.

extension WorkerHello: CMessage {
    init(c: Cuentista__V1__WorkerHello) throws(WireDecodingError) {
        version = try ProtocolVersion(c: c.version, field: "WorkerHello.version")
        service = swiftString(c.service)
        workerId = swiftString(c.worker_id)
        host = swiftString(c.host)
        capacity = c.capacity
        model = swiftString(c.model)
        currentJob = swiftString(c.current_job)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__WorkerHello> {
        let m = arena.message(cuentista__v1__worker_hello__init)
        m.pointee.version = version.c()
        m.pointee.service = arena.string(service)
        m.pointee.worker_id = arena.string(workerId)
        m.pointee.host = arena.string(host)
        m.pointee.capacity = capacity
        m.pointee.model = arena.string(model)
        m.pointee.current_job = arena.string(currentJob)
        return m
    }
}

extension Heartbeat: CMessage {
    init(c: Cuentista__V1__Heartbeat) throws(WireDecodingError) {
        workerId = swiftString(c.worker_id)
        busy = c.busy
        jobId = swiftString(c.job_id)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__Heartbeat> {
        let m = arena.message(cuentista__v1__heartbeat__init)
        m.pointee.worker_id = arena.string(workerId)
        m.pointee.busy = busy
        m.pointee.job_id = arena.string(jobId)
        return m
    }
}

extension StatusRequest: CMessage {
    init(c: Cuentista__V1__StatusRequest) throws(WireDecodingError) {
        version = try ProtocolVersion(c: c.version, field: "StatusRequest.version")
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__StatusRequest> {
        let m = arena.message(cuentista__v1__status_request__init)
        m.pointee.version = version.c()
        return m
    }
}

extension StatusReply: CMessage {
    init(c: Cuentista__V1__StatusReply) throws(WireDecodingError) {
        error = try swiftOptionalMessage(c.error)
        services = try swiftMessages(c.n_services, c.services)
        jobs = try swiftMessages(c.n_jobs, c.jobs)
        jobsNotListed = c.jobs_not_listed
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__StatusReply> {
        let m = arena.message(cuentista__v1__status_reply__init)
        m.pointee.error = error?.c(in: arena)
        (m.pointee.n_services, m.pointee.services) = arena.messages(services)
        (m.pointee.n_jobs, m.pointee.jobs) = arena.messages(jobs)
        m.pointee.jobs_not_listed = jobsNotListed
        return m
    }
}

extension WorkerStatus: CMessage {
    init(c: Cuentista__V1__WorkerStatus) throws(WireDecodingError) {
        service = swiftString(c.service)
        workers = try swiftMessages(c.n_workers, c.workers)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__WorkerStatus> {
        let m = arena.message(cuentista__v1__worker_status__init)
        m.pointee.service = arena.string(service)
        (m.pointee.n_workers, m.pointee.workers) = arena.messages(workers)
        return m
    }
}

// MARK: Wire messages

extension WorkerHello: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__worker_hello__descriptor, cuentista__v1__worker_hello__unpack, cuentista__v1__worker_hello__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__worker_hello__get_packed_size, cuentista__v1__worker_hello__pack)
    }
}

extension Heartbeat: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__heartbeat__descriptor, cuentista__v1__heartbeat__unpack, cuentista__v1__heartbeat__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__heartbeat__get_packed_size, cuentista__v1__heartbeat__pack)
    }
}

extension StatusRequest: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__status_request__descriptor, cuentista__v1__status_request__unpack, cuentista__v1__status_request__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__status_request__get_packed_size, cuentista__v1__status_request__pack)
    }
}

extension StatusReply: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__status_reply__descriptor, cuentista__v1__status_reply__unpack, cuentista__v1__status_reply__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__status_reply__get_packed_size, cuentista__v1__status_reply__pack)
    }
}
