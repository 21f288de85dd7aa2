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

#define RL_ABI_VERSION 8

/* Upper bounds, also the sizes of the maps declared in router.bpf.c. */
#define RL_MAX_NEXTHOPS 16          /* next hops in one ECMP/WCMP group */
#define RL_MAX_NEXTHOP_WEIGHT 256   /* weight of one next hop */
#define RL_GROUP_BUCKETS 4096       /* hash buckets of one group (a power of two) */
#define RL_MAX_INTERFACES 4096      /* interfaces bound to a table */
#define RL_MAX_ROUTES_V4 (1 << 21)  /* IPv4 prefixes, all tables together */
#define RL_MAX_ROUTES_V6 (1 << 20)  /* IPv6 prefixes, all tables together */
#define RL_MAX_GROUPS (1 << 16)     /* distinct next-hop groups */
#define RL_MAX_ROUTE_STATS (1 << 22)/* per-route counters */
#define RL_MAX_LOCAL_ADDRS 4096     /* the node's own addresses */
#define RL_MAX_LISTENERS 1024       /* L4 gateway listeners; ids are 0..RL_MAX_LISTENERS-1 */
#define RL_MAX_BACKENDS 65536       /* gateway backends, all listeners; ids are 1..RL_MAX_BACKENDS-1 */
#define RL_MAX_CONNTRACK (1 << 19)  /* conntrack entries (two per NATed flow), LRU */
#define RL_MAX_MAGLEV_SIZE 131071   /* slots of one listener's Maglev table */
#define RL_MAX_SOURCE_RANGES (1 << 18) /* sourceRanges entries per family, all listeners and lists together */
#define RL_MAX_RATE_BUCKETS (1 << 17)  /* rateLimit token buckets (one per client address and listener), LRU */
#define RL_MAX_COMPILED_TABLES 256 /* tables with a compiled IPv4 lookup (rl_lookup_v4) */
#define RL_REASON_SLOTS 64          /* size of rl_reason_stats: room for new reasons without a new ABI */

/* The TC filter routelet owns on each bound interface (clsact ingress). */
#define RL_TC_HANDLE 0x726c
#define RL_TC_PRIORITY 1

/* Address families as the kernel numbers them (AF_INET, AF_INET6). */
#define RL_AF_INET 2
#define RL_AF_INET6 10

/* rl_ifaces: ifindex -> the stages that run on what arrives there. */
struct rl_iface {
	__u32 table_id;             /* the RouteTable stage's table; 0: no RouteTable stage */
	__u32 flags;                /* RL_IFACE_* */
};
/* The gateway stage runs: listener traffic is load balanced, replies of
 * gateway flows are reverse-NATed. */
#define RL_IFACE_GATEWAY 1
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

/*
 * rl_lookup_v4 (hash of maps): table id -> that table's compiled IPv4
 * lookup, DIR-24-8 in an mmapable array of 1 KiB rows (CompiledLookupV4 in
 * Sources/DataplaneModel is the writer and documents the layout). Rows
 * [0, 65536) are the first level, 256 entries of 32 bits per row indexed by
 * the address's top 24 bits; an entry is 0 (no route), RL_DIR_CHUNK | the row
 * of a 256-entry chunk indexed by the low 8 bits, or a slot. Slot s is a
 * struct rl_dir_record at row RL_DIR_FIRST_RECORD_ROW + s / 64, offset
 * (s % 64) * 16. A table without an entry here is looked up in the trie.
 */
#define RL_DIR_ROW_WORDS 256
#define RL_DIR_CHUNK 0x80000000u
#define RL_DIR_FIRST_RECORD_ROW 65537
#define RL_DIR_RECORDS_PER_ROW 64

struct rl_dir_row {
	__u32 words[RL_DIR_ROW_WORDS];
};
_Static_assert(sizeof(struct rl_dir_row) == 1024, "rl_dir_row layout");

/* A slot: the route as the trie holds it (the program reads it as a struct
 * rl_route), then its prefix, so that the agent can read the table back. */
struct rl_dir_record {
	__u32 id;
	__u32 group_id;
	__u8 type;
	__u8 prefixlen;             /* 0..32; 0xff once the slot is freed */
	__u8 pad[2];
	__u32 addr;                 /* the prefix, host order */
};
_Static_assert(sizeof(struct rl_dir_record) == 16, "rl_dir_record layout");

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

