// SPDX-License-Identifier: Apache-2.0
/* The TC egress verdict on crafted packets (BPF_PROG_TEST_RUN), with the tries filled by the
 * enforcer's own code from a policy: every rule shape, ports and protocols, IPv4 options, IPv6
 * extension headers, fragments, learned and expired addresses, audit mode. Needs root (it loads
 * BPF); skipped (77) otherwise unless CW_REQUIRE_PRIVILEGED=1. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/pkt_cls.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cargowall.skel.h"
#include "common/learn.h"
#include "common/shmq.h"
#include "enforcer/enforcer.h"

static const char *policy_json =
	"{\"defaultAction\":\"deny\",\"rules\":["
	/* 1: a port-scoped subnet rule (CargoWall loses these) */
	"{\"type\":\"cidr\",\"value\":\"10.0.0.0/8\",\"ports\":[{\"port\":443,\"protocol\":\"tcp\"}],"
	"\"action\":\"allow\"},"
	/* 2: a more specific deny */
	"{\"type\":\"cidr\",\"value\":\"10.1.0.0/16\",\"action\":\"deny\"},"
	/* 3, 4: allow and deny on one prefix: deny wins */
	"{\"type\":\"cidr\",\"value\":\"192.0.2.0/24\",\"action\":\"allow\"},"
	"{\"type\":\"cidr\",\"value\":\"192.0.2.0/24\",\"action\":\"deny\"},"
	/* 5: a more specific port-scoped allow under rule 1 */
	"{\"type\":\"cidr\",\"value\":\"10.2.0.0/16\",\"ports\":[{\"port\":80,\"protocol\":\"tcp\"}],"
	"\"action\":\"allow\"},"
	/* 6: ICMP only */
	"{\"type\":\"cidr\",\"value\":\"198.51.100.0/24\",\"ports\":[{\"port\":0,\"protocol\":\"icmp\"}],"
	"\"action\":\"allow\"},"
	/* 7: every port and protocol */
	"{\"type\":\"cidr\",\"value\":\"203.0.113.0/24\",\"action\":\"allow\"},"
	/* 8: udp and tcp 5000 via 'all' */
	"{\"type\":\"cidr\",\"value\":\"100.64.0.0/10\",\"ports\":[{\"port\":5000,\"protocol\":\"all\"}],"
	"\"action\":\"allow\"},"
	/* 9: a port-scoped deny under a host that DNS will open */
	"{\"type\":\"cidr\",\"value\":\"172.16.0.0/12\",\"ports\":[{\"port\":22,\"protocol\":\"tcp\"}],"
	"\"action\":\"deny\"},"
	/* 10: hostname, tcp/80 only; 11: hostname, every port */
	"{\"type\":\"hostname\",\"value\":\"web.test\",\"ports\":[{\"port\":80,\"protocol\":\"tcp\"}],"
	"\"action\":\"allow\"},"
	"{\"type\":\"hostname\",\"value\":\"any.test\",\"action\":\"allow\"},"
	/* 12: IPv6 port-scoped */
	"{\"type\":\"cidr\",\"value\":\"2001:db8::/32\",\"ports\":[{\"port\":443,\"protocol\":\"tcp\"}],"
	"\"action\":\"allow\"}"
	"]}";

static struct enf_opts opts;
static struct enf e;
static int prog_fd;

static void set_mode(uint32_t mode)
{
	struct cw_settings s;
	__u32 key = 0;

	memset(&s, 0, sizeof(s));
	s.mode = mode;
	s.default_action = e.pol.default_action;
	ck_assert_int_eq(bpf_map_update_elem(bpf_map__fd(e.skel->maps.settings), &key, &s, 0), 0);
}

static uint32_t learn_t_answer_us; /* the next entry's t_answer_us (0: none) */

static void learn(const char *name, uint32_t rule_id, int family, const char *addr)
{
	struct cw_dnsq_entry ent;
	struct shmq prod;

	memset(&ent, 0, sizeof(ent));
	ent.t_answer_us = learn_t_answer_us;
	ent.family = (uint8_t)(family == AF_INET ? 4 : 6);
	ent.prefixlen = family == AF_INET ? 32 : 128;
	ent.rule_id = rule_id;
	ent.ttl = 300;
	ck_assert_int_eq(inet_pton(family, addr, ent.addr), 1);
	strcpy(ent.name, name);
	ck_assert_int_eq(shmq_attach(&prod, e.q.memfd, -1, CW_DNSQ_CAPACITY, sizeof(ent)), 0);
	ck_assert_int_eq(shmq_push(&prod, &ent, sizeof(ent), NULL), 0);
	shmq_detach(&prod);
	ck_assert_uint_eq(trie_drain(&e), 1);
}

