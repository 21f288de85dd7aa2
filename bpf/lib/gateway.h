/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The gateway stage: GatewayRoute TCP and UDP listeners, served in eBPF,
 * and HTTP/HTTPS listeners, handed to the local `routelet gateway`
 * (design/gateway.md). Included by router.bpf.c after its helpers.
 *
 * Per TCP/UDP packet on an interface with RL_IFACE_GATEWAY:
 *   1. conntrack: the packet's 5-tuple names a flow (the client's packets
 *      to a listener, or a backend's replies): rewrite and forward.
 *   2. a listener's (address, port, protocol) without a live flow: the
 *      flow hash picks a backend in the listener's Maglev table, SNAT (unless
 *      preserveClientIP) allocates a source port, both conntrack entries
 *      are written, then as 1.
 *   2'. an HTTP/HTTPS listener (RL_LISTENER_LOCAL): the gateway's socket
 *      for the packet's own tuple is looked up and assigned to the packet,
 *      which is marked and passed to the kernel, whose policy rule for
 *      the mark delivers it locally (no NAT, no conntrack: the socket is
 *      the state). No socket: dropped. UDP to such a listener: dropped.
 *   3. anything else continues to the RouteTable stage unchanged.
 * A hit keeps its backend whatever the Maglev table became since, so
 * backends that leave drain instead of breaking their flows.
 */
#ifndef RL_GATEWAY_H
#define RL_GATEWAY_H

#define RL_CONTINUE (-1)
#define RL_NS_PER_S 1000000000ULL

/* (address, port, protocol) -> listener. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RL_MAX_LISTENERS);
	__type(key, struct rl_listener_key);
	__type(value, struct rl_listener);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_listeners SEC(".maps");

/* backend id -> address, port and SNAT source. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RL_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct rl_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_backends SEC(".maps");

/* The inner map of rl_maglev: slot -> backend id. BPF_F_INNER_MAP lets each
 * listener's table have its own (prime) size; BPF_F_MMAPABLE lets the agent
 * write and read a whole table without a syscall per slot. */
struct rl_maglev_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u32);
};

/* listener id -> its Maglev table; an entry is replaced whole. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, RL_MAX_LISTENERS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct rl_maglev_table);
} rl_maglev SEC(".maps");

/* 5-tuple as it arrives -> the rewrite it gets (two entries per flow). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RL_MAX_CONNTRACK);
	__type(key, struct rl_ct_key);
	__type(value, struct rl_ct_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_conntrack SEC(".maps");

/* listener id -> packets, bytes, flows, per CPU (both directions). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RL_MAX_LISTENERS);
	__type(key, __u32);
	__type(value, struct rl_gw_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_listener_stats SEC(".maps");

/* backend id -> packets, bytes, flows, per CPU (both directions). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RL_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct rl_gw_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_backend_stats SEC(".maps");

/* sourceRanges of every listener (rl_src_key_v4/v6); LPM tries must not be
 * preallocated. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, RL_MAX_SOURCE_RANGES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rl_src_key_v4);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_sources_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, RL_MAX_SOURCE_RANGES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rl_src_key_v6);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_sources_v6 SEC(".maps");

/* (listener, client address) -> its rateLimit token bucket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RL_MAX_RATE_BUCKETS);
	__type(key, struct rl_rate_key);
	__type(value, struct rl_rate_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_rate_buckets SEC(".maps");

/* listener id -> what its sourceRanges and rateLimit refused, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RL_MAX_LISTENERS);
	__type(key, __u32);
	__type(value, struct rl_refusals);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_listener_refusals SEC(".maps");

#include "capture.h"

static __always_inline void rl_gw_count(void *map, __u32 key, __u64 bytes, __u64 flows)
{
	struct rl_gw_counter *c = bpf_map_lookup_elem(map, &key);

	if (c) {
		c->packets++;
		c->bytes += bytes;
		c->flows += flows;
	}
}

static __always_inline void rl_ct_key_of(struct rl_ct_key *key, const struct rl_flow *flow)
{
	__builtin_memcpy(key->saddr, flow->src, 16);
	__builtin_memcpy(key->daddr, flow->dst, 16);
	key->sport = flow->sport;
	key->dport = flow->dport;
	key->proto = flow->proto;
	key->family = flow->family;
}

/* The key of an entry's twin: its rewritten tuple, reversed. */
static __always_inline void rl_ct_twin_key(struct rl_ct_key *key, const struct rl_ct_entry *e, __u8 proto,
					   __u8 family)
{
	__builtin_memcpy(key->saddr, e->daddr, 16);
	__builtin_memcpy(key->daddr, e->saddr, 16);
	key->sport = e->dport;
	key->dport = e->sport;
	key->proto = proto;
	key->family = family;
}