/* rl_groups: group id -> next hops. A flow takes the next hop that
 * buckets[flow hash % RL_GROUP_BUCKETS] names. The agent fills the buckets
 * by weighted rendezvous hashing over the next hops (docs/dataplane.md,
 * "ECMP"): a function of the group's next hops alone, so that when one
 * leaves only its buckets change hands, and when it comes back it takes
 * back exactly those. */
struct rl_group {
	__u32 count;                /* 1..RL_MAX_NEXTHOPS */
	__u32 total_weight;         /* sum of the first count weights (for readers) */
	struct rl_nexthop nexthops[RL_MAX_NEXTHOPS];
	__u8 buckets[RL_GROUP_BUCKETS]; /* index into nexthops, < count */
};
_Static_assert(sizeof(struct rl_group) == 8 + 28 * RL_MAX_NEXTHOPS + RL_GROUP_BUCKETS, "rl_group layout");
_Static_assert((RL_GROUP_BUCKETS & (RL_GROUP_BUCKETS - 1)) == 0, "RL_GROUP_BUCKETS is a power of two");

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
	RL_REASON_GW_FORWARDED = 15,    /* gateway: to a backend (DNAT, maybe SNAT), redirected */
	RL_REASON_GW_REPLY = 16,        /* gateway: a backend's reply, reverse-NATed, redirected */
	RL_REASON_GW_NO_BACKEND = 17,   /* dropped: listener without a backend in its Maglev table */
	RL_REASON_GW_NO_PORT = 18,      /* dropped: no free SNAT source port toward the backend */
	RL_REASON_GW_NO_ROUTE = 19,     /* passed, not NATed: no route toward the backend or client */
	RL_REASON_GW_LOCAL = 20,        /* gateway: HTTP/HTTPS listener, assigned to the local gateway's socket and marked */
	RL_REASON_GW_NO_SOCKET = 21,    /* dropped: HTTP/HTTPS listener, no gateway socket (routelet gateway not running) */
	RL_REASON_GW_NOT_TCP = 22,      /* dropped: UDP to an HTTP/HTTPS listener's address and port */
	RL_REASON_GW_LOCAL_UNASSIGNED = 23, /* gateway: socket found but bpf_sk_assign refused; marked, the kernel's own lookup delivers */
	RL_REASON_GW_SOURCE_REFUSED = 24, /* dropped: the client's address is denied, or not allowed, by the listener's sourceRanges */
	RL_REASON_GW_RATE_LIMITED = 25, /* dropped: a new flow beyond the client's rateLimit on a TCP/UDP listener */
	RL_REASON_COUNT = 26,
};
_Static_assert(RL_REASON_COUNT <= RL_REASON_SLOTS, "rl_reason_stats has a slot per reason");

/* ---- Gateway stage (GatewayRoute, TCP and UDP listeners) ---- */

/* rl_listeners: (address, port, protocol) -> listener. */
struct rl_listener_key {
	__u8 family;                /* RL_AF_INET or RL_AF_INET6 */
	__u8 proto;                 /* IPPROTO_TCP or IPPROTO_UDP */
	__u16 port;
	__u8 addr[16];              /* IPv4 in the first 4 bytes, rest zero */
};
_Static_assert(sizeof(struct rl_listener_key) == 20, "rl_listener_key layout");

#define RL_LISTENER_SNAT 1          /* rewrite the client's address to the node's toward the backend */
/* HTTP/HTTPS: not load balanced but handed to the local `routelet gateway`,
 * whose socket is bound to the listener's own address and port: the packet
 * is assigned to that socket (bpf_sk_assign) and marked for local delivery
 * (see "Local delivery" below). Such a listener has no Maglev table;
 * maglev_size and idle_timeout_s are 0. The key's proto is IPPROTO_TCP. */
#define RL_LISTENER_LOCAL 2
/* sourceRanges: a client whose address is in none of the listener's
 * RL_SRC_ALLOW ranges is refused; one in any RL_SRC_DENY range is refused
 * (deny wins). Without the flag the list is not consulted. Checked on every
 * client packet of a local (HTTP/HTTPS) listener, before the handoff, and
 * on the first packet of every TCP/UDP flow, before the rate limit. */
