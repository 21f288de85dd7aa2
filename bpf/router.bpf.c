// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rl_router: routelet's data plane, attached at TC (clsact) ingress.
 *
 * Per packet: parse Ethernet and IPv4/IPv6 once, find the arrival
 * interface's entry, and run the stages it names:
 *   - the gateway stage (lib/gateway.h), when GatewayRoutes bind the
 *     interface: conntrack, Maglev, NAT toward a backend and back for TCP
 *     and UDP listeners; HTTP/HTTPS listeners' packets handed to the local
 *     gateway's socket (bpf_sk_assign + mark);
 *   - the RouteTable stage, when a table is bound: longest-prefix match
 *     (table, destination), then by route type forward (TTL/hop limit - 1,
 *     next hop by flow hash, bpf_redirect_neigh), drop (Blackhole) or pass
 *     (Local).
 * Anything the program does not own goes to the kernel unchanged with
 * TC_ACT_OK. An interface without gateway flag pays nothing for gateways.
 *
 * Every path ends in rl_finish(), which counts the reason and the route and
 * turns the reason into a verdict.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "routelet_abi.h"

#ifndef PACKET_HOST
#define PACKET_HOST 0
#endif
#define RL_IP_MF 0x2000
#define RL_IP_OFFSET 0x1fff
#define RL_IPPROTO_SCTP 132
#define RL_IPPROTO_UDPLITE 136
/* Enough linear bytes for Ethernet, the largest IPv4 header and a TCP
 * header (the gateway reads its flags). */
#define RL_PULL_LEN (ETH_HLEN + 60 + 20)

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* ---- Maps: all pinned by name under the agent's bpffs directory. ---- */

/* ifindex -> table bound to that interface. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RL_MAX_INTERFACES);
	__type(key, __u32);
	__type(value, struct rl_iface);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_ifaces SEC(".maps");

/* (table, IPv4 prefix) -> route. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, RL_MAX_ROUTES_V4);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rl_lpm_key_v4);
	__type(value, struct rl_route);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_routes_v4 SEC(".maps");

/* (table, IPv6 prefix) -> route. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, RL_MAX_ROUTES_V6);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rl_lpm_key_v6);
	__type(value, struct rl_route);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_routes_v6 SEC(".maps");

/* The inner map of rl_lookup_v4: one table's compiled lookup. BPF_F_INNER_MAP
 * lets each table's array have its own size; BPF_F_MMAPABLE lets the agent
 * write entries without a syscall each. */
struct rl_dir_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__type(key, __u32);
	/* The row as an array type: struct rl_dir_row would only be a
	 * forward declaration in BTF here. */
	__type(value, __u32[RL_DIR_ROW_WORDS]);
};

/* table id -> its compiled IPv4 lookup; tables without one use the trie. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, RL_MAX_COMPILED_TABLES);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct rl_dir_table);
} rl_lookup_v4 SEC(".maps");

/* group id -> weighted next hops; written before the routes that use it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RL_MAX_GROUPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct rl_group);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_groups SEC(".maps");

/* The node's own addresses: always handed to the kernel. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RL_MAX_LOCAL_ADDRS);
	__type(key, struct rl_addr_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_local_addrs SEC(".maps");

/* route id -> packets and bytes, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, RL_MAX_ROUTE_STATS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct rl_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_route_stats SEC(".maps");

/* enum rl_reason -> packets and bytes, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RL_REASON_SLOTS);
	__type(key, __u32);
	__type(value, struct rl_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_reason_stats SEC(".maps");

/* ABI version of the pinned maps; written by the agent, never by a program. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rl_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_meta SEC(".maps");

/* Settings the agent writes (the gateway's mark); zero fields mean the defaults. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rl_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_config SEC(".maps");

/* ---- Helpers ---- */

/* What the parser learned about a packet. */
struct rl_flow {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport;                /* host order; 0 without ports */
	__u16 dport;
	__u8 proto;
	__u8 family;
	__u8 has_ports;             /* the transport header follows, complete */
	__u8 tcp_flags;             /* TCP: the flags byte */
	__u16 l4_off;               /* offset of the transport header in the packet */
};

