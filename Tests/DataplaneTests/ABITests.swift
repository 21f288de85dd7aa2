import CRouteletABI
import Dataplane
import Testing

/// The Swift side must see exactly the layouts the BPF programs were
/// compiled with; a change to the header without a change here fails.
@Suite struct ABITests {
    @Test func mapKeyAndValueLayoutsMatchTheHeader() {
        #expect(RL_ABI_VERSION == 1)
        #expect(MemoryLayout<rl_iface>.size == 8)
        #expect(MemoryLayout<rl_lpm_key_v4>.size == 12)
        #expect(MemoryLayout<rl_lpm_key_v4>.offset(of: \.table_id) == 4)
        #expect(MemoryLayout<rl_lpm_key_v4>.offset(of: \.addr) == 8)
        #expect(MemoryLayout<rl_lpm_key_v6>.size == 24)
        #expect(MemoryLayout<rl_lpm_key_v6>.offset(of: \.addr) == 8)
        #expect(MemoryLayout<rl_route>.size == 12)
        #expect(MemoryLayout<rl_route>.offset(of: \.group_id) == 4)
        #expect(MemoryLayout<rl_route>.offset(of: \.type) == 8)
        #expect(MemoryLayout<rl_nexthop>.size == 28)
        #expect(MemoryLayout<rl_nexthop>.offset(of: \.weight) == 4)
        #expect(MemoryLayout<rl_nexthop>.offset(of: \.family) == 8)
        #expect(MemoryLayout<rl_nexthop>.offset(of: \.gateway) == 12)
        #expect(MemoryLayout<rl_group>.size == 8 + 28 * 16)
        #expect(MemoryLayout<rl_group>.offset(of: \.nexthops) == 8)
        #expect(MemoryLayout<rl_addr_key>.size == 20)
        #expect(MemoryLayout<rl_addr_key>.offset(of: \.addr) == 4)
        #expect(MemoryLayout<rl_counter>.size == 16)
        #expect(MemoryLayout<rl_meta>.size == 8)
    }

    @Test func reasonEnumMatchesTheHeader() {
        #expect(Reason.allCases.count == Int(RL_REASON_COUNT.rawValue))
        #expect(Reason.forwarded.rawValue == RL_REASON_FORWARDED.rawValue)
        #expect(Reason.blackhole.rawValue == RL_REASON_BLACKHOLE.rawValue)
        #expect(Reason.localRoute.rawValue == RL_REASON_LOCAL_ROUTE.rawValue)
        #expect(Reason.notIP.rawValue == RL_REASON_NOT_IP.rawValue)
        #expect(Reason.vlan.rawValue == RL_REASON_VLAN.rawValue)
        #expect(Reason.malformed.rawValue == RL_REASON_MALFORMED.rawValue)
        #expect(Reason.noTable.rawValue == RL_REASON_NO_TABLE.rawValue)
        #expect(Reason.noRoute.rawValue == RL_REASON_NO_ROUTE.rawValue)
        #expect(Reason.localAddress.rawValue == RL_REASON_LOCAL_ADDR.rawValue)
        #expect(Reason.ttl.rawValue == RL_REASON_TTL.rawValue)
        #expect(Reason.mtu.rawValue == RL_REASON_MTU.rawValue)
        #expect(Reason.noNextHop.rawValue == RL_REASON_NO_NEXTHOP.rawValue)
        #expect(Reason.redirectFailed.rawValue == RL_REASON_REDIRECT_FAILED.rawValue)
        #expect(Reason.notHost.rawValue == RL_REASON_NOT_HOST.rawValue)
        #expect(Reason.scope.rawValue == RL_REASON_SCOPE.rawValue)
    }
}
