extension LabelSelector {
    /// Why a selector text (`?labelSelector=`) was refused.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Parses the text form of a selector, as kubectl sends it:
    /// `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`,
    /// comma-separated and AND-ed. `a!=b` also matches objects without `a`.
    public static func parse(_ text: String) throws(ParseError) -> LabelSelector {
        var labels: [String: String] = [:]
        var expressions: [LabelSelectorRequirement] = []
        for clause in try splitClauses(text) {
            let clause = clause.trimmingCharacters(in: .whitespaces)
            if clause.isEmpty { continue }
            if clause.hasPrefix("!") {
                expressions.append(LabelSelectorRequirement(key: try key(String(clause.dropFirst())), operator: .doesNotExist, values: nil))
            } else if let range = clause.range(of: " notin ") ?? clause.range(of: " in ") {
                let isNot = clause[range].contains("notin")
                let rest = clause[range.upperBound...].trimmingCharacters(in: .whitespaces)
                guard rest.hasPrefix("("), rest.hasSuffix(")") else { throw ParseError(message: "unable to parse requirement: \(clause): expected a list of values in parentheses") }
                let values = rest.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                expressions.append(LabelSelectorRequirement(key: try key(String(clause[..<range.lowerBound])),
                                                            operator: isNot ? .notIn : .in, values: values))
            } else if let range = clause.range(of: "!=") {
                expressions.append(LabelSelectorRequirement(key: try key(String(clause[..<range.lowerBound])), operator: .notIn,
                                                            values: [clause[range.upperBound...].trimmingCharacters(in: .whitespaces)]))
            } else if let range = clause.range(of: "==") ?? clause.range(of: "=") {
                labels[try key(String(clause[..<range.lowerBound]))] = clause[range.upperBound...].trimmingCharacters(in: .whitespaces)
            } else {
                expressions.append(LabelSelectorRequirement(key: try key(clause), operator: .exists, values: nil))
            }
        }
        return LabelSelector(matchLabels: labels.isEmpty ? nil : labels, matchExpressions: expressions.isEmpty ? nil : expressions)
    }

    private static func key(_ text: String) throws(ParseError) -> String {
        let key = text.trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty, key.count <= 317, !key.contains(where: { $0 == " " || $0 == "(" || $0 == ")" }) else {
            throw ParseError(message: "invalid label key \"\(key)\"")
        }
        return key
    }

    /// Splits on commas outside parentheses.
    private static func splitClauses(_ text: String) throws(ParseError) -> [String] {
        var clauses: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            switch character {
            case "(": depth += 1; current.append(character)
            case ")":
                depth -= 1
                guard depth >= 0 else { throw ParseError(message: "unbalanced parentheses in \"\(text)\"") }
                current.append(character)
            case "," where depth == 0: clauses.append(current); current = ""
            default: current.append(character)
            }
        }
        guard depth == 0 else { throw ParseError(message: "unbalanced parentheses in \"\(text)\"") }
        clauses.append(current)
        return clauses
    }
}
