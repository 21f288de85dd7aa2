// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The benchmark's baseline: the same parse as rl_router, then the kernel's
 * own FIB lookup (bpf_fib_lookup) instead of routelet's LPM trie, over the
 * same routes installed in the kernel with `ip -batch`. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define RL_AF_INET 2
#define RL_AF_INET6 10

SEC("tc")
int rl_bench_fib(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct bpf_fib_lookup params = {};
	struct ethhdr *eth = data;
	long ret;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return TC_ACT_OK;
		params.family = RL_AF_INET;
		params.tos = ip->tos;
		params.l4_protocol = ip->protocol;
		params.tot_len = bpf_ntohs(ip->tot_len);
		params.ipv4_src = ip->saddr;
		params.ipv4_dst = ip->daddr;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return TC_ACT_OK;
		params.family = RL_AF_INET6;
		params.l4_protocol = ip6->nexthdr;
		params.tot_len = bpf_ntohs(ip6->payload_len);
		__builtin_memcpy(params.ipv6_src, &ip6->saddr, 16);
		__builtin_memcpy(params.ipv6_dst, &ip6->daddr, 16);
	} else {
		return TC_ACT_OK;
	}
	params.ifindex = skb->ingress_ifindex;
	ret = bpf_fib_lookup(skb, &params, sizeof(params), 0);
	/* The verdict says whether the FIB found a route: 2 when it did. */
	return ret == BPF_FIB_LKUP_RET_SUCCESS || ret == BPF_FIB_LKUP_RET_NO_NEIGH ? TC_ACT_SHOT : TC_ACT_OK;
}