static __always_inline int rl_ct_expired(const struct rl_ct_entry *e, __u64 now)
{
	__u64 timeout = (e->flags & RL_CT_CLOSING) ? RL_CT_CLOSE_TIMEOUT_S : e->timeout_s;

	return now - e->last_seen_ns > timeout * RL_NS_PER_S;
}

/* FIN or RST: both entries of the flow linger for RL_CT_CLOSE_TIMEOUT_S. */
static __always_inline void rl_ct_close(struct rl_ct_entry *e, const struct rl_flow *flow)
{
	struct rl_ct_key twin = {};
	struct rl_ct_entry *other;

	e->flags |= RL_CT_CLOSING;
	rl_ct_twin_key(&twin, e, flow->proto, flow->family);
	other = bpf_map_lookup_elem(&rl_conntrack, &twin);
	if (other)
		other->flags |= RL_CT_CLOSING;
}

/* ---- NAT: rewrite addresses and ports, fixing checksums incrementally ---- */

static __always_inline __u32 rl_l4_csum_off(const struct rl_flow *flow)
{
	return flow->l4_off + (flow->proto == IPPROTO_TCP ? 16 : 6);
}

/* Rewrites the address at `addr_off` from `old` to `new` (4 or 16 bytes),
 * fixing the transport checksum's pseudo header and, for IPv4, the header
 * checksum. */
static __always_inline int rl_nat_addr(struct __sk_buff *skb, const struct rl_flow *flow, __u32 addr_off,
				       const __u32 *old, const __u8 *new)
{
	__u64 mangled0 = flow->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__u32 csum_off = rl_l4_csum_off(flow);

	if (flow->family == RL_AF_INET) {
		__u32 to;

		__builtin_memcpy(&to, new, 4);
		if (to == old[0])
			return 0;
		if (bpf_l4_csum_replace(skb, csum_off, old[0], to, BPF_F_PSEUDO_HDR | mangled0 | 4) ||
		    bpf_l3_csum_replace(skb, ETH_HLEN + offsetof(struct iphdr, check), old[0], to, 4))
			return -1;
		return bpf_skb_store_bytes(skb, addr_off, &to, 4, 0);
	}

	__u32 to[4];

	__builtin_memcpy(to, new, 16);
	if (to[0] == old[0] && to[1] == old[1] && to[2] == old[2] && to[3] == old[3])
		return 0;
	__s64 diff = bpf_csum_diff((__be32 *)old, 16, to, 16, 0);

	if (diff < 0 || bpf_l4_csum_replace(skb, csum_off, 0, diff, BPF_F_PSEUDO_HDR | mangled0))
		return -1;
	return bpf_skb_store_bytes(skb, addr_off, to, 16, 0);
}

static __always_inline int rl_nat_port(struct __sk_buff *skb, const struct rl_flow *flow, __u32 port_off,
				       __u16 old, __u16 new)
{
	__u64 mangled0 = flow->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__be16 from = bpf_htons(old), to = bpf_htons(new);

	if (old == new)
		return 0;
	if (bpf_l4_csum_replace(skb, rl_l4_csum_off(flow), from, to, mangled0 | 2))
		return -1;
	return bpf_skb_store_bytes(skb, port_off, &to, 2, 0);
}

/* Applies an entry's rewrite to the packet; packet pointers are stale after. */
static __always_inline int rl_nat_apply(struct __sk_buff *skb, const struct rl_flow *flow,
					const struct rl_ct_entry *e)
{
	__u32 saddr_off, daddr_off;

	if (flow->family == RL_AF_INET) {
		saddr_off = ETH_HLEN + offsetof(struct iphdr, saddr);
		daddr_off = ETH_HLEN + offsetof(struct iphdr, daddr);
	} else {
		saddr_off = ETH_HLEN + offsetof(struct ipv6hdr, saddr);
		daddr_off = ETH_HLEN + offsetof(struct ipv6hdr, daddr);
	}
	if (rl_nat_addr(skb, flow, saddr_off, flow->src, e->saddr) ||
	    rl_nat_addr(skb, flow, daddr_off, flow->dst, e->daddr) ||
	    rl_nat_port(skb, flow, flow->l4_off, flow->sport, e->sport) ||
	    rl_nat_port(skb, flow, flow->l4_off + 2, flow->dport, e->dport))
		return -1;
	return 0;
}