static void setup(void)
{
	struct policy_error err;
	int memfd;

	memset(&e, 0, sizeof(e));
	memset(&opts, 0, sizeof(opts));
	e.o = &opts;
	e.cgroup_fd = -1;
	e.tc_owned_fd = -1;
	opts.learn_flags = LEARN_ALLOW_PRIVATE;
	ck_assert_int_eq(policy_parse_json(&e.pol, policy_json, strlen(policy_json), "t", &err), 0);
	e.skel = cargowall__open();
	ck_assert_ptr_nonnull(e.skel);
	ck_assert_int_eq(trie_size_maps(&e), 0);
	ck_assert_int_eq(cargowall__load(e.skel), 0);
	set_mode(CW_MODE_ENFORCE);
	ck_assert_int_eq(trie_load_static(&e), 0);
	ck_assert_int_eq(shmq_create("t", CW_DNSQ_CAPACITY, sizeof(struct cw_dnsq_entry), &memfd),
			 0);
	ck_assert_int_eq(
		shmq_attach(&e.q, memfd, -1, CW_DNSQ_CAPACITY, sizeof(struct cw_dnsq_entry)), 0);
	prog_fd = bpf_program__fd(e.skel->progs.cw_tc_egress);
}

static void teardown(void)
{
	trie_free(&e);
	close(e.q.memfd);
	shmq_detach(&e.q);
	cargowall__destroy(e.skel);
	policy_free(&e.pol);
}

/* ---- packets ----------------------------------------------------------------------------- */

struct pkt {
	uint8_t b[256];
	size_t len;
};

static size_t eth(struct pkt *p, uint16_t proto)
{
	memset(p, 0, sizeof(*p));
	p->b[12] = (uint8_t)(proto >> 8);
	p->b[13] = (uint8_t)proto;
	return 14;
}

/* IPv4 with `opt_words` 4-byte option words, then 8 bytes of L4 (ports or ICMP header). */
static void v4(struct pkt *p, const char *dst, uint8_t proto, uint16_t dport, int opt_words,
	       uint16_t frag_off)
{
	size_t o = eth(p, ETH_P_IP), ihl = 5 + (size_t)opt_words;

	p->b[o] = (uint8_t)(0x40 | ihl);
	p->b[o + 2] = 0;
	p->b[o + 3] = (uint8_t)(ihl * 4 + 8);
	p->b[o + 6] = (uint8_t)(frag_off >> 8);
	p->b[o + 7] = (uint8_t)frag_off;
	p->b[o + 8] = 64;
	p->b[o + 9] = proto;
	inet_pton(AF_INET, "10.199.0.1", &p->b[o + 12]);
	inet_pton(AF_INET, dst, &p->b[o + 16]);
	memset(&p->b[o + 20], 1, (size_t)opt_words * 4); /* NOP options */
	o += ihl * 4;
	p->b[o] = 0x9c; /* source port 40000 */
	p->b[o + 1] = 0x40;
	p->b[o + 2] = (uint8_t)(dport >> 8);
	p->b[o + 3] = (uint8_t)dport;
	if (proto == IPPROTO_ICMP)
		p->b[o] = 8; /* echo request */
	p->len = o + 8;
}

