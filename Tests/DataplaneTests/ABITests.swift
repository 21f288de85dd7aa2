import CRouteletABI
import Dataplane
import Testing

/// The Swift side must see exactly the layouts the BPF programs were
/// compiled with; a change to the header without a change here fails.
@Suite struct ABITests {
    @Test func mapKeyAndValueLayoutsMatchTheHeader() {
        #expect(RL_ABI_VERSION == 3)
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
        #expect(MemoryLayout<rl_listener_key>.size == 20)
        #expect(MemoryLayout<rl_listener_key>.offset(of: \.port) == 2)
        #expect(MemoryLayout<rl_listener_key>.offset(of: \.addr) == 4)
        #expect(MemoryLayout<rl_listener>.size == 16)
        #expect(MemoryLayout<rl_backend>.size == 36)
        #expect(MemoryLayout<rl_backend>.offset(of: \.snat_addr) == 16)
        #expect(MemoryLayout<rl_backend>.offset(of: \.port) == 32)
        #expect(MemoryLayout<rl_ct_key>.size == 40)
        #expect(MemoryLayout<rl_ct_key>.offset(of: \.sport) == 32)
        #expect(MemoryLayout<rl_ct_key>.offset(of: \.proto) == 36)
        #expect(MemoryLayout<rl_ct_entry>.size == 64)
        #expect(MemoryLayout<rl_ct_entry>.offset(of: \.saddr) == 8)
        #expect(MemoryLayout<rl_ct_entry>.offset(of: \.sport) == 40)
        #expect(MemoryLayout<rl_ct_entry>.offset(of: \.listener_id) == 44)
        #expect(MemoryLayout<rl_ct_entry>.offset(of: \.flags) == 56)
        #expect(MemoryLayout<rl_gw_counter>.size == 24)
        #expect(MemoryLayout<rl_config>.size == 8)
        #expect(MemoryLayout<rl_config>.offset(of: \.gateway_mark_mask) == 4)
    }

    @Test func localDeliveryDefaultsAreTheHeadersConstants() {
        let settings = LocalDeliverySettings.default
        #expect(settings.mark == UInt32(RL_GATEWAY_MARK) && settings.mask == UInt32(RL_GATEWAY_MARK_MASK))
        #expect(settings.table == UInt32(RL_GATEWAY_TABLE) && settings.priority == UInt32(RL_GATEWAY_RULE_PRIORITY))
        #expect(LocalDeliverySettings.protocolNumber == UInt8(RL_GATEWAY_RTPROT))
        #expect(settings.mark & ~settings.mask == 0 && settings.mask.nonzeroBitCount == 1, "one bit, under its own mask")
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
        #expect(Reason.gatewayForwarded.rawValue == RL_REASON_GW_FORWARDED.rawValue)
        #expect(Reason.gatewayReply.rawValue == RL_REASON_GW_REPLY.rawValue)
        #expect(Reason.gatewayNoBackend.rawValue == RL_REASON_GW_NO_BACKEND.rawValue)
        #expect(Reason.gatewayNoPort.rawValue == RL_REASON_GW_NO_PORT.rawValue)
        #expect(Reason.gatewayNoRoute.rawValue == RL_REASON_GW_NO_ROUTE.rawValue)
        #expect(Reason.gatewayLocal.rawValue == RL_REASON_GW_LOCAL.rawValue)
        #expect(Reason.gatewayNoSocket.rawValue == RL_REASON_GW_NO_SOCKET.rawValue)
        #expect(Reason.gatewayNotTCP.rawValue == RL_REASON_GW_NOT_TCP.rawValue)
        #expect(Reason.gatewayLocalUnassigned.rawValue == RL_REASON_GW_LOCAL_UNASSIGNED.rawValue)
        #expect(Reason.localAddress.rawValue == RL_REASON_LOCAL_ADDR.rawValue)
        #expect(Reason.ttl.rawValue == RL_REASON_TTL.rawValue)
        #expect(Reason.mtu.rawValue == RL_REASON_MTU.rawValue)
        #expect(Reason.noNextHop.rawValue == RL_REASON_NO_NEXTHOP.rawValue)
        #expect(Reason.redirectFailed.rawValue == RL_REASON_REDIRECT_FAILED.rawValue)
        #expect(Reason.notHost.rawValue == RL_REASON_NOT_HOST.rawValue)
        #expect(Reason.scope.rawValue == RL_REASON_SCOPE.rawValue)
    }
}
