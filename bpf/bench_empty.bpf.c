// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The benchmark's floor: a TC program that does nothing, so that the cost
 * of BPF_PROG_TEST_RUN itself can be subtracted from every other figure. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int rl_bench_empty(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}
