/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header capture: accessLog.headers of TCP listeners, which no proxy
 * terminates (design/gateway.md, "Header elements in eBPF"). Included by
 * lib/gateway.h.
 *
 * A flow of a listener with RL_LISTENER_CAPTURE starts with RL_CT_CAPTURE on
 * its client entry. The first client packet that carries data clears it and
 * is read here: up to RL_CAPTURE_SCAN bytes go into a per-CPU scratch
 * buffer (bpf_skb_load_bytes, so a non-linear skb is read too), and a
 * state machine run by bpf_loop, a byte or a run of plain bytes per step,
 * recognises
 *
 *     METHOD SP request-target SP HTTP/1.x CRLF
 *     (field-name ":" OWS field-value CRLF)*
 *     CRLF
 *
 * and keeps the values of the listener's header names (matched
 * case-insensitively: the 64-bit FNV-1a of the lowercased name against
 * the list's hashes). The rl_capture_record is reserved in rl_capture_ring
 * and filled in place; it is submitted when the request line is complete,
 * with whatever headers the segment holds, and discarded when it is not
 * (counted as unparsed). Later packets of the flow pay one flag test.
 * Limits: the first segment only (no TCP
 * reassembly), no TLS, no pipelined requests after the first, values and
 * the target cut at a fixed size, the first occurrence of a repeated
 * header.
 */
#ifndef RL_CAPTURE_H
#define RL_CAPTURE_H


/* listener id -> the header names to capture. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RL_MAX_LISTENERS);
	__type(key, __u32);
	__type(value, struct rl_capture_names);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_capture_names SEC(".maps");

/* listener id -> records, records lost, unparsed segments, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RL_MAX_LISTENERS);
	__type(key, __u32);
	__type(value, struct rl_capture_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_capture_stats SEC(".maps");

/* The parser's state. It lives in the scratch map value, not on the
 * stack: the verifier tracks no values in a map, so bpf_loop's callback
 * converges after one look instead of once per combination of states. */
struct rl_capture_state_vars {
	__u32 len;          /* bytes in buf */
	__u32 state;        /* enum rl_capture_state */
	__u32 start;        /* where the current token began */
	__u32 header;       /* the listed header whose value is read, or RL_CAP_NO_HEADER */
	__u64 hash;         /* FNV-1a of the header name so far, lowercased */
	__u32 value_len;    /* the value's length up to its last non-blank byte */
	__u32 line_done;    /* the request line was complete */
	__u32 headers_done; /* the empty line ending the headers was seen */
	__u32 pos;          /* the next byte to read */
};

/* The segment and the parser: too big for the stack. The record is built
 * in the ring itself (bpf_ringbuf_reserve), so that no copy of it is made. */
struct rl_capture_scratch {
	__u8 buf[RL_CAPTURE_SCAN];
	struct rl_capture_state_vars p;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rl_capture_scratch);
	__uint(pinning, LIBBPF_PIN_BY_NAME);   /* so that a restart reuses the program: same maps */
} rl_capture_scratch SEC(".maps");

/* Built without capture (router_nocapture.bpf.c, for kernels without the
 * ring buffer or bpf_loop), the program keeps the maps above, so that both
 * builds share one set of pins, and has neither the ring nor the parser. */
#ifndef RL_NO_CAPTURE

/* Records for the agent (CaptureLogService). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RL_CAPTURE_RING_SIZE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rl_capture_ring SEC(".maps");

enum rl_capture_state {
	RL_CAP_METHOD,
	RL_CAP_TARGET,
	RL_CAP_VERSION,
	RL_CAP_LINE_LF,
	RL_CAP_NAME_START,
	RL_CAP_NAME,
	RL_CAP_OWS,
	RL_CAP_VALUE,
	RL_CAP_LF,
	RL_CAP_END_LF,
	RL_CAP_FAILED,      /* not an HTTP/1.x request line */
};

#define RL_CAP_NO_HEADER RL_CAPTURE_HEADERS

/* v & mask, with the mask kept: a bounds check the compiler already made
 * would let it drop the mask, and the verifier does not always follow. */
static __always_inline __u32 rl_cap_mask(__u32 v, __u32 mask)
{
	asm volatile("" : "+r"(v));
	return v & mask;
}

/* "HTTP/1." as a little-endian word: byte n is (RL_CAP_VERSION_WORD >> 8n). */
#define RL_CAP_VERSION_WORD 0x2e312f50545448ULL

/* bpf_loop's context: where the parser works, the names it looks for and
 * the record it fills, reserved in the ring. */