/* ---- Forwarding after NAT ---- */

/* Where a rewritten packet goes: egress interface and next hop. */
struct rl_gw_hop {
	__u32 ifindex;
	struct bpf_redir_neigh nh;
};

/* The next hop toward `e`'s destination: a Unicast route of the
 * interface's RouteTable when it has one, else the kernel's FIB. Returns 0
 * when found; the reason to finish with otherwise. */
static __always_inline int rl_gw_next_hop(struct __sk_buff *skb, __u32 table_id, const struct rl_flow *flow,
					  const struct rl_ct_entry *e, struct rl_gw_hop *hop)
{
	const struct rl_route *route = table_id ? rl_lookup_route(table_id, flow->family, e->daddr) : 0;

	if (route && route->type == RL_ROUTE_UNICAST) {
		const struct rl_group *group = bpf_map_lookup_elem(&rl_groups, &route->group_id);
		const struct rl_nexthop *nh = group ? rl_pick(group, rl_flow_hash(flow)) : 0;

		if (!nh)
			return RL_REASON_NO_NEXTHOP;
		hop->ifindex = nh->ifindex;
		if (nh->family) {
			hop->nh.nh_family = nh->family;
			__builtin_memcpy(hop->nh.ipv6_nh, nh->gateway, 16);
		} else {
			hop->nh.nh_family = flow->family;
			__builtin_memcpy(hop->nh.ipv6_nh, e->daddr, 16);
		}
		return 0;
	}

	struct bpf_fib_lookup fib = {
		.family = flow->family,
		.l4_protocol = flow->proto,
		.sport = bpf_htons(e->sport),
		.dport = bpf_htons(e->dport),
		.ifindex = skb->ingress_ifindex,
	};
	if (flow->family == RL_AF_INET) {
		__builtin_memcpy(&fib.ipv4_src, e->saddr, 4);
		__builtin_memcpy(&fib.ipv4_dst, e->daddr, 4);
	} else {
		__builtin_memcpy(fib.ipv6_src, e->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, e->daddr, 16);
	}
	long ret = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);

	if (ret != BPF_FIB_LKUP_RET_SUCCESS && ret != BPF_FIB_LKUP_RET_NO_NEIGH)
		return RL_REASON_GW_NO_ROUTE;
	hop->ifindex = fib.ifindex;
	hop->nh.nh_family = flow->family;
	if (flow->family == RL_AF_INET)
		hop->nh.ipv4_nh = fib.ipv4_dst;
	else
		__builtin_memcpy(hop->nh.ipv6_nh, fib.ipv6_dst, 16);
	return 0;
}

/* Rewrites, decrements the TTL / hop limit, counts and redirects. */
static __always_inline int rl_gw_forward(struct __sk_buff *skb, __u32 table_id, const struct rl_flow *flow,
					 struct rl_ct_entry *e, int new_flow)
{
	enum rl_reason done = (e->flags & RL_CT_REPLY) ? RL_REASON_GW_REPLY : RL_REASON_GW_FORWARDED;
	struct rl_gw_hop hop = {};
	__u32 mtu_len = 0;
	int reason;

	/* A packet about to expire is the kernel's, to answer with ICMP. */
	void *head = (void *)(long)skb->data;
	void *head_end = (void *)(long)skb->data_end;
	if (flow->family == RL_AF_INET) {
		struct iphdr *ip = head + ETH_HLEN;

		if ((void *)(ip + 1) > head_end)
			return rl_finish(skb, RL_REASON_MALFORMED, 0, 0);
		if (ip->ttl <= 1)
			return rl_finish(skb, RL_REASON_TTL, 0, 0);
	} else {
		struct ipv6hdr *ip6 = head + ETH_HLEN;

		if ((void *)(ip6 + 1) > head_end)
			return rl_finish(skb, RL_REASON_MALFORMED, 0, 0);
		if (ip6->hop_limit <= 1)
			return rl_finish(skb, RL_REASON_TTL, 0, 0);
	}