/* IPv6, with optional hop-by-hop and destination-options headers, or a fragment header. */
static void v6(struct pkt *p, const char *dst, uint8_t proto, uint16_t dport, int n_ext,
	       int frag_offset)
{
	size_t o = eth(p, ETH_P_IPV6), hdr = o;
	uint8_t *nh = &p->b[o + 6];
	int i;

	p->b[o] = 0x60;
	p->b[o + 7] = 64;
	inet_pton(AF_INET6, "2001:db8:ffff::1", &p->b[o + 8]);
	inet_pton(AF_INET6, dst, &p->b[o + 24]);
	o += 40;
	for (i = 0; i < n_ext; i++) {
		*nh = i ? IPPROTO_DSTOPTS : IPPROTO_HOPOPTS;
		nh = &p->b[o];
		p->b[o + 1] = 0; /* 8 bytes */
		p->b[o + 2] = 1; /* PadN */
		p->b[o + 3] = 4;
		o += 8;
	}
	if (frag_offset >= 0) {
		*nh = IPPROTO_FRAGMENT;
		nh = &p->b[o];
		p->b[o + 2] = (uint8_t)((frag_offset * 8) >> 8);
		p->b[o + 3] = (uint8_t)(frag_offset * 8) | 1; /* more fragments */
		o += 8;
	}
	*nh = proto;
	p->b[o] = 0x9c;
	p->b[o + 1] = 0x40;
	p->b[o + 2] = (uint8_t)(dport >> 8);
	p->b[o + 3] = (uint8_t)dport;
	p->len = o + 8;
	p->b[hdr + 4] = (uint8_t)((p->len - hdr - 40) >> 8);
	p->b[hdr + 5] = (uint8_t)(p->len - hdr - 40);
}

static int run(const struct pkt *p)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = p->b, .data_size_in = (__u32)p->len,
		    .repeat = 1);

	ck_assert_int_eq(bpf_prog_test_run_opts(prog_fd, &topts), 0);
	return (int)topts.retval;
}

#define PASS TC_ACT_UNSPEC /* pass on to the next program */
#define DROP TC_ACT_SHOT

static void expect4(const char *dst, uint8_t proto, uint16_t port, int want)
{
	struct pkt p;

	v4(&p, dst, proto, port, 0, 0);
	ck_assert_msg(run(&p) == want, "%s proto %u port %u: want %s", dst, proto, port,
		      want == PASS ? "pass" : "drop");
}

static void expect6(const char *dst, uint8_t proto, uint16_t port, int n_ext, int want)
{
	struct pkt p;

	v6(&p, dst, proto, port, n_ext, -1);
	ck_assert_msg(run(&p) == want, "%s proto %u port %u ext %d: want %s", dst, proto, port,
		      n_ext, want == PASS ? "pass" : "drop");
}

/* ---- tests ------------------------------------------------------------------------------- */

START_TEST(test_cidr_ports)
{
	expect4("10.9.9.9", IPPROTO_TCP, 443, PASS); /* port-scoped subnet */
	expect4("10.9.9.9", IPPROTO_TCP, 80, DROP);
	expect4("10.9.9.9", IPPROTO_UDP, 443, DROP); /* tcp only */
	expect4("10.1.2.3", IPPROTO_TCP, 443, DROP); /* the longer deny prefix */
	expect4("192.0.2.7", IPPROTO_TCP, 80, DROP); /* deny wins at equal prefix */
	expect4("10.2.3.4", IPPROTO_TCP, 80, PASS);  /* the more specific port rule */
	expect4("10.2.3.4", IPPROTO_TCP, 443, PASS); /* falls through to the /8's port */
	expect4("10.2.3.4", IPPROTO_TCP, 22, DROP);
	expect4("203.0.113.9", IPPROTO_UDP, 9999, PASS); /* every port */
	expect4("8.8.4.4", IPPROTO_TCP, 443, DROP);	 /* default deny */
	expect4("100.64.1.1", IPPROTO_UDP, 5000, PASS);	 /* "all": udp, tcp and icmp */
	expect4("100.64.1.1", IPPROTO_TCP, 5000, PASS);
	expect4("100.64.1.1", IPPROTO_ICMP, 0, PASS);
	expect4("100.64.1.1", IPPROTO_UDP, 5001, DROP);
}
END_TEST

START_TEST(test_protocols)
{
	expect4("198.51.100.4", IPPROTO_ICMP, 0, PASS); /* icmp rule */
	expect4("198.51.100.4", IPPROTO_TCP, 80, DROP);
	expect4("198.51.100.4", IPPROTO_UDP, 80, DROP);
	expect4("203.0.113.9", IPPROTO_GRE, 0, PASS); /* any-port rule admits other protocols */
	expect4("10.9.9.9", IPPROTO_GRE, 0, DROP);    /* a port rule never does */
	expect4("10.9.9.9", IPPROTO_ICMP, 0, DROP);
	expect4("8.8.4.4", IPPROTO_ICMP, 0, DROP);
	/* DNS leaves only through dnsd, whatever the policy allows */
	expect4("203.0.113.9", IPPROTO_UDP, 53, DROP);
	expect4("203.0.113.9", IPPROTO_TCP, 53, DROP);
}
END_TEST

