/// JSON Patch (RFC 6902), the body of `application/json-patch+json`
/// requests such as `kubectl patch --type=json`.
extension JSONValue {
    /// The deepest nesting of arrays and objects a patch may produce: the
    /// same limit Foundation's JSON parser enforces, so a patched object can
    /// always be read back, and recursive code (==, encoding, deinit) never
    /// meets a value deep enough to exhaust the stack.
    public static let maximumPatchedDepth = 512

    /// This value with the RFC 6902 `operations` applied in order. The patch
    /// is atomic: on any error nothing is applied and the error names the
    /// failing operation.
    public func applyingJSONPatch(_ operations: JSONValue) throws(JSONPatchError) -> JSONValue {
        guard case .array(let list) = operations else {
            throw JSONPatchError(code: .notAnArrayOfOperations,
                                 reason: "a JSON patch must be an array of operations, not \(operations.kindName)")
        }
        var document = self
        var depthBound = nestingDepth(limit: Self.maximumPatchedDepth)
        for (index, rawOperation) in list.enumerated() {
            let operation = try PatchOperation(rawOperation, index: index)
            do {
                try document.apply(operation, depthBound: &depthBound)
            } catch {
                throw JSONPatchError(code: error.code, operationIndex: index, op: operation.op.rawValue,
                                     path: error.aboutFrom ? operation.fromText : operation.pathText,
                                     reason: error.reason)
            }
        }
        return document
    }

    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A failure inside one operation, before the operation's context is added.
private struct PatchFailure: Error {
    var code: JSONPatchError.Code
    var reason: String
    var aboutFrom = false
}

/// One checked operation of a patch.
private struct PatchOperation {
    enum Op: String {
        case add, remove, replace, move, copy, test
    }

    var op: Op
    var path: JSONPointer
    var pathText: String
    var from: JSONPointer?
    var fromText: String?
    var value: JSONValue?

