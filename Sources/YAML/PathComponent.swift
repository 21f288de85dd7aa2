/// One step from a value to one of its children: a mapping key or a sequence index.
public enum PathComponent: Hashable, Sendable, CustomStringConvertible {
    case key(String)
    case index(Int)

    /// Splits a field path as validation errors write it, e.g.
    /// `spec.routes[3].destination`, into its steps. Keys that themselves
    /// contain '.' or '[' cannot be told apart in this form.
    public static func components(of path: String) -> [PathComponent] {
        var result: [PathComponent] = []
        for part in path.split(separator: ".", omittingEmptySubsequences: true) {
            var rest = part[...]
            if let bracket = rest.firstIndex(of: "[") {
                if bracket > rest.startIndex { result.append(.key(String(rest[..<bracket]))) }
                rest = rest[bracket...]
                while rest.first == "[", let close = rest.firstIndex(of: "]") {
                    let inside = rest[rest.index(after: rest.startIndex)..<close]
                    if let index = Int(inside) { result.append(.index(index)) } else { result.append(.key(String(inside))) }
                    rest = rest[rest.index(after: close)...]
                }
                if !rest.isEmpty { result.append(.key(String(rest))) }
            } else {
                result.append(.key(String(rest)))
            }
        }
        return result
    }

    public var description: String {
        switch self {
        case .key(let key): return key
        case .index(let index): return "[\(index)]"
        }
    }
}
