import NetAddress

/// One policy routing rule of the kind `ip rule add pref P fwmark M/K
/// lookup T proto N` makes: packets whose mark matches look up table T.
/// Only what routelet writes is modelled (no selectors on addresses or
/// interfaces); a rule with other selectors reads back with
/// ``hasOtherSelectors`` set.
public struct PolicyRule: Hashable, Sendable, CustomStringConvertible {
    public var family: IPAddress.Family
    /// FRA_PRIORITY: the rule's place in the list (lower first).
    public var priority: UInt32
    /// FRA_FWMARK and FRA_FWMASK: matches when packet mark & mask == mark.
    public var mark: UInt32
    public var mask: UInt32
    /// The table it looks up (FR_ACT_TO_TBL).
    public var table: UInt32
    /// FRA_PROTOCOL: who installed it (RTPROT_* numbers); routelet tags its own.
    public var protocolNumber: UInt8
    /// Read back only: the rule also selects on something this type does
    /// not model (addresses, interfaces, ports, ...) or has another action.
    public var hasOtherSelectors = false

    public init(family: IPAddress.Family, priority: UInt32, mark: UInt32, mask: UInt32, table: UInt32, protocolNumber: UInt8) {
        self.family = family
        self.priority = priority
        self.mark = mark
        self.mask = mask
        self.table = table
        self.protocolNumber = protocolNumber
    }

    public var description: String {
        "\(family == .v4 ? "" : "-6 ")pref \(priority) fwmark 0x\(String(mark, radix: 16))/0x\(String(mask, radix: 16)) lookup \(table) proto \(protocolNumber)"
    }

    /// struct fib_rule_hdr, then the attributes: the payload of
    /// RTM_NEWRULE and RTM_DELRULE.
    var payload: [UInt8] {
        var bytes: [UInt8] = [
            family == .v4 ? NetlinkWire.familyInet : NetlinkWire.familyInet6,
            0, 0, 0,                                    // dst_len, src_len, tos
            table < 256 ? UInt8(table) : NetlinkWire.tableUnspecified,
            0, 0,                                       // res1, res2
            NetlinkWire.ruleActionToTable,
        ]
        bytes.appendNative(UInt32(0))                   // flags
        bytes += NetlinkAttribute(type: NetlinkWire.rulePriority, value: nativeBytes(priority)).encoded
        bytes += NetlinkAttribute(type: NetlinkWire.ruleMark, value: nativeBytes(mark)).encoded
        bytes += NetlinkAttribute(type: NetlinkWire.ruleMask, value: nativeBytes(mask)).encoded
        bytes += NetlinkAttribute(type: NetlinkWire.ruleTable, value: nativeBytes(table)).encoded
        bytes += NetlinkAttribute(type: NetlinkWire.ruleProtocol, value: [protocolNumber]).encoded
        return bytes
    }
}

func nativeBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.appendNative(value)
    return bytes
}

extension NetlinkParser {
    /// The rule in an RTM_NEWRULE message; nil for other message types and
    /// families other than AF_INET and AF_INET6.
    public static func rule(from message: NetlinkMessage) throws(NetlinkError) -> PolicyRule? {
        guard message.type == NetlinkWire.newRule else { return nil }
        let operation = "parse RTM_NEWRULE"
        let payload = message.payload
        guard payload.count >= NetlinkWire.fibRuleHeaderSize else {
            throw .malformed(operation, "\(payload.count) payload bytes, fewer than a fib_rule_hdr (\(NetlinkWire.fibRuleHeaderSize))")
        }
        let family: IPAddress.Family
        switch payload[0] {
        case NetlinkWire.familyInet: family = .v4
        case NetlinkWire.familyInet6: family = .v6
        default: return nil
        }
        var rule = PolicyRule(family: family, priority: 0, mark: 0, mask: 0, table: UInt32(payload[4]), protocolNumber: 0)
        // dst_len, src_len, tos, and any action but "look up a table" are selectors this type does not model.
        rule.hasOtherSelectors = payload[1] != 0 || payload[2] != 0 || payload[3] != 0 || payload[7] != NetlinkWire.ruleActionToTable
        var sawMask = false
        for attribute in try attributes(in: payload, from: NetlinkWire.fibRuleHeaderSize) {
            switch attribute.type {
            case NetlinkWire.rulePriority: rule.priority = try u32(attribute, "FRA_PRIORITY", operation)
            case NetlinkWire.ruleMark: rule.mark = try u32(attribute, "FRA_FWMARK", operation)
            case NetlinkWire.ruleMask:
                rule.mask = try u32(attribute, "FRA_FWMASK", operation)
                sawMask = true
            case NetlinkWire.ruleTable: rule.table = try u32(attribute, "FRA_TABLE", operation)
            case NetlinkWire.ruleProtocol:
                guard attribute.value.count == 1 else {
                    throw .malformed(operation, "FRA_PROTOCOL has \(attribute.value.count) bytes, expected 1")
                }
                rule.protocolNumber = attribute.value[0]
            case NetlinkWire.rulePadding:
                continue
            case NetlinkWire.ruleSuppressPrefixLength, NetlinkWire.ruleSuppressGroup:
                // Reported even when unset, as -1.
                if try u32(attribute, "FRA_SUPPRESS_*", operation) != UInt32.max { rule.hasOtherSelectors = true }
            default:
                // The kernel reports an attribute only when it is set: an
                // address, interface, port, goto, suppress_* ... selector.
                rule.hasOtherSelectors = true
            }
        }
        // A fwmark without FRA_FWMASK matches under an all-ones mask.
        if rule.mark != 0 && !sawMask { rule.mask = UInt32.max }
        return rule
    }

    static func u32(_ attribute: NetlinkAttribute, _ name: String, _ operation: String) throws(NetlinkError) -> UInt32 {
        guard attribute.value.count == 4, let value = attribute.value.loadNative(UInt32.self, at: 0) else {
            throw .malformed(operation, "\(name) has \(attribute.value.count) bytes, expected 4")
        }
        return value
    }
}