	reason = rl_gw_next_hop(skb, table_id, flow, e, &hop);
	if (reason)
		return rl_finish(skb, reason, 0, 0);
	long mtu = bpf_check_mtu(skb, hop.ifindex, &mtu_len, 0, 0);

	if (mtu > 0)
		return rl_finish(skb, RL_REASON_MTU, 0, 0);
	if (mtu < 0)
		return rl_finish(skb, RL_REASON_GW_NO_ROUTE, 0, 0);
	if (rl_nat_apply(skb, flow, e))
		return rl_finish(skb, RL_REASON_MALFORMED, 0, 0);

	/* The helpers above invalidated every packet pointer. */
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	if (flow->family == RL_AF_INET) {
		struct iphdr *ip = data + ETH_HLEN;
		__u32 check;

		if ((void *)(ip + 1) > data_end)
			return rl_finish(skb, RL_REASON_MALFORMED, 0, 0);
		check = (__u32)ip->check + (__u32)bpf_htons(0x0100);
		ip->check = (__sum16)(check + (check >= 0xFFFF));
		ip->ttl--;
	} else {
		struct ipv6hdr *ip6 = data + ETH_HLEN;

		if ((void *)(ip6 + 1) > data_end)
			return rl_finish(skb, RL_REASON_MALFORMED, 0, 0);
		ip6->hop_limit--;
	}

	__u64 bytes = skb->len;

	rl_gw_count(&rl_listener_stats, e->listener_id, bytes, new_flow);
	rl_gw_count(&rl_backend_stats, e->backend_id, bytes, new_flow);
	long ret = bpf_redirect_neigh(hop.ifindex, &hop.nh, sizeof(hop.nh), 0);

	if (ret != TC_ACT_REDIRECT)
		return rl_finish(skb, RL_REASON_REDIRECT_FAILED, 0, 0);
	return rl_finish(skb, done, 0, (int)ret);
}

/* ---- HTTP/HTTPS listeners: handed to the local gateway ---- */

/* Whether a listening socket is bound to the packet's destination itself
 * (the gateway binds each listener's address with IP_TRANSPARENT), not to
 * a wildcard: a node service listening on 0.0.0.0:80 is not the gateway,
 * and must not receive a listener's traffic while the gateway is down. */
static __always_inline int rl_sk_bound_to_dst(const struct bpf_sock *sk, const struct rl_flow *flow)
{
	if (flow->family == RL_AF_INET)
		return sk->family == RL_AF_INET && sk->src_ip4 == flow->dst[0];
	return sk->family == RL_AF_INET6 && sk->src_ip6[0] == flow->dst[0] && sk->src_ip6[1] == flow->dst[1] &&
	       sk->src_ip6[2] == flow->dst[2] && sk->src_ip6[3] == flow->dst[3];
}

/* Hands a TCP packet of an HTTP/HTTPS listener to the gateway's socket:
 * bpf_skc_lookup_tcp with the packet's own tuple finds the connection's
 * socket (established, request or time-wait) or else the listening one,
 * bpf_sk_assign makes the kernel deliver to exactly that socket, and the
 * mark makes the kernel's routing deliver the packet locally at all (its
 * destination is not a node address). The reply leaves the socket through
 * the kernel's routing, untouched by this program. */
