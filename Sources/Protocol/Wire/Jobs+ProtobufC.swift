import CProtos

// jobs.proto: conversions to and from the protobuf-c structs, and the messages sent alone.

extension PrepareSpec {
    /// Read in place: the unpacked message is read through its descriptor, never copied into a
    /// Swift value first (the copy would be as large as Swift's view of the struct).
    init(unpacked message: UnsafeMutablePointer<Cuentista__V1__PrepareSpec>?) throws(WireDecodingError) {
        guard let message else { throw .malformed(type: "PrepareSpec") }
        fields = ReflectedFields.read(UnsafeRawPointer(message), descriptor: message.pointee.base.descriptor)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__PrepareSpec> {
        let m = arena.message(cuentista__v1__prepare_spec__init)
        ReflectedFields.write(fields, into: UnsafeMutableRawPointer(m), descriptor: m.pointee.base.descriptor, arena: arena)
        return m
    }

    /// Every field of the message, by proto name (tests hold `PrepareJobSpec` against it).
    public static var fieldNames: [String] {
        var message = Cuentista__V1__PrepareSpec()
        cuentista__v1__prepare_spec__init(&message)
        return ReflectedFields.names(of: message.base.descriptor)
    }
}

extension TrainSpec {
    /// Read in place: the unpacked message is read through its descriptor, never copied into a
    /// Swift value first (the copy would be as large as Swift's view of the struct).
    init(unpacked message: UnsafeMutablePointer<Cuentista__V1__TrainSpec>?) throws(WireDecodingError) {
        guard let message else { throw .malformed(type: "TrainSpec") }
        fields = ReflectedFields.read(UnsafeRawPointer(message), descriptor: message.pointee.base.descriptor)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__TrainSpec> {
        let m = arena.message(cuentista__v1__train_spec__init)
        ReflectedFields.write(fields, into: UnsafeMutableRawPointer(m), descriptor: m.pointee.base.descriptor, arena: arena)
        return m
    }

    /// Every field of the message, by proto name (tests hold `TrainJobSpec` against it).
    public static var fieldNames: [String] {
        var message = Cuentista__V1__TrainSpec()
        cuentista__v1__train_spec__init(&message)
        return ReflectedFields.names(of: message.base.descriptor)
    }
}

extension JobSubmit: CMessage {
    init(c: Cuentista__V1__JobSubmit) throws(WireDecodingError) {
        version = try ProtocolVersion(c: c.version, field: "JobSubmit.version")
        switch c.spec_case {
        case CUENTISTA__V1__JOB_SUBMIT__SPEC_PREPARE: spec = .prepare(try PrepareSpec(unpacked: c.prepare))
        case CUENTISTA__V1__JOB_SUBMIT__SPEC_TRAIN: spec = .train(try TrainSpec(unpacked: c.train))
        default: spec = nil
        }
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__JobSubmit> {
        let m = arena.message(cuentista__v1__job_submit__init)
        m.pointee.version = version.c()
        switch spec {
        case .prepare(let value):
            m.pointee.spec_case = CUENTISTA__V1__JOB_SUBMIT__SPEC_PREPARE
            m.pointee.prepare = value.c(in: arena)
        case .train(let value):
            m.pointee.spec_case = CUENTISTA__V1__JOB_SUBMIT__SPEC_TRAIN
            m.pointee.train = value.c(in: arena)
        case nil:
            break
        }
        return m
    }
}

extension JobStatus: CMessage {
    init(c: Cuentista__V1__JobStatus) throws(WireDecodingError) {
        jobId = swiftString(c.job_id)
        state = try JobState(c: c.state, field: "JobStatus.state")
        kind = swiftString(c.kind)
        attempts = c.attempts
        worker = swiftString(c.worker)
        error = swiftString(c.error)
        result = swiftString(c.result)
        createdUnixMs = c.created_unix_ms
        updatedUnixMs = c.updated_unix_ms
        retryable = swiftBool(c.retryable)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__JobStatus> {
        let m = arena.message(cuentista__v1__job_status__init)
        m.pointee.job_id = arena.string(jobId)
        m.pointee.state = state.c()
        m.pointee.kind = arena.string(kind)
        m.pointee.attempts = attempts
        m.pointee.worker = arena.string(worker)
        m.pointee.error = arena.string(error)
        m.pointee.result = arena.string(result)
        m.pointee.created_unix_ms = createdUnixMs
        m.pointee.updated_unix_ms = updatedUnixMs
        m.pointee.retryable = cBool(retryable)
        return m
    }
}

extension JobProgress: CMessage {
    init(c: Cuentista__V1__JobProgress) throws(WireDecodingError) {
        jobId = swiftString(c.job_id)
        step = c.step
        totalSteps = c.total_steps
        epoch = c.epoch
        loss = c.loss
        tokensPerSecond = c.tokens_per_second
        etaSeconds = c.eta_seconds
        eval = c.evaluation_case == CUENTISTA__V1__JOB_PROGRESS__EVALUATION_EVAL ? try swiftMessage(c.eval) : nil
        checkpoint = swiftString(c.checkpoint)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__JobProgress> {
        let m = arena.message(cuentista__v1__job_progress__init)
        m.pointee.job_id = arena.string(jobId)
        m.pointee.step = step
        m.pointee.total_steps = totalSteps
        m.pointee.epoch = epoch
        m.pointee.loss = loss
        m.pointee.tokens_per_second = tokensPerSecond
        m.pointee.eta_seconds = etaSeconds
        if let eval {
            m.pointee.evaluation_case = CUENTISTA__V1__JOB_PROGRESS__EVALUATION_EVAL
            m.pointee.eval = eval.c(in: arena)
        }
        m.pointee.checkpoint = arena.string(checkpoint)
        return m
    }
}

extension Evaluation: CMessage {
    init(c: Cuentista__V1__Evaluation) throws(WireDecodingError) {
        loss = c.loss
        perplexity = c.perplexity
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__Evaluation> {
        let m = arena.message(cuentista__v1__evaluation__init)
        m.pointee.loss = loss
        m.pointee.perplexity = perplexity
        return m
    }
}

extension JobRequest: CMessage {
    init(c: Cuentista__V1__JobRequest) throws(WireDecodingError) {
        version = try ProtocolVersion(c: c.version, field: "JobRequest.version")
        switch c.request_case {
        case CUENTISTA__V1__JOB_REQUEST__REQUEST_SUBMIT: request = .submit(try swiftMessage(c.submit))
        case CUENTISTA__V1__JOB_REQUEST__REQUEST_STATUS: request = .status(swiftString(c.status))
        case CUENTISTA__V1__JOB_REQUEST__REQUEST_CANCEL: request = .cancel(swiftString(c.cancel))
        case CUENTISTA__V1__JOB_REQUEST__REQUEST_FOLLOW: request = .follow(swiftString(c.follow))
        case CUENTISTA__V1__JOB_REQUEST__REQUEST_LIST: request = .list(swiftBool(c.list))
        default: request = nil
        }
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__JobRequest> {
        let m = arena.message(cuentista__v1__job_request__init)
        m.pointee.version = version.c()
        switch request {
        case .submit(let value):
            m.pointee.request_case = CUENTISTA__V1__JOB_REQUEST__REQUEST_SUBMIT
            m.pointee.submit = value.c(in: arena)
        case .status(let jobId):
            m.pointee.request_case = CUENTISTA__V1__JOB_REQUEST__REQUEST_STATUS
            m.pointee.status = arena.string(jobId)
        case .cancel(let jobId):
            m.pointee.request_case = CUENTISTA__V1__JOB_REQUEST__REQUEST_CANCEL
            m.pointee.cancel = arena.string(jobId)
        case .follow(let jobId):
            m.pointee.request_case = CUENTISTA__V1__JOB_REQUEST__REQUEST_FOLLOW
            m.pointee.follow = arena.string(jobId)
        case .list(let list):
            m.pointee.request_case = CUENTISTA__V1__JOB_REQUEST__REQUEST_LIST
            m.pointee.list = cBool(list)
        case nil:
            break
        }
        return m
    }
}

extension JobReply: CMessage {
    init(c: Cuentista__V1__JobReply) throws(WireDecodingError) {
        switch c.reply_case {
        case CUENTISTA__V1__JOB_REPLY__REPLY_ERROR: reply = .error(try swiftMessage(c.error))
        case CUENTISTA__V1__JOB_REPLY__REPLY_STATUS: reply = .status(try swiftMessage(c.status))
        case CUENTISTA__V1__JOB_REPLY__REPLY_PROGRESS: reply = .progress(try swiftMessage(c.progress))
        case CUENTISTA__V1__JOB_REPLY__REPLY_LIST: reply = .list(try swiftMessage(c.list))
        default: reply = nil
        }
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__JobReply> {
        let m = arena.message(cuentista__v1__job_reply__init)
        switch reply {
        case .error(let value):
            m.pointee.reply_case = CUENTISTA__V1__JOB_REPLY__REPLY_ERROR
            m.pointee.error = value.c(in: arena)
        case .status(let value):
            m.pointee.reply_case = CUENTISTA__V1__JOB_REPLY__REPLY_STATUS
            m.pointee.status = value.c(in: arena)
        case .progress(let value):
            m.pointee.reply_case = CUENTISTA__V1__JOB_REPLY__REPLY_PROGRESS
            m.pointee.progress = value.c(in: arena)
        case .list(let value):
            m.pointee.reply_case = CUENTISTA__V1__JOB_REPLY__REPLY_LIST
            m.pointee.list = value.c(in: arena)
        case nil:
            break
        }
        return m
    }
}

extension JobList: CMessage {
    init(c: Cuentista__V1__JobList) throws(WireDecodingError) {
        jobs = try swiftMessages(c.n_jobs, c.jobs)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__JobList> {
        let m = arena.message(cuentista__v1__job_list__init)
        (m.pointee.n_jobs, m.pointee.jobs) = arena.messages(jobs)
        return m
    }
}

extension JobAssignment: CMessage {
    init(c: Cuentista__V1__JobAssignment) throws(WireDecodingError) {
        version = try ProtocolVersion(c: c.version, field: "JobAssignment.version")
        jobId = swiftString(c.job_id)
        attempt = c.attempt
        resume = swiftBool(c.resume)
        switch c.action_case {
        case CUENTISTA__V1__JOB_ASSIGNMENT__ACTION_RUN: action = .run(try swiftMessage(c.run))
        case CUENTISTA__V1__JOB_ASSIGNMENT__ACTION_CANCEL: action = .cancel(swiftBool(c.cancel))
        default: action = nil
        }
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__JobAssignment> {
        let m = arena.message(cuentista__v1__job_assignment__init)
        m.pointee.version = version.c()
        m.pointee.job_id = arena.string(jobId)
        m.pointee.attempt = attempt
        m.pointee.resume = cBool(resume)
        switch action {
        case .run(let value):
            m.pointee.action_case = CUENTISTA__V1__JOB_ASSIGNMENT__ACTION_RUN
            m.pointee.run = value.c(in: arena)
        case .cancel(let cancel):
            m.pointee.action_case = CUENTISTA__V1__JOB_ASSIGNMENT__ACTION_CANCEL
            m.pointee.cancel = cBool(cancel)
        case nil:
            break
        }
        return m
    }
}

// MARK: Wire messages

extension JobRequest: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__job_request__descriptor, cuentista__v1__job_request__unpack, cuentista__v1__job_request__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__job_request__get_packed_size, cuentista__v1__job_request__pack)
    }
}

extension JobReply: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__job_reply__descriptor, cuentista__v1__job_reply__unpack, cuentista__v1__job_reply__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__job_reply__get_packed_size, cuentista__v1__job_reply__pack)
    }
}

extension JobAssignment: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__job_assignment__descriptor, cuentista__v1__job_assignment__unpack, cuentista__v1__job_assignment__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__job_assignment__get_packed_size, cuentista__v1__job_assignment__pack)
    }
}

extension JobSubmit: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__job_submit__descriptor, cuentista__v1__job_submit__unpack, cuentista__v1__job_submit__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__job_submit__get_packed_size, cuentista__v1__job_submit__pack)
    }
}

extension JobStatus: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__job_status__descriptor, cuentista__v1__job_status__unpack, cuentista__v1__job_status__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__job_status__get_packed_size, cuentista__v1__job_status__pack)
    }
}

extension JobProgress: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__job_progress__descriptor, cuentista__v1__job_progress__unpack, cuentista__v1__job_progress__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__job_progress__get_packed_size, cuentista__v1__job_progress__pack)
    }
}
