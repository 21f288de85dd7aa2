/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The routelet ABI: every map key and value shared by the BPF programs in
 * bpf/ and the Swift agent (imported as the CRouteletABI module).
 *
 * Rules for changing this file:
 *   - every struct has explicit padding and a _Static_assert on its size;
 *   - any change to a layout, a map's type, key, value or size, or to the
 *     meaning of a field bumps RL_ABI_VERSION. The agent refuses to reuse
 *     pinned maps written under another version.
 *
 * Byte order: addresses (addr, gateway) are stored in network order, exactly
 * as they appear in the packet; every other integer is in host order.
 */
#ifndef ROUTELET_ABI_H
#define ROUTELET_ABI_H

#include <linux/types.h>

#define RL_ABI_VERSION 1

/* Upper bounds, also the sizes of the maps declared in router.bpf.c. */
#define RL_MAX_NEXTHOPS 16          /* next hops in one ECMP/WCMP group */
#define RL_MAX_NEXTHOP_WEIGHT 256   /* weight of one next hop */
#define RL_MAX_INTERFACES 4096      /* interfaces bound to a table */
#define RL_MAX_ROUTES_V4 (1 << 21)  /* IPv4 prefixes, all tables together */
#define RL_MAX_ROUTES_V6 (1 << 20)  /* IPv6 prefixes, all tables together */
#define RL_MAX_GROUPS (1 << 16)     /* distinct next-hop groups */
#define RL_MAX_ROUTE_STATS (1 << 22)/* per-route counters */
#define RL_MAX_LOCAL_ADDRS 4096     /* the node's own addresses */

/* The TC filter routelet owns on each bound interface (clsact ingress). */
#define RL_TC_HANDLE 0x726c
#define RL_TC_PRIORITY 1

/* Address families as the kernel numbers them (AF_INET, AF_INET6). */
#define RL_AF_INET 2
#define RL_AF_INET6 10

/* rl_ifaces: ifindex -> the table that routes what arrives there. */
struct rl_iface {
	__u32 table_id;
	__u32 flags;                /* reserved, 0 */
};
_Static_assert(sizeof(struct rl_iface) == 8, "rl_iface layout");

/*
 * rl_routes_v4 / rl_routes_v6 (LPM tries): the key's prefixlen counts the
 * 32 bits of table_id plus the route's prefix length, so one trie holds
 * every table and a lookup can never cross from one table to another.
 */
struct rl_lpm_key_v4 {
	__u32 prefixlen;            /* 32 + route prefix length */
	__u32 table_id;
	__u8 addr[4];
};
_Static_assert(sizeof(struct rl_lpm_key_v4) == 12, "rl_lpm_key_v4 layout");

struct rl_lpm_key_v6 {
	__u32 prefixlen;            /* 32 + route prefix length */
	__u32 table_id;
	__u8 addr[16];
};
_Static_assert(sizeof(struct rl_lpm_key_v6) == 24, "rl_lpm_key_v6 layout");

enum rl_route_type {
	RL_ROUTE_UNICAST = 1,       /* forward through the group's next hops */
	RL_ROUTE_BLACKHOLE = 2,     /* drop and count */
	RL_ROUTE_LOCAL = 3,         /* hand to the node's own stack unchanged */
};

/* The value of both route tries. */
struct rl_route {
	__u32 id;                   /* stable route id: key of rl_route_stats */
	__u32 group_id;             /* key of rl_groups; Unicast only */
	__u8 type;                  /* enum rl_route_type */
	__u8 pad[3];
};
_Static_assert(sizeof(struct rl_route) == 12, "rl_route layout");

/* One next hop. A zero gateway family means on-link: the packet's own
 * destination is resolved on the egress interface. */
struct rl_nexthop {
	__u32 ifindex;              /* egress interface */
	__u32 weight;               /* 1..RL_MAX_NEXTHOP_WEIGHT */
	__u8 family;                /* RL_AF_INET, RL_AF_INET6, or 0 (on-link) */
	__u8 pad[3];
	__u8 gateway[16];           /* IPv4 in the first 4 bytes */
};
_Static_assert(sizeof(struct rl_nexthop) == 28, "rl_nexthop layout");

/* rl_groups: group id -> next hops. A flow picks the next hop whose
 * cumulative weight range holds (flow hash % total_weight). */
struct rl_group {
	__u32 count;                /* 1..RL_MAX_NEXTHOPS */
	__u32 total_weight;         /* sum of the first count weights */
	struct rl_nexthop nexthops[RL_MAX_NEXTHOPS];
};
_Static_assert(sizeof(struct rl_group) == 8 + 28 * RL_MAX_NEXTHOPS, "rl_group layout");

/* rl_local_addrs: the node's own addresses; packets to them go to the kernel. */
struct rl_addr_key {
	__u8 family;                /* RL_AF_INET or RL_AF_INET6 */
	__u8 pad[3];
	__u8 addr[16];              /* IPv4 in the first 4 bytes, rest zero */
};
_Static_assert(sizeof(struct rl_addr_key) == 20, "rl_addr_key layout");

/* rl_route_stats (per-CPU, by route id) and rl_reason_stats (per-CPU, by
 * enum rl_reason): what the program did, in packets and bytes. */
struct rl_counter {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct rl_counter) == 16, "rl_counter layout");

/* Why the program returned what it returned; the key of rl_reason_stats. */
enum rl_reason {
	RL_REASON_FORWARDED = 0,        /* redirected to a next hop */
	RL_REASON_BLACKHOLE = 1,        /* dropped by a Blackhole route */
	RL_REASON_LOCAL_ROUTE = 2,      /* passed by a Local route */
	RL_REASON_NOT_IP = 3,           /* passed: not IPv4/IPv6 */
	RL_REASON_VLAN = 4,             /* passed: VLAN-tagged */
	RL_REASON_MALFORMED = 5,        /* passed: truncated or bad header */
	RL_REASON_NO_TABLE = 6,         /* passed: interface bound to no table */
	RL_REASON_NO_ROUTE = 7,         /* passed: no prefix matched */
	RL_REASON_LOCAL_ADDR = 8,       /* passed: destination is the node's own */
	RL_REASON_TTL = 9,              /* passed: TTL / hop limit <= 1 */
	RL_REASON_MTU = 10,             /* passed: larger than the egress MTU */
	RL_REASON_NO_NEXTHOP = 11,      /* passed: group missing or empty */
	RL_REASON_REDIRECT_FAILED = 12, /* dropped: the kernel refused the redirect */
	RL_REASON_NOT_HOST = 13,        /* passed: frame not sent to this interface's MAC */
	RL_REASON_SCOPE = 14,           /* passed: multicast, broadcast or link-local destination */
	RL_REASON_COUNT = 15,
};

/* rl_meta (array of one): facts about the pinned maps themselves. */
struct rl_meta {
	__u32 abi_version;          /* RL_ABI_VERSION of whoever created the maps */
	__u32 pad;
};
_Static_assert(sizeof(struct rl_meta) == 8, "rl_meta layout");

#endif /* ROUTELET_ABI_H */
