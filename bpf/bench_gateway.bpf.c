// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The gateway stage under BPF_PROG_TEST_RUN with repeat. The kernel runs the
 * program repeatedly on the same skb, and the gateway's NAT rewrites it
 * (addresses, ports, checksums, TTL): the second run would see a packet of
 * another flow. So each wrapper saves the first RL_BENCH_COPY bytes of the
 * packet on its first run (in its own, unpinned map: a fresh load starts
 * empty) and writes them back before every later one, then runs the very
 * same rl_route_packet() as rl_router:
 *
 *   rl_bench_gw        the same packet every run: after the first (a new
 *                      flow), every run is a conntrack hit.
 *   rl_bench_gw_new    the source port (and, past 60,000 runs, the source
 *                      address) changes every run: every run is a new flow
 *                      (conntrack miss, listener, Maglev, SNAT port, two
 *                      conntrack inserts).
 *   rl_bench_gw_restore / rl_bench_gw_restore_new
 *                      only the restoring, so that its cost can be
 *                      subtracted.
 *
 * Loaded with the agent's pin directory, it uses the same maps as rl_router.
 */
#include "router.bpf.c"

/* Ethernet, IPv4, TCP and 10 bytes of payload; the benchmark's packets are
 * at least this long. */
#define RL_BENCH_COPY 64

struct rl_bench_copy {
	__u32 saved;
	__u32 seq;
	__u8 bytes[RL_BENCH_COPY];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rl_bench_copy);
} rl_bench_copy SEC(".maps");

/* Saves the packet on the first run, restores it on every later one;
 * with `vary`, then gives it a source port (and address) of its own. */
static __always_inline int rl_bench_restore_packet(struct __sk_buff *skb, int vary)
{
	__u32 zero = 0;
	struct rl_bench_copy *c = bpf_map_lookup_elem(&rl_bench_copy, &zero);

	if (!c || skb->len < RL_BENCH_COPY)
		return -1;
	if (!c->saved) {
		if (bpf_skb_load_bytes(skb, 0, c->bytes, RL_BENCH_COPY))
			return -1;
		c->saved = 1;
		return 0;
	}
	if (bpf_skb_store_bytes(skb, 0, c->bytes, RL_BENCH_COPY, 0))
		return -1;
	if (vary) {
		__u32 seq = ++c->seq;
		__be16 port = bpf_htons(1024 + seq % 60000);
		__u8 host = c->bytes[ETH_HLEN + 15] + seq / 60000;   /* saddr's last byte */

		if (bpf_skb_store_bytes(skb, ETH_HLEN + 20, &port, 2, 0) ||
		    bpf_skb_store_bytes(skb, ETH_HLEN + 15, &host, 1, 0))
			return -1;
	}
	return 0;
}

SEC("tc")
int rl_bench_gw(struct __sk_buff *skb)
{
	if (rl_bench_restore_packet(skb, 0))
		return TC_ACT_UNSPEC;
	return rl_route_packet(skb);
}

SEC("tc")
int rl_bench_gw_new(struct __sk_buff *skb)
{
	if (rl_bench_restore_packet(skb, 1))
		return TC_ACT_UNSPEC;
	return rl_route_packet(skb);
}

SEC("tc")
int rl_bench_gw_restore(struct __sk_buff *skb)
{
	return rl_bench_restore_packet(skb, 0) ? TC_ACT_UNSPEC : TC_ACT_OK;
}

SEC("tc")
int rl_bench_gw_restore_new(struct __sk_buff *skb)
{
	return rl_bench_restore_packet(skb, 1) ? TC_ACT_UNSPEC : TC_ACT_OK;
}

/*
 * Header capture's first segment, again and again: after the restore, the
 * client entry of the packet's flow gets RL_CT_CAPTURE back, so that every
 * run parses the segment (the first run opens the flow, without data read:
 * its SYN-less packet is the flow's first). IPv4 TCP only.
 *
 *   rl_bench_gw_capture          restore, flag, rl_route_packet()
 *   rl_bench_gw_capture_restore  restore and flag only, to subtract
 */
static __always_inline void rl_bench_flag_capture(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct rl_bench_copy *c = bpf_map_lookup_elem(&rl_bench_copy, &zero);
	struct rl_ct_key key = { .proto = IPPROTO_TCP, .family = RL_AF_INET };

	if (!c)
		return;
	__builtin_memcpy(key.saddr, &c->bytes[ETH_HLEN + 12], 4);
	__builtin_memcpy(key.daddr, &c->bytes[ETH_HLEN + 16], 4);
	key.sport = (__u16)c->bytes[ETH_HLEN + 20] << 8 | c->bytes[ETH_HLEN + 21];
	key.dport = (__u16)c->bytes[ETH_HLEN + 22] << 8 | c->bytes[ETH_HLEN + 23];
	struct rl_ct_entry *e = bpf_map_lookup_elem(&rl_conntrack, &key);

	if (e)
		e->flags |= RL_CT_CAPTURE;
}

SEC("tc")
int rl_bench_gw_capture(struct __sk_buff *skb)
{
	if (rl_bench_restore_packet(skb, 0))
		return TC_ACT_UNSPEC;
	rl_bench_flag_capture(skb);
	return rl_route_packet(skb);
}

SEC("tc")
int rl_bench_gw_capture_restore(struct __sk_buff *skb)
{
	if (rl_bench_restore_packet(skb, 0))
		return TC_ACT_UNSPEC;
	rl_bench_flag_capture(skb);
	return TC_ACT_OK;
}