static __always_inline void rl_count(void *map, __u32 key, __u64 bytes)
{
	struct rl_counter *c = bpf_map_lookup_elem(map, &key);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	} else if (map == (void *)&rl_route_stats) {
		/* A route's counter is created on its first packet: the agent
		 * does not write one per route up front (a per-CPU hash entry
		 * costs a slow allocation; most routes of a big table see no
		 * traffic). It removes the counters of routes that are gone. */
		struct rl_counter first = { .packets = 1, .bytes = bytes };

		bpf_map_update_elem(&rl_route_stats, &key, &first, BPF_NOEXIST);
	}
}

/* The one exit: count the reason (and the route, when one matched) and turn
 * the reason into the verdict. */
static __always_inline int rl_finish(struct __sk_buff *skb, enum rl_reason reason,
				     const struct rl_route *route, int redirect_verdict)
{
	__u64 bytes = skb->len;

	rl_count(&rl_reason_stats, reason, bytes);
	switch (reason) {
	case RL_REASON_FORWARDED:
		rl_count(&rl_route_stats, route->id, bytes);
		return redirect_verdict;
	case RL_REASON_GW_FORWARDED:
	case RL_REASON_GW_REPLY:
		return redirect_verdict;
	case RL_REASON_GW_LOCAL:
	case RL_REASON_GW_LOCAL_UNASSIGNED:
		return TC_ACT_OK;
	case RL_REASON_BLACKHOLE:
		rl_count(&rl_route_stats, route->id, bytes);
		return TC_ACT_SHOT;
	case RL_REASON_LOCAL_ROUTE:
		rl_count(&rl_route_stats, route->id, bytes);
		return TC_ACT_OK;
	case RL_REASON_REDIRECT_FAILED:
	case RL_REASON_GW_NO_BACKEND:
	case RL_REASON_GW_NO_PORT:
	case RL_REASON_GW_NO_SOCKET:
	case RL_REASON_GW_NOT_TCP:
	case RL_REASON_GW_SOURCE_REFUSED:
	case RL_REASON_GW_RATE_LIMITED:
		return TC_ACT_SHOT;
	default:
		return TC_ACT_OK;
	}
}

/* A small, well-mixed hash of the 5-tuple (murmur3's finalizer per word).
 * Deterministic, so a flow keeps its path while the group is unchanged. */
static __always_inline __u32 rl_mix(__u32 h, __u32 v)
{
	v *= 0xcc9e2d51;
	v = (v << 15) | (v >> 17);
	v *= 0x1b873593;
	h ^= v;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64;
}

static __always_inline __u32 rl_flow_hash(const struct rl_flow *f)
{
	__u32 h = 0x726c6574; /* "rlet" */
	int words = f->family == RL_AF_INET6 ? 4 : 1;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (i < words) {
			h = rl_mix(h, f->src[i]);
			h = rl_mix(h, f->dst[i]);
		}
	}
	h = rl_mix(h, ((__u32)f->sport << 16) | f->dport);
	h = rl_mix(h, f->proto);
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* The next hop of the flow's bucket (the agent keeps every bucket below
 * count; a group that breaks that rule forwards nothing rather than out of
 * bounds). */
static __always_inline const struct rl_nexthop *rl_pick(const struct rl_group *g, __u32 hash)
{
	__u32 index = g->buckets[hash & (RL_GROUP_BUCKETS - 1)];

	if (index >= g->count || index >= RL_MAX_NEXTHOPS)
		return 0;
	return &g->nexthops[index];
}

static __always_inline int rl_is_local(__u8 family, const __u32 *addr)
{
	struct rl_addr_key key = { .family = family };

	__builtin_memcpy(key.addr, addr, family == RL_AF_INET6 ? 16 : 4);
	return bpf_map_lookup_elem(&rl_local_addrs, &key) != 0;
}

static __always_inline int rl_has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == RL_IPPROTO_SCTP || proto == RL_IPPROTO_UDPLITE;
}

/* Reads the ports at `off` (from the start of the packet) into `flow`;
 * for TCP and UDP with a complete header also marks it NAT-able, and keeps
 * TCP's flags. */