START_TEST(test_ipv4_options_and_fragments)
{
	struct pkt p;

	v4(&p, "10.9.9.9", IPPROTO_TCP, 443, 2, 0); /* ihl 7: ports found past the options */
	ck_assert_int_eq(run(&p), PASS);
	v4(&p, "10.9.9.9", IPPROTO_TCP, 80, 10, 0); /* ihl 15 */
	ck_assert_int_eq(run(&p), DROP);
	v4(&p, "10.9.9.9", IPPROTO_UDP, 443, 0, 0x2000); /* first fragment (MF): judged by port */
	ck_assert_int_eq(run(&p), DROP);
	v4(&p, "10.1.2.3", IPPROTO_UDP, 0, 0, 0x0010); /* later fragment to a denied address */
	ck_assert_int_eq(run(&p), DROP);
	v4(&p, "8.8.4.4", IPPROTO_UDP, 0, 0, 0x0010); /* later fragment, default deny */
	ck_assert_int_eq(run(&p), DROP);
	v4(&p, "10.9.9.9", IPPROTO_TCP, 0, 0,
	   0x0010); /* later fragment, address allowed on a port */
	ck_assert_int_eq(run(&p), PASS);
	v4(&p, "203.0.113.9", IPPROTO_UDP, 0, 0, 0x0010); /* later fragment, any-port rule */
	ck_assert_int_eq(run(&p), PASS);
}
END_TEST

START_TEST(test_ipv6)
{
	struct pkt p;

	expect6("2001:db8::5", IPPROTO_TCP, 443, 0, PASS);
	expect6("2001:db8::5", IPPROTO_TCP, 80, 0, DROP);
	expect6("2001:db8::5", IPPROTO_TCP, 443, 2, PASS); /* ports past hop-by-hop + dstopts */
	expect6("2001:db8::5", IPPROTO_TCP, 80, 2, DROP);
	expect6("2001:db9::5", IPPROTO_TCP, 443, 0, DROP); /* default deny */
	expect6("2001:db8::5", IPPROTO_UDP, 53, 1, DROP);  /* DNS side door */
	/* past the walk's bound: no ports, so a port rule cannot admit it */
	expect6("2001:db8::5", IPPROTO_TCP, 443, 7, DROP);
	v6(&p, "2001:db8::5", IPPROTO_TCP, 443, 0, 0); /* first fragment */
	ck_assert_int_eq(run(&p), PASS);
	v6(&p, "2001:db9::5", IPPROTO_TCP, 0, 0, 10); /* later fragment, denied address */
	ck_assert_int_eq(run(&p), DROP);
	v6(&p, "2001:db8::5", IPPROTO_TCP, 0, 0, 10); /* later fragment, allowed on a port */
	ck_assert_int_eq(run(&p), PASS);
	/* neighbour solicitation and link-local multicast keep the link up */
	expect6("ff02::1:ff00:5", IPPROTO_ICMPV6, 0, 0, PASS);
	v6(&p, "fe80::1", IPPROTO_ICMPV6, 0, 0, -1);
	p.b[14 + 40] = 135;
	ck_assert_int_eq(run(&p), PASS);
	p.b[14 + 40] = 128; /* echo request to a neighbour: judged */
	ck_assert_int_eq(run(&p), DROP);
}
END_TEST

START_TEST(test_learned)
{
	learn("web.test", 10, AF_INET, "93.184.216.34");
	expect4("93.184.216.34", IPPROTO_TCP, 80, PASS); /* the hostname rule's port */
	expect4("93.184.216.34", IPPROTO_TCP, 443, DROP);
	learn("any.test", 11, AF_INET, "93.184.216.34"); /* a second name on the same address */
	expect4("93.184.216.34", IPPROTO_TCP, 443, PASS);
	/* under a port-scoped deny: the deny keeps its port, the name opens the rest */
	learn("any.test", 11, AF_INET, "172.16.5.5");
	expect4("172.16.5.5", IPPROTO_TCP, 22, DROP);
	expect4("172.16.5.5", IPPROTO_TCP, 8080, PASS);
	/* under an any-port deny: refused, stays closed */
	learn("any.test", 11, AF_INET, "10.1.7.7");
	expect4("10.1.7.7", IPPROTO_TCP, 8080, DROP);
	/* under a port-scoped allow: both apply */
	learn("web.test", 10, AF_INET, "10.3.3.3");
	expect4("10.3.3.3", IPPROTO_TCP, 80, PASS);
	expect4("10.3.3.3", IPPROTO_TCP, 443, PASS);
	expect4("10.3.3.3", IPPROTO_TCP, 22, DROP);
	learn("any.test", 11, AF_INET6, "2001:db9::77");
	expect6("2001:db9::77", IPPROTO_UDP, 4000, 0, PASS);
}
END_TEST