struct rl_capture_parse {
	struct rl_capture_scratch *s;
	const struct rl_capture_names *names;
	struct rl_capture_record *rec;
};

/* RFC 9110 tchar. */
static __always_inline int rl_cap_tchar(__u8 c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
	case '-': case '.': case '^': case '_': case '`': case '|': case '~':
		return 1;
	}
	return 0;
}

static __always_inline __u8 rl_cap_lower(__u8 c)
{
	return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

/* The listed header whose name, n bytes, hashed to p->hash, or
 * RL_CAP_NO_HEADER. */
static __always_inline __u32 rl_cap_match(const struct rl_capture_names *names, const struct rl_capture_scratch *s,
					   const struct rl_capture_record *rec, __u32 n)
{
	if (!names || n == 0 || n > RL_CAPTURE_NAME_LEN)
		return RL_CAP_NO_HEADER;
	for (__u32 i = 0; i < RL_CAPTURE_HEADERS; i++) {
		if (i >= names->count)
			break;
		if (names->hash[i] == s->p.hash && names->len[i] == n && !(rec->present & (1 << i)))
			return i;
	}
	return RL_CAP_NO_HEADER;
}

/* The CR that ends a value: a listed header's value is kept. */
static __always_inline void rl_cap_value_end(struct rl_capture_state_vars *p, struct rl_capture_record *rec)
{
	__u32 h = p->header;

	if (h < RL_CAPTURE_HEADERS) {
		rec->present |= 1 << h;
		rec->value_len[h] = p->value_len > RL_CAPTURE_VALUE_LEN ? RL_CAPTURE_VALUE_LEN : p->value_len;
		if (p->value_len > RL_CAPTURE_VALUE_LEN)
			rec->cut |= 1 << h;
	}
}

/* The header section ends early: keep the request line and what was read. */
#define RL_CAP_STOP 1

/* One byte of the segment. Returns 1 to stop. */
static __always_inline long rl_cap_byte(__u32 idx, struct rl_capture_parse *parse)
{
	struct rl_capture_scratch *s = parse->s;
	struct rl_capture_record *rec = parse->rec;

	if (!s || !rec || idx >= s->p.len)
		return 1;
	struct rl_capture_state_vars *p = &s->p;
	__u8 c = s->buf[rl_cap_mask(idx, RL_CAPTURE_SCAN - 1)];
	__u32 n = idx - p->start;

	switch (p->state) {
	case RL_CAP_METHOD:
		if ((c >= 'A' && c <= 'Z') || c == '-' || c == '_') {
			if (idx >= RL_CAPTURE_METHOD_LEN)
				break;
			rec->method[rl_cap_mask(idx, RL_CAPTURE_METHOD_LEN - 1)] = c;
			return 0;
		}
		if (c != ' ' || idx == 0)
			break;
		rec->method_len = idx;
		p->state = RL_CAP_TARGET;
		p->start = idx + 1;
		return 0;
	case RL_CAP_TARGET:
		if (c == ' ') {
			if (n == 0)
				break;
			rec->path_len = n > RL_CAPTURE_PATH_LEN ? RL_CAPTURE_PATH_LEN : n;
			if (n > RL_CAPTURE_PATH_LEN)
				rec->flags |= RL_CAPTURE_PATH_CUT;
			p->state = RL_CAP_VERSION;
			p->start = idx + 1;
			return 0;
		}
		if (c <= ' ' || c >= 0x7f)
			break;
		if (n < RL_CAPTURE_PATH_LEN)
			rec->path[rl_cap_mask(n, RL_CAPTURE_PATH_LEN - 1)] = c;
		return 0;
	case RL_CAP_VERSION:
		if (n < 7) {
			if (c != (__u8)(RL_CAP_VERSION_WORD >> (8 * n)))
				break;
			return 0;
		}
		if (n == 7) {
			if (c < '0' || c > '9')
				break;
			rec->version = c - '0';
			return 0;
		}
		if (c != '\r')
			break;
		p->state = RL_CAP_LINE_LF;
		return 0;
	case RL_CAP_LINE_LF:
		if (c != '\n')
			break;
		p->line_done = 1;
		p->state = RL_CAP_NAME_START;
		return 0;
	case RL_CAP_NAME_START:
		if (c == '\r') {
			p->state = RL_CAP_END_LF;
			return 0;
		}
		if (!rl_cap_tchar(c))
			return RL_CAP_STOP;
		p->start = idx;
		p->hash = (RL_FNV_OFFSET ^ rl_cap_lower(c)) * RL_FNV_PRIME;
		p->state = RL_CAP_NAME;
		return 0;
	case RL_CAP_NAME:
		if (c == ':') {
			p->header = rl_cap_match(parse->names, s, rec, n);
			p->state = RL_CAP_OWS;
			return 0;
		}
		if (!rl_cap_tchar(c))
			return RL_CAP_STOP;
		p->hash = (p->hash ^ rl_cap_lower(c)) * RL_FNV_PRIME;
		return 0;
	case RL_CAP_OWS:
		if (c == ' ' || c == '\t')
			return 0;
		p->start = idx;
		p->value_len = 0;
		p->state = RL_CAP_VALUE;
		n = 0;
		/* fall through: c is the value's first byte, or its end */
	case RL_CAP_VALUE:
		if (c == '\r') {
			rl_cap_value_end(p, rec);
			p->state = RL_CAP_LF;
			return 0;
		}
		if ((c < ' ' && c != '\t') || c == 0x7f)
			return RL_CAP_STOP;
		if (c != ' ' && c != '\t')
			p->value_len = n + 1;
		if (p->header < RL_CAPTURE_HEADERS && n < RL_CAPTURE_VALUE_LEN)
			rec->value[rl_cap_mask(p->header, RL_CAPTURE_HEADERS - 1)][rl_cap_mask(n, RL_CAPTURE_VALUE_LEN - 1)] = c;
		return 0;
	case RL_CAP_LF:
		if (c != '\n')
			return RL_CAP_STOP;
		p->state = RL_CAP_NAME_START;
		return 0;
	case RL_CAP_END_LF:
		p->headers_done = c == '\n';
		return 1;
	default:
		return 1;
	}
	p->state = RL_CAP_FAILED;
	return 1;
}

/*
 * Word at a time. Most of a request is runs of plain bytes (the target, the
 * values, the names) whose only work is to be copied or hashed; the byte
 * machine above spends a dispatch on each. In RL_CAP_TARGET, RL_CAP_VALUE,
 * RL_CAP_NAME and RL_CAP_VERSION the next eight bytes are read as one
 * word, the run of plain bytes at its start is measured without a branch
 * per byte, and the run is taken at once: copied with one store, or
 * hashed; "HTTP/1.x" is one comparison, and so are the ": " before a value
 * and the CR LF after it. What ends a run goes to the byte machine, so the
 * two agree on every input.
 */
#define RL_CAP_ONES 0x0101010101010101ULL
#define RL_CAP_HIGHS 0x8080808080808080ULL

/* The bytes of w before the first one outside 0x21..0x7e (or that equals
 * `also`, 0 for none), 0..8; byte 0 is the first in memory. Exact per
 * byte: no carry crosses a byte. */
static __always_inline __u32 rl_cap_plain_run(__u64 w, __u8 also)
{
	__u64 lo7 = w & ~RL_CAP_HIGHS;
	__u64 plain = ((lo7 + RL_CAP_ONES * (0x80 - 0x21)) &      /* >= 0x21 */
		       ~(lo7 + RL_CAP_ONES * (0x80 - 0x7f)) &     /* <= 0x7e */
		       ~w & RL_CAP_HIGHS);                        /* < 0x80 */

	if (also)
		plain &= (lo7 ^ (RL_CAP_ONES * also)) + RL_CAP_ONES * 0x7f;   /* != also */
	__u64 bad = ~plain & RL_CAP_HIGHS;
	/* The high bits below the lowest bad one, summed by a multiply. */
	return (((((bad & -bad) - 1) & RL_CAP_HIGHS) >> 7) * RL_CAP_ONES) >> 56;
}

/* A letter, digit or '-': the bytes of nearly every header name, lowercased by | 0x20. */
static __always_inline int rl_cap_name_byte(__u8 c)
{
	return (__u8)((c | 0x20) - 'a') < 26 || (__u8)(c - '0') < 10 || c == '-';
}

/* The run at p->pos, taken; returns its length, 0 when the byte machine
 * must take the next byte. */
static __always_inline __u32 rl_cap_run(struct rl_capture_scratch *s, struct rl_capture_record *rec)
{
	struct rl_capture_state_vars *p = &s->p;
	__u32 pos = p->pos;

	if (pos + 8 > p->len)
		return 0;
	__u64 w = *(__u64 *)&s->buf[rl_cap_mask(pos, RL_CAPTURE_SCAN - 1)];
	__u32 n = pos - p->start;
	__u32 m;

	switch (p->state) {
	case RL_CAP_TARGET:
		m = rl_cap_plain_run(w, 0);
		if (m == 0)
			return 0;
		if (n < RL_CAPTURE_PATH_LEN) {
			n = rl_cap_mask(n, RL_CAPTURE_PATH_LEN - 1);
			if (n > RL_CAPTURE_PATH_LEN - 8)
				return 0;   /* the cut: byte by byte */
			*(__u64 *)&rec->path[n] = w;   /* past the run: overwritten, or past path_len */
		}
		return m;
	case RL_CAP_OWS:
		/* One space and the value's first run: the usual ": value". */
		if ((__u8)w != ' ')
			return 0;
		m = rl_cap_plain_run(w >> 8, 0);
		if (m == 0)
			return 0;
		p->start = pos + 1;
		p->state = RL_CAP_VALUE;
		p->value_len = m;
		if (p->header < RL_CAPTURE_HEADERS)
			*(__u64 *)&rec->value[rl_cap_mask(p->header, RL_CAPTURE_HEADERS - 1)][0] = w >> 8;
		return 1 + m;
	case RL_CAP_VALUE:
		m = rl_cap_plain_run(w, 0);
		if (m == 0) {
			/* The value ends: CR LF, and the next line starts. */
			if ((__u16)w != ('\r' | '\n' << 8))
				return 0;
			rl_cap_value_end(p, rec);
			p->state = RL_CAP_NAME_START;
			return 2;
		}
		if (p->header < RL_CAPTURE_HEADERS && n < RL_CAPTURE_VALUE_LEN) {
			n = rl_cap_mask(n, RL_CAPTURE_VALUE_LEN - 1);
			if (n > RL_CAPTURE_VALUE_LEN - 8)
				return 0;
			/* Within this value: past the run, overwritten or past value_len. */
			*(__u64 *)&rec->value[rl_cap_mask(p->header, RL_CAPTURE_HEADERS - 1)][n] = w;
		}
		p->value_len = n + m;   /* plain bytes are not blank */
		return m;
	case RL_CAP_VERSION:
		/* "HTTP/1." and the digit, whole; the CR after them goes byte by byte. */
		if (n != 0 || (w & 0x00ffffffffffffffULL) != RL_CAP_VERSION_WORD || (__u8)((w >> 56) - '0') > 9)
			return 0;
		rec->version = (w >> 56) - '0';
		return 8;
	case RL_CAP_NAME:
		m = rl_cap_plain_run(w, ':');
		__u64 hash = p->hash;
		__u32 taken = 0;
#pragma unroll
		for (__u32 k = 0; k < 8; k++) {
			__u8 c = w >> (8 * k);

			if (k >= m || !rl_cap_name_byte(c))
				break;
			hash = (hash ^ (c | 0x20)) * RL_FNV_PRIME;
			taken++;
		}
		p->hash = hash;
		return taken;
	}
	return 0;
}

/* Steps per bpf_loop call: the call costs more than one step's work. */
#define RL_CAP_STEPS_PER_CALL 4

/* bpf_loop's callback: RL_CAP_STEPS_PER_CALL steps, each a run or a byte. */
static long rl_cap_step(__u32 call, void *ctx)
{
	struct rl_capture_parse *parse = ctx;
	struct rl_capture_scratch *s = parse->s;

	if (!s || !parse->rec)
		return 1;
#pragma unroll
	for (__u32 k = 0; k < RL_CAP_STEPS_PER_CALL; k++) {
		__u32 taken = rl_cap_run(s, parse->rec);

		if (taken) {
			s->p.pos += taken;
			continue;
		}
		if (rl_cap_byte(s->p.pos, parse))
			return 1;
		s->p.pos++;
	}
	return 0;
}

static __always_inline void rl_capture_count(__u32 listener_id, int record, int lost, int unparsed)
{
	struct rl_capture_counter *c = bpf_map_lookup_elem(&rl_capture_stats, &listener_id);

	if (c) {
		c->records += record;
		c->lost += lost;
		c->unparsed += unparsed;
	}
}

/* Where the flow's client data starts and ends in the packet; 0 when the
 * packet carries none (a handshake ACK) or its headers do not add up. */
static __always_inline __u32 rl_capture_payload(struct __sk_buff *skb, const struct rl_flow *flow, __u32 *off)
{
	__u8 doff;
	__u16 ip_len;
	__u32 end;

	if (bpf_skb_load_bytes(skb, flow->l4_off + 12, &doff, 1))
		return 0;
	*off = flow->l4_off + (doff >> 4) * 4;
	if (flow->family == RL_AF_INET) {
		if (bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, tot_len), &ip_len, 2))
			return 0;
		end = ETH_HLEN + bpf_ntohs(ip_len);
	} else {
		if (bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct ipv6hdr, payload_len), &ip_len, 2))
			return 0;
		end = ETH_HLEN + sizeof(struct ipv6hdr) + bpf_ntohs(ip_len);
	}
	if (end > skb->len)
		end = skb->len;
	return end > *off && (doff >> 4) >= 5 ? end - *off : 0;
}