static __always_inline void rl_parse_ports(struct rl_flow *flow, __u32 off, void *data, void *data_end)
{
	__u16 *ports = data + off;

	if ((void *)(ports + 2) > data_end)
		return;
	flow->sport = bpf_ntohs(ports[0]);
	flow->dport = bpf_ntohs(ports[1]);
	flow->l4_off = off;
	if (flow->proto == IPPROTO_TCP) {
		__u8 *tcp = (void *)ports;

		if ((void *)(tcp + 20) > data_end)
			return;
		flow->tcp_flags = tcp[13];
		flow->has_ports = 1;
	} else if (flow->proto == IPPROTO_UDP && (void *)ports + 8 <= data_end) {
		flow->has_ports = 1;
	}
}

/* Resolves the route's next hop, checks TTL and MTU, and redirects. The
 * header pointer `ttl_field` is decremented only when the packet leaves. */
static __always_inline int rl_forward(struct __sk_buff *skb, const struct rl_route *route,
				      const struct rl_flow *flow, struct iphdr *ip4,
				      struct ipv6hdr *ip6)
{
	const struct rl_group *group;
	const struct rl_nexthop *nh;
	struct bpf_redir_neigh params = {};
	__u32 mtu_len = 0;
	long ret;

	if ((ip4 && ip4->ttl <= 1) || (ip6 && ip6->hop_limit <= 1))
		return rl_finish(skb, RL_REASON_TTL, route, 0);

	group = bpf_map_lookup_elem(&rl_groups, &route->group_id);
	if (!group)
		return rl_finish(skb, RL_REASON_NO_NEXTHOP, route, 0);
	nh = rl_pick(group, rl_flow_hash(flow));
	if (!nh)
		return rl_finish(skb, RL_REASON_NO_NEXTHOP, route, 0);

	/* The kernel's own check: device MTU, GSO segments included. */
	ret = bpf_check_mtu(skb, nh->ifindex, &mtu_len, 0, 0);
	if (ret < 0)
		return rl_finish(skb, RL_REASON_NO_NEXTHOP, route, 0);
	if (ret > 0)
		return rl_finish(skb, RL_REASON_MTU, route, 0);

	if (nh->family == RL_AF_INET) {
		params.nh_family = RL_AF_INET;
		__builtin_memcpy(&params.ipv4_nh, nh->gateway, 4);
	} else if (nh->family == RL_AF_INET6) {
		params.nh_family = RL_AF_INET6;
		__builtin_memcpy(params.ipv6_nh, nh->gateway, 16);
	} else if (flow->family == RL_AF_INET) { /* on-link */
		params.nh_family = RL_AF_INET;
		params.ipv4_nh = flow->dst[0];
	} else {
		params.nh_family = RL_AF_INET6;
		__builtin_memcpy(params.ipv6_nh, flow->dst, 16);
	}

	if (ip4) {
		/* ip_decrease_ttl(): incremental checksum update (RFC 1624). */
		__u32 check = (__u32)ip4->check;

		check += (__u32)bpf_htons(0x0100);
		ip4->check = (__sum16)(check + (check >= 0xFFFF));
		ip4->ttl--;
	} else if (ip6) {
		ip6->hop_limit--;
	}

	ret = bpf_redirect_neigh(nh->ifindex, &params, sizeof(params), 0);
	if (ret != TC_ACT_REDIRECT)
		return rl_finish(skb, RL_REASON_REDIRECT_FAILED, route, 0);
	return rl_finish(skb, RL_REASON_FORWARDED, route, (int)ret);
}

static __always_inline int rl_dispatch(struct __sk_buff *skb, const struct rl_route *route,
				       const struct rl_flow *flow, struct iphdr *ip4,
				       struct ipv6hdr *ip6)
{
	if (!route)
		return rl_finish(skb, RL_REASON_NO_ROUTE, 0, 0);
	switch (route->type) {
	case RL_ROUTE_BLACKHOLE:
		return rl_finish(skb, RL_REASON_BLACKHOLE, route, 0);
	case RL_ROUTE_LOCAL:
		return rl_finish(skb, RL_REASON_LOCAL_ROUTE, route, 0);
	case RL_ROUTE_UNICAST:
		return rl_forward(skb, route, flow, ip4, ip6);
	default:
		return rl_finish(skb, RL_REASON_NO_ROUTE, 0, 0);
	}
}

/* Parses the IPv4 header (and the ports) into `flow`; returns a reason to
 * finish with, or -1 when the packet is well formed. */