#define RL_LISTENER_ALLOW_LIST 4
#define RL_LISTENER_DENY_LIST 16
/* accessLog.headers of a TCP listener: each flow's first data segment from
 * the client is read for an HTTP/1.x request (lib/capture.h), with the
 * header names in rl_capture_names, and one rl_capture_record goes to
 * rl_capture_ring. Set only on listeners that have an rl_capture_names entry. */
#define RL_LISTENER_CAPTURE 8

struct rl_listener {
	__u32 id;                   /* index of rl_maglev and rl_listener_stats */
	__u32 flags;                /* RL_LISTENER_* */
	__u32 maglev_size;          /* slots of its Maglev table (a prime) */
	__u32 idle_timeout_s;       /* a flow without packets for this long ends */
	__u32 rate_per_s;           /* rateLimit of new TCP/UDP flows per client address; 0: none (HTTP: the gateway's) */
	__u32 rate_burst;           /* the bucket size, >= rate_per_s */
};
_Static_assert(sizeof(struct rl_listener) == 24, "rl_listener layout");

/* rl_sources_v4 / rl_sources_v6 (LPM tries): the sourceRanges of every
 * listener. The key's prefixlen counts the 64 bits of listener_id and list
 * plus the range's own length, so a lookup never crosses from one listener
 * or list to another; the value is unused (1). Two lookups per check, deny
 * then allow, since a deny must win over a longer allow. */
#define RL_SRC_ALLOW 1
#define RL_SRC_DENY 2

struct rl_src_key_v4 {
	__u32 prefixlen;            /* 64 + range length */
	__u32 listener_id;
	__u32 list;                 /* RL_SRC_ALLOW or RL_SRC_DENY */
	__u8 addr[4];
};
_Static_assert(sizeof(struct rl_src_key_v4) == 16, "rl_src_key_v4 layout");

struct rl_src_key_v6 {
	__u32 prefixlen;            /* 64 + range length */
	__u32 listener_id;
	__u32 list;
	__u8 addr[16];
};
_Static_assert(sizeof(struct rl_src_key_v6) == 28, "rl_src_key_v6 layout");

/* rl_rate_buckets (LRU hash): a token bucket per (listener, client address)
 * of listeners with rate_per_s. Tokens are counted in billionths, so that
 * refill is elapsed_ns * rate_per_s with no division; a new flow costs
 * RL_NS_PER_TOKEN. Updated without atomics: two CPUs taking a client's
 * first packets at once may each spend from the same old balance (the
 * limit can be exceeded by the number of CPUs, never undercut). */
#define RL_NS_PER_TOKEN 1000000000ULL

struct rl_rate_key {
	__u32 listener_id;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];              /* IPv4 in the first 4 bytes */
};
_Static_assert(sizeof(struct rl_rate_key) == 24, "rl_rate_key layout");

struct rl_rate_bucket {
	__u64 tokens;               /* billionths of a token */
	__u64 last_ns;              /* bpf_ktime_get_ns() of the last refill */
};
_Static_assert(sizeof(struct rl_rate_bucket) == 16, "rl_rate_bucket layout");

/* rl_listener_refusals (per-CPU array, by listener id): what the listener's
 * sourceRanges and rateLimit refused. */
struct rl_refusals {
	__u64 source_packets;       /* packets from refused sources */
	__u64 rate_flows;           /* new flows beyond the rate */
};
_Static_assert(sizeof(struct rl_refusals) == 16, "rl_refusals layout");

/* ---- Header capture (accessLog.headers of TCP listeners, lib/capture.h) ---- */

#define RL_CAPTURE_HEADERS 16       /* header names per listener (GatewayAccessLog.maxHeaders) */
#define RL_CAPTURE_NAME_LEN 64      /* bytes of one header name; longer names are not captured */
#define RL_CAPTURE_METHOD_LEN 16    /* a longer method is not a request line */
#define RL_CAPTURE_PATH_LEN 256     /* bytes of the request target kept; the rest is cut */
#define RL_CAPTURE_VALUE_LEN 128    /* bytes of one header value kept; the rest is cut */
#define RL_CAPTURE_SCAN 2048        /* bytes of the segment read, at most (a power of two) */
#define RL_CAPTURE_RING_SIZE (1 << 22) /* rl_capture_ring, bytes: ~1,700 records of headroom */