    init(_ raw: JSONValue, index: Int) throws(JSONPatchError) {
        func malformed(_ reason: String, op: String? = nil, path: String? = nil) -> JSONPatchError {
            JSONPatchError(code: .malformedOperation, operationIndex: index, op: op, path: path, reason: reason)
        }
        guard case .object(let members) = raw else {
            throw malformed("an operation must be an object, not \(raw.kindName)")
        }
        guard let rawOp = members["op"] else { throw malformed("missing \"op\"") }
        guard case .string(let opText) = rawOp else {
            throw malformed("\"op\" must be a string, not \(rawOp.kindName)")
        }
        guard let op = Op(rawValue: opText) else {
            throw malformed("unknown op \"\(opText)\"; expected add, remove, replace, move, copy or test", op: opText)
        }
        guard let rawPath = members["path"] else { throw malformed("missing \"path\"", op: opText) }
        guard case .string(let pathText) = rawPath else {
            throw malformed("\"path\" must be a string, not \(rawPath.kindName)", op: opText)
        }
        do {
            path = try JSONPointer(pathText)
        } catch {
            throw JSONPatchError(code: .invalidPointer, operationIndex: index, op: opText, path: pathText,
                                 reason: error.reason)
        }
        self.op = op
        self.pathText = pathText

        switch op {
        case .add, .replace, .test:
            // A present null is a value; only an absent member is an error.
            guard let value = members["value"] else {
                throw malformed("missing \"value\"", op: opText, path: pathText)
            }
            self.value = value
        case .move, .copy:
            guard let rawFrom = members["from"] else { throw malformed("missing \"from\"", op: opText, path: pathText) }
            guard case .string(let fromText) = rawFrom else {
                throw malformed("\"from\" must be a string, not \(rawFrom.kindName)", op: opText, path: pathText)
            }
            do {
                from = try JSONPointer(fromText)
            } catch {
                throw JSONPatchError(code: .invalidPointer, operationIndex: index, op: opText, path: fromText,
                                     reason: "from: " + error.reason)
            }
            self.fromText = fromText
        case .remove:
            break
        }
    }
}

extension JSONValue {
    private mutating func apply(_ operation: PatchOperation, depthBound: inout Int) throws(PatchFailure) {
        let tokens = operation.path.tokens[...]
        switch operation.op {
        case .add:
            let value = operation.value ?? .null
            try Self.checkDepth(of: value, at: tokens.count, depthBound: &depthBound, knownDepth: nil)
            try add(value, at: tokens)
        case .remove:
            _ = try remove(at: tokens)
        case .replace:
            let value = operation.value ?? .null
            try Self.checkDepth(of: value, at: tokens.count, depthBound: &depthBound, knownDepth: nil)
            try modify(at: tokens) { (target: inout JSONValue) throws(PatchFailure) in target = value }
        case .test:
            let expected = operation.value ?? .null
            let actual = try value(at: tokens)
            guard actual.isJSONEqual(to: expected) else {
                throw PatchFailure(code: .testFailed,
                                   reason: "found \(Self.excerpt(actual)), expected \(Self.excerpt(expected))")
            }
        case .copy:
            let fromTokens = (operation.from ?? JSONPointer(tokens: []))
            let value: JSONValue
            do {
                value = try self.value(at: fromTokens.tokens[...])
            } catch {
                throw PatchFailure(code: error.code, reason: "from: " + error.reason, aboutFrom: true)
            }
            try Self.checkDepth(of: value, at: tokens.count, depthBound: &depthBound,
                                knownDepth: depthBound - fromTokens.tokens.count)
            try add(value, at: tokens)
        case .move:
            let fromTokens = (operation.from ?? JSONPointer(tokens: [])).tokens
            if fromTokens == operation.path.tokens {
                _ = try value(at: tokens)
                return
            }
            if fromTokens.count < tokens.count && Array(tokens.prefix(fromTokens.count)) == fromTokens {
                throw PatchFailure(code: .malformedOperation, reason: "cannot move a value into one of its own children")
            }
            let value: JSONValue
            do {
                value = try remove(at: fromTokens[...])
            } catch {
                throw PatchFailure(code: error.code, reason: "from: " + error.reason, aboutFrom: true)
            }
            try Self.checkDepth(of: value, at: tokens.count, depthBound: &depthBound,
                                knownDepth: depthBound - fromTokens.count)
            try add(value, at: tokens)
        }
    }

    /// Refuses a value that would end up nested deeper than
    /// `maximumPatchedDepth`. `knownDepth` is an upper bound for values taken
    /// from the document, so the common case costs no walk.
    private static func checkDepth(of value: JSONValue, at pathLength: Int, depthBound: inout Int,
                                   knownDepth: Int?) throws(PatchFailure) {
        let limit = maximumPatchedDepth
        var depth = knownDepth.map { max($0, 0) } ?? value.nestingDepth(limit: limit)
        if pathLength + depth > limit && knownDepth != nil {
            depth = value.nestingDepth(limit: limit)
        }
        guard pathLength + depth <= limit else {
            throw PatchFailure(code: .tooDeep,
                               reason: "the result would nest arrays and objects more than \(limit) levels deep")
        }
        depthBound = max(depthBound, pathLength + depth)
    }

    private static func excerpt(_ value: JSONValue) -> String {
        let text = value.compactJSONText
        return text.count > 80 ? String(text.prefix(77)) + "..." : text
    }

    /// The value at `tokens`, with a precise failure when there is none.
    private func value(at tokens: ArraySlice<String>) throws(PatchFailure) -> JSONValue {
        var current = self
        for token in tokens {
            current = try current.child(token)
        }
        return current
    }

    private func child(_ token: String) throws(PatchFailure) -> JSONValue {
        switch self {
        case .object(let object):
            guard let value = object[token] else {
                throw PatchFailure(code: .pathNotFound, reason: "no member \"\(token)\"")
            }
            return value
        case .array(let array):
            return array[try Self.existingIndex(token, count: array.count)]
        default:
            throw PatchFailure(code: .pathNotFound, reason: "cannot look up \"\(token)\" in \(kindName)")
        }
    }

