// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The router under BPF_PROG_TEST_RUN with repeat: the kernel runs the
 * program repeatedly on the same skb, so each forward would lower the TTL
 * until the packet takes the TTL exit. rl_bench_router restores TTL 64 (and
 * the IPv4 header checksum, from scratch) before each run of the very same
 * rl_route_packet(); rl_bench_restore does only the restoring, so its cost
 * can be subtracted. Loaded with the agent's pin directory, it uses the same
 * maps as rl_router.
 */
#include "router.bpf.c"

static __always_inline void rl_bench_restore_ttl(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		__u16 *words = (void *)ip;
		__u32 sum = 0;

		if ((void *)(ip + 1) > data_end)
			return;
		ip->ttl = 64;
		ip->check = 0;
#pragma unroll
		for (int i = 0; i < 10; i++)
			sum += words[i];
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		ip->check = (__sum16)~sum;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return;
		ip6->hop_limit = 64;
	}
}

SEC("tc")
int rl_bench_router(struct __sk_buff *skb)
{
	rl_bench_restore_ttl(skb);
	return rl_route_packet(skb);
}

SEC("tc")
int rl_bench_restore(struct __sk_buff *skb)
{
	rl_bench_restore_ttl(skb);
	return TC_ACT_OK;
}

/* The lookup alone, for the benchmark and the differential test against the
 * kernel FIB: the same parse as rl_bench_fib (bench_fib.bpf.c), then
 * rl_lookup_route() in the table bound to the arrival interface. The verdict
 * is the matched route's id, 0 when no route holds the destination (ids
 * start at 1). */
SEC("tc")
int rl_bench_lookup(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 ifindex = skb->ingress_ifindex;
	const struct rl_route *route;
	const struct rl_iface *iface;
	struct ethhdr *eth = data;
	__u32 dst[4];
	__u8 family;

	if ((void *)(eth + 1) > data_end)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return 0;
		family = RL_AF_INET;
		dst[0] = ip->daddr;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return 0;
		family = RL_AF_INET6;
		__builtin_memcpy(dst, &ip6->daddr, 16);
	} else {
		return 0;
	}
	iface = bpf_map_lookup_elem(&rl_ifaces, &ifindex);
	if (!iface)
		return 0;
	route = rl_lookup_route(iface->table_id, family, dst);
	return route ? (int)route->id : 0;
}