/* rl_capture_names (hash): listener id -> the header names to capture, in
 * the route's order, lowercase. hash[i] is FNV-1a (64 bits) of name i: the
 * parser compares one word per header line, not the bytes. A request can
 * only make a header it sent count as another it could have sent by name,
 * so a collision (2^-64) spoofs nothing. digest is the agent's name for
 * the whole list, opaque to the program: records carry it, so that the
 * agent names a record's values with the list that captured them even
 * after a change. name and len are for readers (routelet dump). */
struct rl_capture_names {
	__u32 count;                /* 0..RL_CAPTURE_HEADERS */
	__u32 digest;
	__u64 hash[RL_CAPTURE_HEADERS];
	__u8 len[RL_CAPTURE_HEADERS];
	__u8 name[RL_CAPTURE_HEADERS][RL_CAPTURE_NAME_LEN];
};
_Static_assert(sizeof(struct rl_capture_names) == 8 + 128 + 16 + 16 * 64, "rl_capture_names layout");

/* FNV-1a, 64 bits: the hash of rl_capture_names. */
#define RL_FNV_OFFSET 0xcbf29ce484222325ULL
#define RL_FNV_PRIME 0x100000001b3ULL

#define RL_CAPTURE_PATH_CUT 1       /* the request target was longer than RL_CAPTURE_PATH_LEN */
#define RL_CAPTURE_HEADERS_CUT 2    /* the segment ended before the header section did */

/* One record of rl_capture_ring: a request line and the values of the
 * listener's header names, from a flow's first data segment. Fixed size,
 * written in place in the ring: the bytes of method, path and each value
 * past their lengths are left over from earlier records (the ring is the
 * agent's). */
struct rl_capture_record {
	__u64 time_ns;              /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 listener_id;
	__u32 backend_id;
	__u32 names_digest;         /* rl_capture_names.digest of the list used */
	__u8 family;
	__u8 flags;                 /* RL_CAPTURE_* */
	__u8 method_len;
	__u8 version;               /* HTTP/1.x: x */
	__u16 client_port;
	__u16 path_len;             /* bytes in path */
	__u16 present;              /* bit i: header i was in the request */
	__u16 cut;                  /* bit i: its value was longer than RL_CAPTURE_VALUE_LEN */
	__u8 client_addr[16];       /* IPv4 in the first 4 bytes */
	__u8 method[RL_CAPTURE_METHOD_LEN];
	__u8 value_len[RL_CAPTURE_HEADERS];
	__u8 path[RL_CAPTURE_PATH_LEN];
	__u8 value[RL_CAPTURE_HEADERS][RL_CAPTURE_VALUE_LEN];
};
_Static_assert(sizeof(struct rl_capture_record) == 32 + 16 + 16 + 16 + 256 + 16 * 128, "rl_capture_record layout");

/* rl_capture_stats (per-CPU array, by listener id). */
struct rl_capture_counter {
	__u64 records;              /* records written to the ring */
	__u64 lost;                 /* records the full ring refused */
	__u64 unparsed;             /* first segments that were not an HTTP/1.x request line */
};
_Static_assert(sizeof(struct rl_capture_counter) == 24, "rl_capture_counter layout");

/* rl_backends: backend id -> where its flows go. The id is what Maglev
 * tables hold; an entry stays while conntrack may still name it. */
struct rl_backend {
	__u8 addr[16];              /* IPv4 in the first 4 bytes */
	__u8 snat_addr[16];         /* the node's address toward the backend (SNAT source) */
	__u16 port;
	__u8 family;
	__u8 flags;                 /* reserved, 0 */
};
_Static_assert(sizeof(struct rl_backend) == 36, "rl_backend layout");

/* rl_maglev (array of maps): listener id -> its Maglev table, an array of
 * maglev_size backend ids, swapped whole by replacing the outer entry. */

/* rl_conntrack (LRU hash): a packet's 5-tuple as it arrives -> the rewrite
 * it gets. A NATed flow has two entries: the client's (to the listener)
 * and the reply's (from the backend); each entry's rewritten tuple,
 * reversed, is the key of the other. SNAT source ports are allocated by
 * inserting the reply entry with BPF_NOEXIST, so the reply key is also the
 * port reservation (no separate map that could disagree with it). */
struct rl_ct_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
_Static_assert(sizeof(struct rl_ct_key) == 40, "rl_ct_key layout");

