import CProtos

// generation.proto: conversions to and from the protobuf-c structs, and the messages sent alone.

extension GenerationParameters: CMessage {
    init(c: Cuentista__V1__GenerationParameters) throws(WireDecodingError) {
        strategy = try Strategy(c: c.strategy, field: "GenerationParameters.strategy")
        maxNewTokens = c.max_new_tokens
        minNewTokens = c.min_new_tokens
        temperature = c.temperature
        topK = c.top_k
        topP = c.top_p
        minP = c.min_p
        typicalP = c.typical_p
        repetitionPenalty = c.repetition_penalty
        presencePenalty = c.presence_penalty
        frequencyPenalty = c.frequency_penalty
        noRepeatNgramSize = c.no_repeat_ngram_size
        var bias: [UInt32: Float] = [:]
        // A repeated key keeps its last value, as proto maps do.
        for entry in swiftArray(c.n_logit_bias, c.logit_bias) {
            guard let entry else { throw .malformed(type: "GenerationParameters.logit_bias") }
            bias[entry.pointee.key] = entry.pointee.value
        }
        logitBias = bias
        epsilon = c.epsilon_value_case == CUENTISTA__V1__GENERATION_PARAMETERS__EPSILON_VALUE_EPSILON ? c.epsilon : nil
        stop = swiftStrings(c.n_stop, c.stop)
        n = c.n
        seed = c.seed
        traceTop = c.trace_top
        ignoreEos = swiftBool(c.ignore_eos)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__GenerationParameters> {
        let m = arena.message(cuentista__v1__generation_parameters__init)
        m.pointee.strategy = strategy.c()
        m.pointee.max_new_tokens = maxNewTokens
        m.pointee.min_new_tokens = minNewTokens
        m.pointee.temperature = temperature
        m.pointee.top_k = topK
        m.pointee.top_p = topP
        m.pointee.min_p = minP
        m.pointee.typical_p = typicalP
        m.pointee.repetition_penalty = repetitionPenalty
        m.pointee.presence_penalty = presencePenalty
        m.pointee.frequency_penalty = frequencyPenalty
        m.pointee.no_repeat_ngram_size = noRepeatNgramSize
        // Sorted so that equal values always encode to equal bytes.
        let entries = logitBias.sorted { $0.key < $1.key }.map { key, value in
            let entry = arena.message(cuentista__v1__generation_parameters__logit_bias_entry__init)
            entry.pointee.key = key
            entry.pointee.value = value
            return Optional(entry)
        }
        (m.pointee.n_logit_bias, m.pointee.logit_bias) = arena.array(entries)
        if let epsilon {
            m.pointee.epsilon_value_case = CUENTISTA__V1__GENERATION_PARAMETERS__EPSILON_VALUE_EPSILON
            m.pointee.epsilon = epsilon
        }
        (m.pointee.n_stop, m.pointee.stop) = arena.strings(stop)
        m.pointee.n = n
        m.pointee.seed = seed
        m.pointee.trace_top = traceTop
        m.pointee.ignore_eos = cBool(ignoreEos)
        return m
    }
}

extension GenerateRequest: CMessage {
    init(c: Cuentista__V1__GenerateRequest) throws(WireDecodingError) {
        version = try ProtocolVersion(c: c.version, field: "GenerateRequest.version")
        requestId = swiftString(c.request_id)
        model = swiftString(c.model)
        switch c.prompt_case {
        case CUENTISTA__V1__GENERATE_REQUEST__PROMPT_TEXT: prompt = .text(swiftString(c.text))
        case CUENTISTA__V1__GENERATE_REQUEST__PROMPT_TOKENS: prompt = .tokens(try swiftMessage(c.tokens))
        default: prompt = nil
        }
        parameters = try swiftOptionalMessage(c.parameters)
        queueDeadlineMs = c.queue_deadline_ms
        generationDeadlineMs = c.generation_deadline_ms
        stream = swiftBool(c.stream)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__GenerateRequest> {
        let m = arena.message(cuentista__v1__generate_request__init)
        m.pointee.version = version.c()
        m.pointee.request_id = arena.string(requestId)
        m.pointee.model = arena.string(model)
        switch prompt {
        case .text(let text):
            m.pointee.prompt_case = CUENTISTA__V1__GENERATE_REQUEST__PROMPT_TEXT
            m.pointee.text = arena.string(text)
        case .tokens(let tokens):
            m.pointee.prompt_case = CUENTISTA__V1__GENERATE_REQUEST__PROMPT_TOKENS
            m.pointee.tokens = tokens.c(in: arena)
        case nil:
            break
        }
        m.pointee.parameters = parameters?.c(in: arena)
        m.pointee.queue_deadline_ms = queueDeadlineMs
        m.pointee.generation_deadline_ms = generationDeadlineMs
        m.pointee.stream = cBool(stream)
        return m
    }
}

extension TokenIds: CMessage {
    init(c: Cuentista__V1__TokenIds) throws(WireDecodingError) {
        ids = swiftArray(c.n_ids, c.ids)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__TokenIds> {
        let m = arena.message(cuentista__v1__token_ids__init)
        (m.pointee.n_ids, m.pointee.ids) = arena.array(ids)
        return m
    }
}

extension CancelRequest: CMessage {
    init(c: Cuentista__V1__CancelRequest) throws(WireDecodingError) {
        version = try ProtocolVersion(c: c.version, field: "CancelRequest.version")
        requestId = swiftString(c.request_id)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__CancelRequest> {
        let m = arena.message(cuentista__v1__cancel_request__init)
        m.pointee.version = version.c()
        m.pointee.request_id = arena.string(requestId)
        return m
    }
}

extension Candidate: CMessage {
    init(c: Cuentista__V1__Candidate) throws(WireDecodingError) {
        token = c.token
        probability = c.probability
        processedProbability = c.processed_probability
        text = swiftString(c.text)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__Candidate> {
        let m = arena.message(cuentista__v1__candidate__init)
        m.pointee.token = token
        m.pointee.probability = probability
        m.pointee.processed_probability = processedProbability
        m.pointee.text = arena.string(text)
        return m
    }
}

extension TraceStep: CMessage {
    init(c: Cuentista__V1__TraceStep) throws(WireDecodingError) {
        step = c.step
        candidates = try swiftMessages(c.n_candidates, c.candidates)
        chosen = c.chosen
        chosenRank = c.chosen_rank
        chosenLogProbability = c.chosen_log_probability
        tookArgmax = swiftBool(c.took_argmax)
        chosenText = swiftString(c.chosen_text)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__TraceStep> {
        let m = arena.message(cuentista__v1__trace_step__init)
        m.pointee.step = step
        (m.pointee.n_candidates, m.pointee.candidates) = arena.messages(candidates)
        m.pointee.chosen = chosen
        m.pointee.chosen_rank = chosenRank
        m.pointee.chosen_log_probability = chosenLogProbability
        m.pointee.took_argmax = cBool(tookArgmax)
        m.pointee.chosen_text = arena.string(chosenText)
        return m
    }
}

extension TokenEvent: CMessage {
    init(c: Cuentista__V1__TokenEvent) throws(WireDecodingError) {
        completion = c.completion
        token = c.token
        tokenBytes = swiftBytes(c.token_bytes)
        text = swiftString(c.text)
        trace = try swiftOptionalMessage(c.trace)
        textOnly = c.text_only != 0
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__TokenEvent> {
        let m = arena.message(cuentista__v1__token_event__init)
        m.pointee.completion = completion
        m.pointee.token = token
        m.pointee.token_bytes = arena.bytes(tokenBytes)
        m.pointee.text = arena.string(text)
        m.pointee.trace = trace?.c(in: arena)
        m.pointee.text_only = textOnly ? 1 : 0
        return m
    }
}

extension Completion: CMessage {
    init(c: Cuentista__V1__Completion) throws(WireDecodingError) {
        index = c.index
        tokens = swiftArray(c.n_tokens, c.tokens)
        text = swiftString(c.text)
        finishReason = try FinishReason(c: c.finish_reason, field: "Completion.finish_reason")
        trace = try swiftMessages(c.n_trace, c.trace)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__Completion> {
        let m = arena.message(cuentista__v1__completion__init)
        m.pointee.index = index
        (m.pointee.n_tokens, m.pointee.tokens) = arena.array(tokens)
        m.pointee.text = arena.string(text)
        m.pointee.finish_reason = finishReason.c()
        (m.pointee.n_trace, m.pointee.trace) = arena.messages(trace)
        return m
    }
}

extension GenerateFinal: CMessage {
    init(c: Cuentista__V1__GenerateFinal) throws(WireDecodingError) {
        completions = try swiftMessages(c.n_completions, c.completions)
        promptTokens = c.prompt_tokens
        generatedTokens = c.generated_tokens
        queueMs = c.queue_ms
        timeToFirstTokenMs = c.time_to_first_token_ms
        totalMs = c.total_ms
        model = swiftString(c.model)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__GenerateFinal> {
        let m = arena.message(cuentista__v1__generate_final__init)
        (m.pointee.n_completions, m.pointee.completions) = arena.messages(completions)
        m.pointee.prompt_tokens = promptTokens
        m.pointee.generated_tokens = generatedTokens
        m.pointee.queue_ms = queueMs
        m.pointee.time_to_first_token_ms = timeToFirstTokenMs
        m.pointee.total_ms = totalMs
        m.pointee.model = arena.string(model)
        return m
    }
}

extension GenerateEvent: CMessage {
    init(c: Cuentista__V1__GenerateEvent) throws(WireDecodingError) {
        switch c.event_case {
        case CUENTISTA__V1__GENERATE_EVENT__EVENT_ERROR: event = .error(try swiftMessage(c.error))
        case CUENTISTA__V1__GENERATE_EVENT__EVENT_TOKEN: event = .token(try swiftMessage(c.token))
        case CUENTISTA__V1__GENERATE_EVENT__EVENT_FINAL: event = .final(try swiftMessage(c.final))
        case CUENTISTA__V1__GENERATE_EVENT__EVENT_MODEL: event = .model(try swiftMessage(c.model))
        default: event = nil
        }
        requestId = swiftString(c.request_id)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__GenerateEvent> {
        let m = arena.message(cuentista__v1__generate_event__init)
        switch event {
        case .error(let value):
            m.pointee.event_case = CUENTISTA__V1__GENERATE_EVENT__EVENT_ERROR
            m.pointee.error = value.c(in: arena)
        case .token(let value):
            m.pointee.event_case = CUENTISTA__V1__GENERATE_EVENT__EVENT_TOKEN
            m.pointee.token = value.c(in: arena)
        case .final(let value):
            m.pointee.event_case = CUENTISTA__V1__GENERATE_EVENT__EVENT_FINAL
            m.pointee.final = value.c(in: arena)
        case .model(let value):
            m.pointee.event_case = CUENTISTA__V1__GENERATE_EVENT__EVENT_MODEL
            m.pointee.model = value.c(in: arena)
        case nil:
            break
        }
        m.pointee.request_id = arena.string(requestId)
        return m
    }
}

extension SwitchModelRequest: CMessage {
    init(c: Cuentista__V1__SwitchModelRequest) throws(WireDecodingError) {
        version = try ProtocolVersion(c: c.version, field: "SwitchModelRequest.version")
        model = swiftString(c.model)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__SwitchModelRequest> {
        let m = arena.message(cuentista__v1__switch_model_request__init)
        m.pointee.version = version.c()
        m.pointee.model = arena.string(model)
        return m
    }
}

extension ModelInfo: CMessage {
    init(c: Cuentista__V1__ModelInfo) throws(WireDecodingError) {
        model = swiftString(c.model)
        parameters = c.parameters
        context = c.context
        vocabSize = c.vocab_size
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__ModelInfo> {
        let m = arena.message(cuentista__v1__model_info__init)
        m.pointee.model = arena.string(model)
        m.pointee.parameters = parameters
        m.pointee.context = context
        m.pointee.vocab_size = vocabSize
        return m
    }
}

extension GeneratorCall: CMessage {
    init(c: Cuentista__V1__GeneratorCall) throws(WireDecodingError) {
        switch c.call_case {
        case CUENTISTA__V1__GENERATOR_CALL__CALL_GENERATE: call = .generate(try swiftMessage(c.generate))
        case CUENTISTA__V1__GENERATOR_CALL__CALL_CANCEL: call = .cancel(try swiftMessage(c.cancel))
        case CUENTISTA__V1__GENERATOR_CALL__CALL_SWITCH_MODEL: call = .switchModel(try swiftMessage(c.switch_model))
        default: call = nil
        }
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__GeneratorCall> {
        let m = arena.message(cuentista__v1__generator_call__init)
        switch call {
        case .generate(let value):
            m.pointee.call_case = CUENTISTA__V1__GENERATOR_CALL__CALL_GENERATE
            m.pointee.generate = value.c(in: arena)
        case .cancel(let value):
            m.pointee.call_case = CUENTISTA__V1__GENERATOR_CALL__CALL_CANCEL
            m.pointee.cancel = value.c(in: arena)
        case .switchModel(let value):
            m.pointee.call_case = CUENTISTA__V1__GENERATOR_CALL__CALL_SWITCH_MODEL
            m.pointee.switch_model = value.c(in: arena)
        case nil:
            break
        }
        return m
    }
}

// MARK: Wire messages

extension GeneratorCall: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__generator_call__descriptor, cuentista__v1__generator_call__unpack, cuentista__v1__generator_call__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__generator_call__get_packed_size, cuentista__v1__generator_call__pack)
    }
}

extension GenerateRequest: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__generate_request__descriptor, cuentista__v1__generate_request__unpack, cuentista__v1__generate_request__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__generate_request__get_packed_size, cuentista__v1__generate_request__pack)
    }
}

extension GenerateEvent: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__generate_event__descriptor, cuentista__v1__generate_event__unpack, cuentista__v1__generate_event__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__generate_event__get_packed_size, cuentista__v1__generate_event__pack)
    }
}

extension CancelRequest: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__cancel_request__descriptor, cuentista__v1__cancel_request__unpack, cuentista__v1__cancel_request__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__cancel_request__get_packed_size, cuentista__v1__cancel_request__pack)
    }
}

extension SwitchModelRequest: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__switch_model_request__descriptor, cuentista__v1__switch_model_request__unpack, cuentista__v1__switch_model_request__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__switch_model_request__get_packed_size, cuentista__v1__switch_model_request__pack)
    }
}