/* The record that fills the ring past a quarter wakes the reader; the
 * others do not: the reader finds them at its next poll (CaptureRing.poll
 * consumes after its wait, every 100 ms in the agent). So a busy listener
 * costs one wake-up per batch instead of one per request (a wake-up is an
 * irq_work, in a VM an interrupt of its own), and a reader that falls
 * behind is woken once, not by every record while the ring stays full. The
 * unread bytes include this record, reserved, and grow by a record's
 * size, header included, per record: one record ends in the window. */
#define RL_CAPTURE_WAKE_AT (RL_CAPTURE_RING_SIZE / 4)
#define RL_CAPTURE_RECORD_SPAN ((sizeof(struct rl_capture_record) + 8 + 7) / 8 * 8)

static __always_inline __u64 rl_capture_wakeup(void)
{
	__u64 unread = bpf_ringbuf_query(&rl_capture_ring, BPF_RB_AVAIL_DATA);

	return unread >= RL_CAPTURE_WAKE_AT && unread < RL_CAPTURE_WAKE_AT + RL_CAPTURE_RECORD_SPAN ? BPF_RB_FORCE_WAKEUP
													: BPF_RB_NO_WAKEUP;
}

/* A client packet of a flow with RL_CT_CAPTURE: when it carries data, the
 * flag goes and the data is read. The record is reserved in the ring
 * before the parse and filled in place: submitted when the request line
 * parsed, discarded when not. A full ring refuses the reservation, so the
 * segment then counts as lost, parsed or not. */