#define RL_CT_REPLY 1               /* the entry of a backend's replies */
#define RL_CT_CLOSING 2             /* FIN or RST seen: ends after RL_CT_CLOSE_TIMEOUT_S */
#define RL_CT_CAPTURE 4             /* the client's first data segment is still to be read (RL_LISTENER_CAPTURE) */

struct rl_ct_entry {
	__u64 last_seen_ns;         /* bpf_ktime_get_ns() of the last packet */
	__u8 saddr[16];             /* the packet leaves with this source ... */
	__u8 daddr[16];             /* ... and this destination */
	__u16 sport;
	__u16 dport;
	__u32 listener_id;
	__u32 backend_id;
	__u32 timeout_s;            /* idle timeout */
	__u8 flags;                 /* RL_CT_* */
	__u8 pad[7];
};
_Static_assert(sizeof(struct rl_ct_entry) == 64, "rl_ct_entry layout");

#define RL_CT_CLOSE_TIMEOUT_S 10    /* linger of a flow after FIN or RST */
/* SNAT source ports: below Linux's default ip_local_port_range
 * (32768-60999), so the node's own connections do not collide. A port is
 * taken per (backend, node address) for the life of a flow plus its 10 s
 * linger: 31,744 ports allow ~3,000 new flows/s per backend (computed);
 * 61000-65535 allowed ~450, and routelet-bench gateway saw SNAT ports run
 * out at that rate. */
#define RL_SNAT_PORT_MIN 1024
#define RL_SNAT_PORT_MAX 32767
#define RL_SNAT_TRIES 32            /* candidate ports tried per new flow */

/* rl_listener_stats (per-CPU array, by listener id) and rl_backend_stats
 * (per-CPU array, by backend id). */
struct rl_gw_counter {
	__u64 packets;
	__u64 bytes;
	__u64 flows;                /* new flows (connections) */
};
_Static_assert(sizeof(struct rl_gw_counter) == 24, "rl_gw_counter layout");

/*
 * Local delivery of RL_LISTENER_LOCAL traffic. The program sets
 * (skb->mark & ~mask) | mark on a packet it assigned to the gateway's
 * socket; the kernel still routes it, and the agent's policy rules deliver
 * marked packets locally (what TPROXY setups and Cilium's proxy do):
 *
 *   ip rule add pref RL_GATEWAY_RULE_PRIORITY fwmark MARK/MASK lookup RL_GATEWAY_TABLE proto RL_GATEWAY_RTPROT
 *   ip route add local 0.0.0.0/0 dev lo table RL_GATEWAY_TABLE proto RL_GATEWAY_RTPROT
 *   (and the same with -6 and ::/0)
 *
 * The mark is a single bit under a single-bit mask, so setting it never
 * changes bits someone else owns. It is outside the bits kube-proxy (0x4000,
 * 0x8000), Cilium's magic (0x0f00), Tailscale (0xff0000) and Istio (0x539)
 * use, but inside Calico's default mark mask (0xffff0000): no bit is free
 * on every node, so the agent writes the mark it uses into rl_config and
 * the rule follows it; 0 there means these defaults.
 * The table number is "rl" (0x726c, like RL_TC_HANDLE); the rule priority
 * comes before the main table (32766) and after the local one (0); the
 * protocol number tags routelet's rules and routes (ip rule/route show
 * "proto 114"), unassigned in <linux/rtnetlink.h>.
 */
#define RL_GATEWAY_MARK 0x20000000
#define RL_GATEWAY_MARK_MASK 0x20000000
#define RL_GATEWAY_TABLE 29292
#define RL_GATEWAY_RULE_PRIORITY 29
#define RL_GATEWAY_RTPROT 114

/* rl_config (array of one): settings the agent writes for the programs. */
struct rl_config {
	__u32 gateway_mark;         /* skb->mark bits of RL_LISTENER_LOCAL packets; 0: RL_GATEWAY_MARK */
	__u32 gateway_mark_mask;    /* the bits they replace; 0: RL_GATEWAY_MARK_MASK */
};
_Static_assert(sizeof(struct rl_config) == 8, "rl_config layout");

/* rl_meta (array of one): facts about the pinned maps themselves. */
struct rl_meta {
	__u32 abi_version;          /* RL_ABI_VERSION of whoever created the maps */
	__u32 pad;
};
_Static_assert(sizeof(struct rl_meta) == 8, "rl_meta layout");

#endif /* ROUTELET_ABI_H */