/* A learned entry past its deadline admits nothing by its hostname rules, while the CIDR rules
 * on its chain still apply (no enforcer needed: the kernel checks the deadline). */
START_TEST(test_expired)
{
	struct cw_lpm_v4_key key = { .prefixlen = 32 };
	struct cw_lpm_val val;
	int fd = bpf_map__fd(e.skel->maps.lpm_v4);
	struct timespec ts;

	learn("any.test", 11, AF_INET, "10.4.4.4");
	expect4("10.4.4.4", IPPROTO_TCP, 8080, PASS);
	inet_pton(AF_INET, "10.4.4.4", &key.addr);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &val), 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	val.expires_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec - 1;
	ck_assert_int_eq(bpf_map_update_elem(fd, &key, &val, BPF_EXIST), 0);
	expect4("10.4.4.4", IPPROTO_TCP, 8080, DROP);
	expect4("10.4.4.4", IPPROTO_TCP, 443, PASS); /* rule 1 (10/8 tcp/443) still holds */
	trie_sweep(&e); /* its deadline in the sweep's heap is not due yet: nothing deleted */
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &val), 0);
	ck_assert_uint_eq(val.origin, CW_ORIGIN_LEARNED);
	trie_sweep_at(&e, (uint64_t)ts.tv_sec * 1000000000ULL + 301ULL * 1000000000ULL);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &val), 0); /* the /8 now */
	ck_assert_uint_eq(val.origin, CW_ORIGIN_STATIC);
	expect4("10.4.4.4", IPPROTO_TCP, 443, PASS);
}
END_TEST

/* The answer-to-trie statistic (bench/dns): an entry stamped with dnsd's answer time is
 * counted with the time since; unstamped, future or stale stamps are left out. */
START_TEST(test_answer_to_trie)
{
	uint32_t now_us = (uint32_t)(enf_now_ns() / 1000);

	ck_assert_uint_eq(e.trie_hist.n, 0);
	learn("any.test", 11, AF_INET, "10.4.4.9"); /* unstamped */
	ck_assert_uint_eq(e.trie_hist.n, 0);
	learn_t_answer_us = now_us - 2000; /* 2 ms ago */
	learn("any.test", 11, AF_INET, "10.4.4.10");
	ck_assert_uint_eq(e.trie_hist.n, 1);
	ck_assert_uint_ge(e.trie_hist.max, 2000);
	ck_assert_uint_lt(e.trie_hist.max, 2000000);
	learn_t_answer_us = now_us + 1000000; /* in the future: dnsd could not mean it */
	learn("any.test", 11, AF_INET, "10.4.4.11");
	learn_t_answer_us = now_us - 20000000; /* 20 s old */
	learn("any.test", 11, AF_INET, "10.4.4.12");
	ck_assert_uint_eq(e.trie_hist.n, 1);
	learn_t_answer_us = 0;
}
END_TEST

/* A refresh moves the deadline without a second element in the sweep's heap; the element that
 * comes due finds the later deadline and is pushed again with it, and the address goes once
 * that one passes. */