static __always_inline int rl_parse_v4(void *data, void *data_end, struct rl_flow *flow)
{
	struct iphdr *ip = data + ETH_HLEN;
	__u32 hdr_len;

	if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5)
		return RL_REASON_MALFORMED;
	hdr_len = ip->ihl * 4;
	/* What the kernel's ip_rcv() would refuse is not ours to forward. */
	if (hdr_len > bpf_ntohs(ip->tot_len) || (void *)ip + (hdr_len & 0x3c) > data_end)
		return RL_REASON_MALFORMED;
	flow->family = RL_AF_INET;
	flow->src[0] = ip->saddr;
	flow->dst[0] = ip->daddr;
	flow->proto = ip->protocol;
	/* Fragments hash on addresses and protocol only, so that every fragment
	 * of a packet (only the first carries ports) takes the same path. */
	if (rl_has_ports(ip->protocol) && !(ip->frag_off & bpf_htons(RL_IP_MF | RL_IP_OFFSET)))
		rl_parse_ports(flow, ETH_HLEN + (hdr_len & 0x3c), data, data_end);
	return -1;
}

static __always_inline int rl_parse_v6(void *data, void *data_end, struct rl_flow *flow)
{
	struct ipv6hdr *ip6 = data + ETH_HLEN;

	if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
		return RL_REASON_MALFORMED;
	flow->family = RL_AF_INET6;
	__builtin_memcpy(flow->src, &ip6->saddr, 16);
	__builtin_memcpy(flow->dst, &ip6->daddr, 16);
	flow->proto = ip6->nexthdr;
	/* Ports only when the transport header follows directly; packets with
	 * extension headers (fragments included) hash on addresses alone. */
	if (rl_has_ports(ip6->nexthdr))
		rl_parse_ports(flow, ETH_HLEN + sizeof(*ip6), data, data_end);
	return -1;
}

/* The one route lookup: the longest prefix of table `table_id` that holds
 * `dst` (network order, 4 or 16 bytes by family), or 0. Every caller (the
 * RouteTable stage, the gateway's next hop, the benchmark) goes through it,
 * so a compiled structure can replace the trie here alone. */
/* DIR-24-8 (routelet_abi.h, rl_lookup_v4): the first-level entry, the
 * chunk's when it names one, then the slot's record. `dst` in host order. */
static __always_inline const struct rl_route *rl_lookup_dir(void *dir, __u32 dst)
{
	__u32 row = dst >> 16;
	const struct rl_dir_row *r = bpf_map_lookup_elem(dir, &row);

	if (!r)
		return NULL;
	__u32 entry = r->words[(dst >> 8) & 0xff];

	if (entry & RL_DIR_CHUNK) {
		row = entry & ~RL_DIR_CHUNK;
		r = bpf_map_lookup_elem(dir, &row);
		if (!r)
			return NULL;
		entry = r->words[dst & 0xff];
	}
	if (!entry)
		return NULL;
	row = RL_DIR_FIRST_RECORD_ROW + entry / RL_DIR_RECORDS_PER_ROW;
	r = bpf_map_lookup_elem(dir, &row);
	if (!r)
		return NULL;
	return (const struct rl_route *)&r->words[(entry % RL_DIR_RECORDS_PER_ROW) * 4];
}

static __always_inline const struct rl_route *rl_lookup_route(__u32 table_id, __u8 family, const void *dst)
{
	if (family == RL_AF_INET) {
		void *dir = bpf_map_lookup_elem(&rl_lookup_v4, &table_id);

		if (dir)
			return rl_lookup_dir(dir, bpf_ntohl(*(const __u32 *)dst));
		struct rl_lpm_key_v4 key = { .prefixlen = 64, .table_id = table_id };

		__builtin_memcpy(key.addr, dst, 4);
		return bpf_map_lookup_elem(&rl_routes_v4, &key);
	}
	struct rl_lpm_key_v6 key = { .prefixlen = 32 + 128, .table_id = table_id };

	__builtin_memcpy(key.addr, dst, 16);
	return bpf_map_lookup_elem(&rl_routes_v6, &key);
}

/* The RouteTable stage: scope and local-address checks, then the lookup.
 * `data` and `data_end` are the packet as parsed (the gateway stage leaves
 * a packet it hands on untouched). */