static __always_inline void rl_capture(struct __sk_buff *skb, const struct rl_flow *flow, struct rl_ct_entry *e,
				       __u64 now)
{
	__u32 off = 0, zero = 0;
	__u32 len = rl_capture_payload(skb, flow, &off);

	if (len == 0)
		return;
	e->flags &= ~RL_CT_CAPTURE;

	struct rl_capture_scratch *s = bpf_map_lookup_elem(&rl_capture_scratch, &zero);
	const struct rl_capture_names *names = bpf_map_lookup_elem(&rl_capture_names, &e->listener_id);

	if (!s || !names)
		return;
	if (len > RL_CAPTURE_SCAN)
		len = RL_CAPTURE_SCAN;
	len = ((len - 1) & (RL_CAPTURE_SCAN - 1)) + 1;   /* 1..RL_CAPTURE_SCAN, as the verifier sees it */
	if (bpf_skb_load_bytes(skb, off, s->buf, len))
		return;

	struct rl_capture_record *rec = bpf_ringbuf_reserve(&rl_capture_ring, sizeof(*rec), 0);

	if (!rec) {
		rl_capture_count(e->listener_id, 0, 1, 0);
		return;
	}
	rec->time_ns = now;
	rec->listener_id = e->listener_id;
	rec->backend_id = e->backend_id;
	rec->names_digest = names->digest;
	rec->family = flow->family;
	rec->flags = 0;
	rec->method_len = 0;
	rec->version = 0;
	rec->client_port = flow->sport;
	rec->path_len = 0;
	rec->present = 0;
	rec->cut = 0;
	__builtin_memcpy(rec->client_addr, flow->src, 16);

	struct rl_capture_state_vars *p = &s->p;

	__builtin_memset(p, 0, sizeof(*p));
	p->len = len;
	p->header = RL_CAP_NO_HEADER;

	struct rl_capture_parse parse = { .s = s, .names = names, .rec = rec };

	/* Every step takes a byte at least; the last call returns 1. */
	bpf_loop((len + RL_CAP_STEPS_PER_CALL - 1) / RL_CAP_STEPS_PER_CALL + 1, rl_cap_step, &parse, 0);
	if (!p->line_done) {
		bpf_ringbuf_discard(rec, BPF_RB_NO_WAKEUP);
		rl_capture_count(e->listener_id, 0, 0, 1);
		return;
	}
	if (!p->headers_done)
		rec->flags |= RL_CAPTURE_HEADERS_CUT;
	bpf_ringbuf_submit(rec, rl_capture_wakeup());
	rl_capture_count(e->listener_id, 1, 0, 0);
}

#endif /* !RL_NO_CAPTURE */
#endif /* RL_CAPTURE_H */