static __always_inline int rl_gw_local(struct __sk_buff *skb, const struct rl_flow *flow, const struct rl_listener *l)
{
	struct bpf_sock_tuple tuple = {};
	struct bpf_sock *sk;
	int new_flow;

	/* Two calls with constant sizes: the helper's size must be a constant. */
	if (flow->family == RL_AF_INET) {
		tuple.ipv4.saddr = flow->src[0];
		tuple.ipv4.daddr = flow->dst[0];
		tuple.ipv4.sport = bpf_htons(flow->sport);
		tuple.ipv4.dport = bpf_htons(flow->dport);
		sk = bpf_skc_lookup_tcp(skb, &tuple, sizeof(tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
	} else {
		__builtin_memcpy(tuple.ipv6.saddr, flow->src, 16);
		__builtin_memcpy(tuple.ipv6.daddr, flow->dst, 16);
		tuple.ipv6.sport = bpf_htons(flow->sport);
		tuple.ipv6.dport = bpf_htons(flow->dport);
		sk = bpf_skc_lookup_tcp(skb, &tuple, sizeof(tuple.ipv6), BPF_F_CURRENT_NETNS, 0);
	}
	if (!sk)
		return rl_finish(skb, RL_REASON_GW_NO_SOCKET, 0, 0);
	if (sk->state == BPF_TCP_LISTEN && !rl_sk_bound_to_dst(sk, flow)) {
		bpf_sk_release(sk);
		return rl_finish(skb, RL_REASON_GW_NO_SOCKET, 0, 0);
	}
	new_flow = sk->state == BPF_TCP_LISTEN;   /* a connection the listener will accept */
	/* Refused (BPF_PROG_TEST_RUN's skb is not at TC ingress; a socket
	 * closing under us): the socket exists and is the gateway's, so the
	 * packet is still marked, and the kernel's own lookup, which finds
	 * that same socket, delivers it. */
	enum rl_reason done = bpf_sk_assign(skb, sk, 0) ? RL_REASON_GW_LOCAL_UNASSIGNED : RL_REASON_GW_LOCAL;

	bpf_sk_release(sk);

	__u32 zero = 0;
	const struct rl_config *config = bpf_map_lookup_elem(&rl_config, &zero);
	__u32 mark = config && config->gateway_mark ? config->gateway_mark : RL_GATEWAY_MARK;
	__u32 mask = config && config->gateway_mark_mask ? config->gateway_mark_mask : RL_GATEWAY_MARK_MASK;

	skb->mark = (skb->mark & ~mask) | (mark & mask);
	rl_gw_count(&rl_listener_stats, l->id, skb->len, new_flow);
	return rl_finish(skb, done, 0, 0);
}

/* ---- sourceRanges and rateLimit: refused before any other work ---- */

/* Whether the flow's source is in one of the listener's `list` ranges. */
static __always_inline int rl_src_listed(const struct rl_flow *flow, __u32 listener_id, __u32 list)
{
	if (flow->family == RL_AF_INET) {
		struct rl_src_key_v4 key = { .prefixlen = 64 + 32, .listener_id = listener_id, .list = list };

		__builtin_memcpy(key.addr, flow->src, 4);
		return bpf_map_lookup_elem(&rl_sources_v4, &key) != 0;
	}
	struct rl_src_key_v6 key = { .prefixlen = 64 + 128, .listener_id = listener_id, .list = list };

	__builtin_memcpy(key.addr, flow->src, 16);
	return bpf_map_lookup_elem(&rl_sources_v6, &key) != 0;
}

static __always_inline void rl_refusal_count(__u32 listener_id, int rate)
{
	struct rl_refusals *r = bpf_map_lookup_elem(&rl_listener_refusals, &listener_id);

	if (!r)
		return;
	if (rate)
		r->rate_flows++;
	else
		r->source_packets++;
}

/* Whether the listener's sourceRanges refuse the flow's source (deny wins
 * over allow, whatever the lengths). Counted when they do. */
static __always_inline int rl_src_refused(const struct rl_flow *flow, const struct rl_listener *l)
{
	if (!(l->flags & (RL_LISTENER_ALLOW_LIST | RL_LISTENER_DENY_LIST)))
		return 0;
	if (((l->flags & RL_LISTENER_DENY_LIST) && rl_src_listed(flow, l->id, RL_SRC_DENY)) ||
	    ((l->flags & RL_LISTENER_ALLOW_LIST) && !rl_src_listed(flow, l->id, RL_SRC_ALLOW))) {
		rl_refusal_count(l->id, 0);
		return 1;
	}
	return 0;
}

/* Takes a token from the client's bucket for a new flow: 1 when there was
 * one (or the listener has no rate), 0 when the flow is over the rate
 * (counted). A client's first flow finds a full bucket. */
static __always_inline int rl_rate_take(const struct rl_flow *flow, const struct rl_listener *l, __u64 now)
{
	__u64 rate = l->rate_per_s;

	if (!rate)
		return 1;
	__u64 capacity = (__u64)(l->rate_burst > l->rate_per_s ? l->rate_burst : l->rate_per_s) * RL_NS_PER_TOKEN;
	struct rl_rate_key key = { .listener_id = l->id, .family = flow->family };

	__builtin_memcpy(key.addr, flow->src, 16);
	struct rl_rate_bucket *b = bpf_map_lookup_elem(&rl_rate_buckets, &key);

	if (!b) {
		struct rl_rate_bucket fresh = { .tokens = capacity - RL_NS_PER_TOKEN, .last_ns = now };

		bpf_map_update_elem(&rl_rate_buckets, &key, &fresh, BPF_ANY);
		return 1;
	}
	/* Refill: elapsed_ns * rate billionths, without overflow: past the
	 * time that fills the bucket from empty it is simply full. */
	__u64 elapsed = now > b->last_ns ? now - b->last_ns : 0;
	__u64 tokens = elapsed >= capacity / rate ? capacity : b->tokens + elapsed * rate;

	if (tokens > capacity)
		tokens = capacity;
	b->last_ns = now;
	if (tokens < RL_NS_PER_TOKEN) {
		b->tokens = tokens;
		rl_refusal_count(l->id, 1);
		return 0;
	}
	b->tokens = tokens - RL_NS_PER_TOKEN;
	return 1;
}

/* ---- New flows ---- */

/* The backend the listener's Maglev table gives this flow, or 0. */
static __always_inline __u32 rl_maglev_pick(const struct rl_listener *l, const struct rl_flow *flow)
{
	__u32 id = l->id;
	void *table = bpf_map_lookup_elem(&rl_maglev, &id);

	if (!table || l->maglev_size == 0)
		return 0;
	__u32 slot = rl_flow_hash(flow) % l->maglev_size;
	__u32 *backend = bpf_map_lookup_elem(table, &slot);

	return backend ? *backend : 0;
}

/* Removes an entry's twin: the reply entry of a client's flow that ended,
 * or the client's entry of an ended flow whose reply entry is taken over. */
static __always_inline void rl_ct_forget_twin(const struct rl_ct_entry *e, const struct rl_flow *flow)
{
	struct rl_ct_key twin = {};

	rl_ct_twin_key(&twin, e, flow->proto, flow->family);
	bpf_map_delete_elem(&rl_conntrack, &twin);
}

/* Writes both entries of a new flow through listener `l` to backend `b`.
 * Returns 0, or the reason it could not. */
static __always_inline int rl_ct_create(const struct rl_flow *flow, const struct rl_listener *l, __u32 backend_id,
					const struct rl_backend *b, struct rl_ct_entry *fwd, __u64 now)
{
	struct rl_ct_entry rev = {};
	struct rl_ct_key fwd_key = {}, rev_key = {};

	fwd->last_seen_ns = now;
	fwd->listener_id = l->id;
	fwd->backend_id = backend_id;
	fwd->timeout_s = l->idle_timeout_s;
	fwd->flags = (l->flags & RL_LISTENER_CAPTURE) && flow->proto == IPPROTO_TCP ? RL_CT_CAPTURE : 0;
	__builtin_memcpy(fwd->daddr, b->addr, 16);
	fwd->dport = b->port;
	if (l->flags & RL_LISTENER_SNAT) {
		__builtin_memcpy(fwd->saddr, b->snat_addr, 16);
	} else {
		__builtin_memcpy(fwd->saddr, flow->src, 16);
		fwd->sport = flow->sport;
	}

	/* The reply entry: from the backend to the (translated) client. */
	rev.last_seen_ns = now;
	rev.listener_id = l->id;
	rev.backend_id = backend_id;
	rev.timeout_s = l->idle_timeout_s;
	rev.flags = RL_CT_REPLY;
	__builtin_memcpy(rev.saddr, flow->dst, 16);
	rev.sport = flow->dport;
	__builtin_memcpy(rev.daddr, flow->src, 16);
	rev.dport = flow->sport;

	if (l->flags & RL_LISTENER_SNAT) {
		/* The reply key reserves the port: the first free candidate wins. */
		__u32 range = RL_SNAT_PORT_MAX - RL_SNAT_PORT_MIN + 1;
		__u32 start = rl_flow_hash(flow);
		int found = 0;

		for (int i = 0; i < RL_SNAT_TRIES; i++) {
			fwd->sport = RL_SNAT_PORT_MIN + (start + i * 7919) % range;
			rl_ct_twin_key(&rev_key, fwd, flow->proto, flow->family);
			if (bpf_map_update_elem(&rl_conntrack, &rev_key, &rev, BPF_NOEXIST) == 0) {
				found = 1;
				break;
			}
			/* Taken: by a flow that ended (idle, or past its FIN/RST
			 * linger) the port is free again. The LRU evicts only when
			 * full, and failed inserts never fill it. */
			struct rl_ct_entry *old = bpf_map_lookup_elem(&rl_conntrack, &rev_key);

			if (old && rl_ct_expired(old, now)) {
				rl_ct_forget_twin(old, flow);
				if (bpf_map_update_elem(&rl_conntrack, &rev_key, &rev, BPF_ANY) == 0) {
					found = 1;
					break;
				}
			}
		}
		if (!found)
			return RL_REASON_GW_NO_PORT;
	} else {
		rl_ct_twin_key(&rev_key, fwd, flow->proto, flow->family);
		bpf_map_update_elem(&rl_conntrack, &rev_key, &rev, BPF_ANY);
	}
	rl_ct_key_of(&fwd_key, flow);
	bpf_map_update_elem(&rl_conntrack, &fwd_key, fwd, BPF_ANY);
	return 0;
}

/* The gateway stage; RL_CONTINUE hands the packet, untouched, to the
 * RouteTable stage. */
static __always_inline int rl_gateway_stage(struct __sk_buff *skb, __u32 table_id, const struct rl_flow *flow)
{
	struct rl_ct_key key = {};
	struct rl_ct_entry *e;
	__u64 now;

	if (!flow->has_ports)
		return RL_CONTINUE;
	now = bpf_ktime_get_ns();
	rl_ct_key_of(&key, flow);
	e = bpf_map_lookup_elem(&rl_conntrack, &key);

	int syn = flow->proto == IPPROTO_TCP && (flow->tcp_flags & 0x12) == 0x02;   /* SYN without ACK */
	if (e && !rl_ct_expired(e, now) && !(syn && (e->flags & RL_CT_CLOSING) && !(e->flags & RL_CT_REPLY))) {
		e->last_seen_ns = now;
		if (flow->proto == IPPROTO_TCP && (flow->tcp_flags & 0x05))   /* FIN or RST */
			rl_ct_close(e, flow);
#ifndef RL_NO_CAPTURE
		if (e->flags & RL_CT_CAPTURE)
			rl_capture(skb, flow, e, now);
#endif
		return rl_gw_forward(skb, table_id, flow, e, 0);
	}
	if (e && (e->flags & RL_CT_REPLY))
		return RL_CONTINUE;   /* a reply of a flow that ended: the kernel's */

	struct rl_listener_key lkey = { .family = flow->family, .proto = flow->proto, .port = flow->dport };

	if (flow->family == RL_AF_INET6)
		__builtin_memcpy(lkey.addr, flow->dst, 16);
	else
		__builtin_memcpy(lkey.addr, flow->dst, 4);
	const struct rl_listener *l = bpf_map_lookup_elem(&rl_listeners, &lkey);

	if (!l && flow->proto == IPPROTO_UDP) {
		/* UDP to an HTTP/HTTPS listener (its key is TCP's) that no UDP
		 * listener shares: dropped rather than routed on. This second
		 * lookup is what UDP packets that are no listener's pay. */
		lkey.proto = IPPROTO_TCP;
		l = bpf_map_lookup_elem(&rl_listeners, &lkey);
		if (l && (l->flags & RL_LISTENER_LOCAL))
			return rl_finish(skb, RL_REASON_GW_NOT_TCP, 0, 0);
		return RL_CONTINUE;
	}
	if (!l)
		return RL_CONTINUE;
	/* Every packet of a local listener (no conntrack: the gateway's socket
	 * is the state), the first of a TCP/UDP flow: a refused client never
	 * reaches a backend nor the gateway. */
	if (rl_src_refused(flow, l))
		return rl_finish(skb, RL_REASON_GW_SOURCE_REFUSED, 0, 0);
	if (l->flags & RL_LISTENER_LOCAL)
		return rl_gw_local(skb, flow, l);
	if (!rl_rate_take(flow, l, now))
		return rl_finish(skb, RL_REASON_GW_RATE_LIMITED, 0, 0);
	if (e)
		rl_ct_forget_twin(e, flow);   /* a new flow over an ended one */
	__u32 backend_id = rl_maglev_pick(l, flow);
	const struct rl_backend *b = backend_id ? bpf_map_lookup_elem(&rl_backends, &backend_id) : 0;

	if (!b || b->family != flow->family)
		return rl_finish(skb, RL_REASON_GW_NO_BACKEND, 0, 0);

	struct rl_ct_entry fwd = {};
	int reason = rl_ct_create(flow, l, backend_id, b, &fwd, now);

	if (reason)
		return rl_finish(skb, reason, 0, 0);
	return rl_gw_forward(skb, table_id, flow, &fwd, 1);
}

#endif /* RL_GATEWAY_H */
