import JSONValue

/// Measures how deep a JSON value nests without recursion, so that a
/// hostile document cannot exhaust the stack.
enum ValueDepth {
    enum Step {
        case key(String)
        case index(Int)
    }

    /// The path to, and the value of, the first node found more than `limit`
    /// levels below the top (the top's members are at level 1); nil when the
    /// whole value is shallow enough.
    static func firstNodeBeyond(_ limit: Int, in value: JSONValue) -> ([Step], JSONValue)? {
        struct Frame {
            var children: [(Step, JSONValue)]
            var next = 0
            var step: Step?
        }
        guard let top = children(of: value) else { return nil }
        var stack = [Frame(children: top)]
        while let frame = stack.last {
            guard frame.next < frame.children.count else {
                stack.removeLast()
                continue
            }
            let (step, child) = frame.children[frame.next]
            stack[stack.count - 1].next += 1
            // The child sits at level stack.count.
            if stack.count > limit {
                return (stack.compactMap(\.step) + [step], child)
            }
            if let grandchildren = children(of: child), !grandchildren.isEmpty {
                stack.append(Frame(children: grandchildren, step: step))
            }
        }
        return nil
    }

    private static func children(of value: JSONValue) -> [(Step, JSONValue)]? {
        switch value {
        case .array(let elements): return elements.enumerated().map { (.index($0.offset), $0.element) }
        case .object(let object): return object.map { (.key($0.key), $0.value) }
        default: return nil
        }
    }

    /// `base` followed by the steps, in Kubernetes' field path style.
    static func render(_ steps: [Step], after base: String) -> String {
        var path = base
        for step in steps {
            switch step {
            case .key(let key): path = joined(path, key)
            case .index(let index): path += "[\(index)]"
            }
        }
        return path
    }
}