START_TEST(test_refresh_expiry)
{
	struct cw_lpm_v4_key key = { .prefixlen = 32 };
	struct cw_lpm_val val;
	int fd = bpf_map__fd(e.skel->maps.lpm_v4);
	struct timespec ts;
	uint64_t t0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	learn("any.test", 11, AF_INET, "10.4.4.5");
	learn("any.test", 11, AF_INET, "10.4.4.5");
	learn("any.test", 11, AF_INET, "10.4.4.5");
	ck_assert_uint_eq(e.n_expiries, 1);
	ck_assert_uint_eq(e.n_learned, 1);
	inet_pton(AF_INET, "10.4.4.5", &key.addr);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &val), 0);
	val.expires_ns = t0 + 600ULL * 1000000000ULL; /* as a refresh much later would */
	ck_assert_int_eq(bpf_map_update_elem(fd, &key, &val, BPF_EXIST), 0);
	trie_sweep_at(&e, t0 + 301ULL * 1000000000ULL); /* the first deadline passed */
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &val), 0);
	ck_assert_uint_eq(val.origin, CW_ORIGIN_LEARNED);
	ck_assert_uint_eq(e.n_expiries, 1);
	expect4("10.4.4.5", IPPROTO_TCP, 8080, PASS);
	trie_sweep_at(&e, t0 + 599ULL * 1000000000ULL); /* due again at the new one only */
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &val), 0);
	ck_assert_uint_eq(val.origin, CW_ORIGIN_LEARNED);
	ck_assert_uint_eq(e.n_expiries, 1);
	trie_sweep_at(&e, t0 + 601ULL * 1000000000ULL);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &val), 0); /* the /8 now */
	ck_assert_uint_eq(val.origin, CW_ORIGIN_STATIC);
	ck_assert_uint_eq(e.n_expiries, 0);
	ck_assert_uint_eq(e.n_learned, 0);
}
END_TEST

START_TEST(test_audit_mode)
{
	set_mode(CW_MODE_AUDIT);
	expect4("8.8.4.4", IPPROTO_TCP, 443, PASS);
	expect4("203.0.113.9", IPPROTO_UDP, 53, PASS);
	set_mode(CW_MODE_ENFORCE);
	expect4("8.8.4.4", IPPROTO_TCP, 443, DROP);
}
END_TEST

/* Scoped mode's cgroup_skb/egress program takes the same verdict from the IP header on
 * (the test run consumes the Ethernet header for non-TC programs). 1 passes, 0 drops. */
START_TEST(test_scoped_cgroup_skb)
{
	int fd = bpf_program__fd(e.skel->progs.cw_skb_egress);
	struct pkt p;
	struct {
		const char *dst;
		uint8_t proto;
		uint16_t port;
		unsigned int want;
	} cases[] = {
		{ "10.9.9.9", IPPROTO_TCP, 443, 1 },   { "10.9.9.9", IPPROTO_TCP, 80, 0 },
		{ "10.1.2.3", IPPROTO_TCP, 443, 0 },   { "203.0.113.9", IPPROTO_UDP, 9, 1 },
		{ "203.0.113.9", IPPROTO_UDP, 53, 0 }, { "8.8.4.4", IPPROTO_ICMP, 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = p.b, .repeat = 1);

		v4(&p, cases[i].dst, cases[i].proto, cases[i].port, 0, 0);
		topts.data_size_in = (__u32)p.len;
		ck_assert_int_eq(bpf_prog_test_run_opts(fd, &topts), 0);
		ck_assert_msg(topts.retval == cases[i].want, "%s proto %u port %u: got %u",
			      cases[i].dst, cases[i].proto, cases[i].port, topts.retval);
	}
	v6(&p, "2001:db8::5", IPPROTO_TCP, 443, 2, -1);
	{
		LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = p.b, .repeat = 1);

		topts.data_size_in = (__u32)p.len;
		ck_assert_int_eq(bpf_prog_test_run_opts(fd, &topts), 0);
		ck_assert_uint_eq(topts.retval, 1);
	}
}
END_TEST

static Suite *verdict_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("tc_egress");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_cidr_ports);
	tcase_add_test(tc, test_protocols);
	tcase_add_test(tc, test_ipv4_options_and_fragments);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_learned);
	tcase_add_test(tc, test_expired);
	tcase_add_test(tc, test_answer_to_trie);
	tcase_add_test(tc, test_refresh_expiry);
	tcase_add_test(tc, test_audit_mode);
	tcase_add_test(tc, test_scoped_cgroup_skb);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (geteuid() != 0) {
		const char *req = getenv("CW_REQUIRE_PRIVILEGED");

		fprintf(stderr, "check_verdict: needs root to load BPF programs\n");
		return req && !strcmp(req, "1") ? EXIT_FAILURE : 77;
	}
	sr = srunner_create(verdict_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