static __always_inline int rl_route_stage(struct __sk_buff *skb, __u32 table_id, const struct rl_flow *flow,
					  void *data, void *data_end)
{
	if (flow->family == RL_AF_INET) {
		struct iphdr *ip = data + ETH_HLEN;

		if ((void *)(ip + 1) > data_end)
			return rl_finish(skb, RL_REASON_MALFORMED, 0, 0);
		/* 224.0.0.0/4 multicast, 255.255.255.255, 169.254.0.0/16 link-local. */
		__u32 dst = bpf_ntohl(flow->dst[0]);
		if ((dst >> 28) == 0xe || dst == 0xffffffff || (dst >> 16) == 0xa9fe)
			return rl_finish(skb, RL_REASON_SCOPE, 0, 0);
		if (rl_is_local(RL_AF_INET, flow->dst))
			return rl_finish(skb, RL_REASON_LOCAL_ADDR, 0, 0);
		return rl_dispatch(skb, rl_lookup_route(table_id, RL_AF_INET, flow->dst), flow, ip, 0);
	}

	struct ipv6hdr *ip6 = data + ETH_HLEN;

	if ((void *)(ip6 + 1) > data_end)
		return rl_finish(skb, RL_REASON_MALFORMED, 0, 0);
	/* ff00::/8 multicast, fe80::/10 link-local. */
	__u8 first = ip6->daddr.in6_u.u6_addr8[0];
	__u8 second = ip6->daddr.in6_u.u6_addr8[1];
	if (first == 0xff || (first == 0xfe && (second & 0xc0) == 0x80))
		return rl_finish(skb, RL_REASON_SCOPE, 0, 0);
	if (rl_is_local(RL_AF_INET6, flow->dst))
		return rl_finish(skb, RL_REASON_LOCAL_ADDR, 0, 0);
	return rl_dispatch(skb, rl_lookup_route(table_id, RL_AF_INET6, flow->dst), flow, 0, ip6);
}

#include "lib/gateway.h"

/* The whole per-packet path; rl_router is this and nothing else (the
 * benchmark wraps the same function, see bench_router.bpf.c). */
static __always_inline int rl_route_packet(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 ifindex = skb->ingress_ifindex;
	struct rl_flow flow = {};
	struct rl_iface *iface;
	struct ethhdr *eth;
	int reason;

	/* Headers split across fragments of a non-linear skb: make them linear. */
	if (data_end - data < RL_PULL_LEN && skb->len > data_end - data) {
		bpf_skb_pull_data(skb, skb->len < RL_PULL_LEN ? skb->len : RL_PULL_LEN);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}

	eth = data;
	if ((void *)(eth + 1) > data_end)
		return rl_finish(skb, RL_REASON_MALFORMED, 0, 0);
	if (skb->vlan_present || eth->h_proto == bpf_htons(ETH_P_8021Q) ||
	    eth->h_proto == bpf_htons(ETH_P_8021AD))
		return rl_finish(skb, RL_REASON_VLAN, 0, 0);
	if (eth->h_proto != bpf_htons(ETH_P_IP) && eth->h_proto != bpf_htons(ETH_P_IPV6))
		return rl_finish(skb, RL_REASON_NOT_IP, 0, 0);
	if (skb->pkt_type != PACKET_HOST)
		return rl_finish(skb, RL_REASON_NOT_HOST, 0, 0);

	iface = bpf_map_lookup_elem(&rl_ifaces, &ifindex);
	if (!iface)
		return rl_finish(skb, RL_REASON_NO_TABLE, 0, 0);

	if (eth->h_proto == bpf_htons(ETH_P_IP))
		reason = rl_parse_v4(data, data_end, &flow);
	else
		reason = rl_parse_v6(data, data_end, &flow);
	if (reason >= 0)
		return rl_finish(skb, reason, 0, 0);

	__u32 table_id = iface->table_id;
	if (iface->flags & RL_IFACE_GATEWAY) {
		int verdict = rl_gateway_stage(skb, table_id, &flow);

		if (verdict != RL_CONTINUE)
			return verdict;
	}
	if (!table_id)
		return rl_finish(skb, RL_REASON_NO_TABLE, 0, 0);
	return rl_route_stage(skb, table_id, &flow, data, data_end);
}

SEC("tc")
int rl_router(struct __sk_buff *skb)
{
	return rl_route_packet(skb);
}
