#if canImport(Glibc)
import Glibc
#endif

/// Interface names and indexes in the calling thread's network namespace.
public enum Interfaces {
    /// Every interface: ifindex -> name.
    public static func all() -> [UInt32: String] {
        guard let list = if_nameindex() else { return [:] }
        defer { if_freenameindex(list) }
        var result: [UInt32: String] = [:]
        var entry = list
        while entry.pointee.if_index != 0 {
            if let name = entry.pointee.if_name { result[entry.pointee.if_index] = String(cString: name) }
            entry += 1
        }
        return result
    }

    public static func index(of name: String) -> UInt32? {
        let index = if_nametoindex(name)
        return index == 0 ? nil : index
    }

    public static func name(of ifindex: UInt32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        guard if_indextoname(ifindex, &buffer) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// "interface eth0 (ifindex 3)", for error messages.
    public static func describe(_ ifindex: UInt32) -> String {
        if let name = name(of: ifindex) { return "interface \(name) (ifindex \(ifindex))" }
        return "interface ifindex \(ifindex)"
    }
}