    private static func existingIndex(_ token: String, count: Int) throws(PatchFailure) -> Int {
        switch JSONPointer.arrayPosition(token) {
        case .index(let index) where index < count:
            return index
        case .index, .tooLarge:
            throw PatchFailure(code: .indexOutOfRange, reason: "index \(token) is out of range for an array of \(count)")
        case .end:
            throw PatchFailure(code: .indexOutOfRange, reason: "\"-\" names no existing element")
        case .invalid:
            throw PatchFailure(code: .invalidArrayIndex, reason: "\"\(token)\" is not an array index")
        }
    }

    /// Runs `body` on the value at `tokens` in place. On a throw the value may
    /// be left half-modified; callers work on a copy they then discard.
    private mutating func modify(at tokens: ArraySlice<String>,
                                 _ body: (inout JSONValue) throws(PatchFailure) -> Void) throws(PatchFailure) {
        guard let token = tokens.first else {
            try body(&self)
            return
        }
        let rest = tokens.dropFirst()
        switch self {
        case .object(var object):
            guard var value = object[token] else {
                throw PatchFailure(code: .pathNotFound, reason: "no member \"\(token)\"")
            }
            // Drop the other references so the child is mutated without a copy.
            self = .null
            object[token] = .null
            try value.modify(at: rest, body)
            object[token] = value
            self = .object(object)
        case .array(var array):
            let index = try Self.existingIndex(token, count: array.count)
            self = .null
            var value = array[index]
            array[index] = .null
            try value.modify(at: rest, body)
            array[index] = value
            self = .array(array)
        default:
            throw PatchFailure(code: .pathNotFound, reason: "cannot look up \"\(token)\" in \(kindName)")
        }
    }

    private mutating func add(_ value: JSONValue, at tokens: ArraySlice<String>) throws(PatchFailure) {
        guard let last = tokens.last else {
            self = value
            return
        }
        try modify(at: tokens.dropLast()) { (parent: inout JSONValue) throws(PatchFailure) in
            switch parent {
            case .object(var object):
                parent = .null
                object[last] = value
                parent = .object(object)
            case .array(var array):
                let index: Int
                switch JSONPointer.arrayPosition(last) {
                case .end:
                    index = array.count
                case .index(let position) where position <= array.count:
                    index = position
                case .index, .tooLarge:
                    throw PatchFailure(code: .indexOutOfRange,
                                       reason: "index \(last) is out of range for an array of \(array.count)")
                case .invalid:
                    throw PatchFailure(code: .invalidArrayIndex, reason: "\"\(last)\" is not an array index")
                }
                parent = .null
                array.insert(value, at: index)
                parent = .array(array)
            default:
                throw PatchFailure(code: .pathNotFound, reason: "cannot add \"\(last)\" to \(parent.kindName)")
            }
        }
    }

    /// Removes and returns the value at `tokens`.
    private mutating func remove(at tokens: ArraySlice<String>) throws(PatchFailure) -> JSONValue {
        guard let last = tokens.last else {
            throw PatchFailure(code: .malformedOperation, reason: "cannot remove the whole document")
        }
        var removed = JSONValue.null
        try modify(at: tokens.dropLast()) { (parent: inout JSONValue) throws(PatchFailure) in
            switch parent {
            case .object(var object):
                guard let value = object[last] else {
                    throw PatchFailure(code: .pathNotFound, reason: "no member \"\(last)\"")
                }
                removed = value
                parent = .null
                object[last] = nil
                parent = .object(object)
            case .array(var array):
                let index = try Self.existingIndex(last, count: array.count)
                parent = .null
                removed = array.remove(at: index)
                parent = .array(array)
            default:
                throw PatchFailure(code: .pathNotFound, reason: "cannot remove \"\(last)\" from \(parent.kindName)")
            }
        }
        return removed
    }
}
