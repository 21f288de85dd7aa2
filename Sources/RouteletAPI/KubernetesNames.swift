/// Kubernetes' syntax rules for names, label keys and label values
/// (k8s.io/apimachinery/pkg/util/validation), as messages for users.
enum KubernetesNames {
    static let subdomainMaxLength = 253
    static let labelMaxLength = 63

    /// nil when `text` is a DNS-1123 subdomain: lowercase alphanumeric labels
    /// joined by '.', inner '-' allowed, at most 253 characters.
    static func subdomainProblem(_ text: String) -> String? {
        if text.utf8.count > subdomainMaxLength {
            return "is \(text.utf8.count) characters long; at most \(subdomainMaxLength) are allowed"
        }
        let labels = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        let valid = !text.isEmpty && labels.allSatisfy { label in
            guard let first = label.first, let last = label.last,
                  isLowerAlphanumeric(first), isLowerAlphanumeric(last) else { return false }
            return label.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
        if valid { return nil }
        return "must consist of lowercase letters, digits, '-' and '.', and start and end with a letter or digit"
    }

    /// nil when `text` is a DNS-1123 label (a namespace name): lowercase
    /// alphanumerics and inner '-', at most 63 characters.
    static func labelNameProblem(_ text: String) -> String? {
        if text.utf8.count > labelMaxLength {
            return "is \(text.utf8.count) characters long; at most \(labelMaxLength) are allowed"
        }
        if isLowerLabel(text.utf8, letterFirst: false) { return nil }
        return "must consist of lowercase letters, digits and '-', and start and end with a letter or digit"
    }

    /// nil when `text` is a DNS-1035 label (a Service name): like a DNS-1123
    /// label, but starting with a letter.
    static func serviceNameProblem(_ text: String) -> String? {
        if text.utf8.count > labelMaxLength {
            return "is \(text.utf8.count) characters long; at most \(labelMaxLength) are allowed"
        }
        if isLowerLabel(text.utf8, letterFirst: true) { return nil }
        return "must consist of lowercase letters, digits and '-', start with a letter and end with a letter or digit"
    }

    private static func isLowerLabel(_ bytes: String.UTF8View, letterFirst: Bool) -> Bool {
        guard let first = bytes.first, let last = bytes.last, isLowerAlphanumeric(first), isLowerAlphanumeric(last) else {
            return false
        }
        if letterFirst, !(UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) { return false }
        return bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    /// nil when `text` is a valid label key: an optional DNS subdomain
    /// prefix and '/', then a name of at most 63 characters.
    static func labelKeyProblem(_ text: String) -> String? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        let name: Substring
        switch parts.count {
        case 1:
            name = parts[0]
        case 2:
            if parts[0].isEmpty { return "the prefix before '/' must not be empty" }
            if let problem = subdomainProblem(String(parts[0])) { return "the prefix before '/' \(problem)" }
            name = parts[1]
        default:
            return "a label key has at most one '/'"
        }
        if name.isEmpty { return "the name part must not be empty" }
        if name.utf8.count > labelMaxLength {
            return "the name part is \(name.utf8.count) characters long; at most \(labelMaxLength) are allowed"
        }
        if !isLabelToken(name.utf8) {
            return "the name part must consist of letters, digits, '-', '_' and '.', and start and end with a letter or digit"
        }
        return nil
    }

    /// nil when `text` is a valid label value (possibly empty).
    static func labelValueProblem(_ text: String) -> String? {
        if text.utf8.count > labelMaxLength {
            return "is \(text.utf8.count) characters long; at most \(labelMaxLength) are allowed"
        }
        if text.isEmpty || isLabelToken(text.utf8) { return nil }
        return "must consist of letters, digits, '-', '_' and '.', and start and end with a letter or digit (or be empty)"
    }

    private static func isLabelToken(_ bytes: some Collection<UInt8>) -> Bool {
        guard let first = bytes.first, isAlphanumeric(first), let last = Array(bytes).last, isAlphanumeric(last) else {
            return false
        }
        return bytes.allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
        }
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLowerAlphanumeric(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}
