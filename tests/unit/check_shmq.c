// SPDX-License-Identifier: Apache-2.0
/* The shared-memory queue between two real processes, wrap-around, a hostile producer, and the
 * enforcer's validation of queue entries. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/learn.h"
#include "common/shmq.h"
#include "proto/maps.h"

struct item {
	uint64_t n;
	uint64_t check;
};

static int new_queue(uint32_t cap, uint32_t slot, struct shmq *q)
{
	int fd, ret;

	ret = shmq_create("test", cap, slot, &fd);
	ck_assert_int_eq(ret, 0);
	ret = shmq_attach(q, fd, -1, cap, slot);
	ck_assert_int_eq(ret, 0);
	return fd;
}

START_TEST(test_wraparound_single)
{
	struct shmq prod, cons;
	struct item it, out;
	uint64_t n, seq;
	int fd = new_queue(8, sizeof(struct item), &prod);

	ck_assert_int_eq(shmq_attach(&cons, fd, -1, 8, sizeof(struct item)), 0);
	for (n = 1; n <= 1000; n++) {
		it.n = n;
		it.check = ~n;
		ck_assert_int_eq(shmq_push(&prod, &it, sizeof(it), &seq), 0);
		ck_assert_uint_eq(seq, n);
		if (n % 3 == 0) {
			/* drain in small batches so head and tail wrap many times */
			while (shmq_pop(&cons, &out) == 1)
				ck_assert_uint_eq(out.check, ~out.n);
		}
	}
	while (shmq_pop(&cons, &out) == 1)
		ck_assert_uint_eq(out.check, ~out.n);
	ck_assert_uint_eq(out.n, 1000);
	ck_assert_uint_eq(cons.hostile, 0);
	shmq_detach(&prod);
	shmq_detach(&cons);
	close(fd);
}
END_TEST

START_TEST(test_full_is_refused_and_counted)
{
	struct shmq q;
	struct item it = { 1, 2 };
	int fd = new_queue(4, sizeof(struct item), &q), i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(shmq_push(&q, &it, sizeof(it), NULL), 0);
	ck_assert_int_eq(shmq_push(&q, &it, sizeof(it), NULL), -ENOSPC);
	ck_assert_int_eq(shmq_push(&q, &it, sizeof(it), NULL), -ENOSPC);
	ck_assert_uint_eq(q.hdr->dropped_full, 2);
	ck_assert_int_eq(shmq_push(&q, &it, 4096, NULL), -EMSGSIZE);
	shmq_detach(&q);
	close(fd);
}
END_TEST

START_TEST(test_attach_checks_geometry)
{
	struct shmq q, bad;
	int fd = new_queue(8, 16, &q);

	ck_assert_int_eq(shmq_attach(&bad, fd, -1, 16, 16), -EBADMSG);
	ck_assert_int_eq(shmq_attach(&bad, fd, -1, 8, 32), -EBADMSG);
	ck_assert_int_eq(shmq_attach(&bad, fd, -1, 7, 16), -EINVAL);
	q.hdr->magic = 0x4141414141414141ULL;
	ck_assert_int_eq(shmq_attach(&bad, fd, -1, 8, 16), -EBADMSG);
	shmq_detach(&q);
	close(fd);
}
END_TEST

/* Producer child pushes N items through a small ring, waiting for the consumer's ack after each
 * batch, exactly as dnsd waits for the enforcer. */
#define TWO_PROC_N 200000
START_TEST(test_two_processes)
{
	struct shmq prod, cons;
	struct item out;
	uint64_t expect = 1;
	int fd, efd, status;
	pid_t pid;

	fd = new_queue(64, sizeof(struct item), &prod);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ck_assert_int_ge(efd, 0);
	shmq_detach(&prod);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		uint64_t n, seq = 0;

		if (shmq_attach(&prod, fd, efd, 64, sizeof(struct item)))
			_exit(2);
		for (n = 1; n <= TWO_PROC_N; n++) {
			struct item it = { n, ~n };

			while (shmq_push(&prod, &it, sizeof(it), &seq) == -ENOSPC)
				shmq_ring(&prod);
			if (n % 16 == 0) {
				shmq_ring(&prod);
				if (shmq_wait_applied(&prod, seq, 5000))
					_exit(3);
			}
		}
		shmq_ring(&prod);
		_exit(shmq_wait_applied(&prod, seq, 5000) ? 4 : 0);
	}
	ck_assert_int_eq(shmq_attach(&cons, fd, efd, 64, sizeof(struct item)), 0);
	while (expect <= TWO_PROC_N) {
		int got = shmq_pop(&cons, &out);

		if (!got) {
			shmq_publish_applied(&cons);
			continue;
		}
		ck_assert_uint_eq(out.n, expect);
		ck_assert_uint_eq(out.check, ~expect);
		expect++;
	}
	shmq_publish_applied(&cons);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_uint_eq(cons.hostile, 0);
	ck_assert_uint_eq(cons.hdr->applied_seq, TWO_PROC_N);
	shmq_detach(&cons);
	close(efd);
	close(fd);
}
END_TEST

START_TEST(test_wait_applied_times_out)
{
	struct shmq q;
	struct item it = { 1, 1 };
	struct timespec a, b;
	uint64_t seq;
	long ms;
	int fd = new_queue(8, sizeof(struct item), &q);

	ck_assert_int_eq(shmq_push(&q, &it, sizeof(it), &seq), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert_int_eq(shmq_wait_applied(&q, seq, 50), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 45);
	ck_assert_int_lt(ms, 1000);
	shmq_detach(&q);
	close(fd);
}
END_TEST

/* A compromised producer writes head directly: far ahead, or behind the tail. */
START_TEST(test_hostile_head)
{
	struct shmq prod, cons;
	struct item it = { 7, ~7ULL }, out;
	int fd = new_queue(8, sizeof(struct item), &prod);

	ck_assert_int_eq(shmq_attach(&cons, fd, -1, 8, sizeof(struct item)), 0);
	prod.hdr->head = 1000;
	ck_assert_int_eq(shmq_pop(&cons, &out), 0);
	ck_assert_uint_eq(cons.hostile, 1);
	ck_assert_uint_eq(cons.hdr->rejected, 1);
	/* head moved backwards (below tail): also hostile, never a huge read */
	prod.hdr->head = 3;
	ck_assert_int_eq(shmq_pop(&cons, &out), 0);
	ck_assert_uint_eq(cons.hostile, 2);
	/* an honest producer that resynchronises works again */
	prod.local_head = cons.hdr->tail;
	ck_assert_int_eq(shmq_push(&prod, &it, sizeof(it), NULL), 0);
	ck_assert_int_eq(shmq_pop(&cons, &out), 1);
	ck_assert_uint_eq(out.n, 7);
	shmq_detach(&prod);
	shmq_detach(&cons);
	close(fd);
}
END_TEST

/* The peer shares the eventfd's file description and may clear O_NONBLOCK: clearing an empty
 * doorbell must still return at once (the test's timeout catches a hang). */
START_TEST(test_doorbell_never_blocks)
{
	struct shmq q;
	int fd = new_queue(8, 16, &q);
	int efd = eventfd(0, EFD_CLOEXEC); /* blocking, as a hostile peer could leave it */

	struct pollfd pfd = { .fd = efd, .events = POLLIN };

	q.efd = efd;
	shmq_clear_doorbell(&q);
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	shmq_ring(&q); /* the doorbell really rings */
	ck_assert_int_eq(poll(&pfd, 1, 0), 1);
	shmq_clear_doorbell(&q);
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	shmq_clear_doorbell(&q);
	shmq_detach(&q);
	close(efd);
	close(fd);
}
END_TEST

static const char *learn_policy_json =
	"{\"rules\":["
	"{\"type\":\"hostname\",\"value\":\"example.com\",\"action\":\"allow\"},"
	"{\"type\":\"hostname\",\"value\":\"bad.example.com\",\"action\":\"deny\"},"
	"{\"type\":\"cidr\",\"value\":\"10.0.0.0/8\",\"action\":\"allow\"},"
	"{\"type\":\"hostname\",\"value\":\"*.wild.test\",\"action\":\"allow\"}]}";

static void good_entry(struct cw_dnsq_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->family = 4;
	e->prefixlen = 32;
	e->rule_id = 1;
	e->ttl = 300;
	e->addr[0] = 93;
	e->addr[1] = 184;
	e->addr[2] = 216;
	e->addr[3] = 34;
	strcpy(e->name, "www.example.com");
}

/* Every way a compromised dnsd can lie in an entry is refused, with a reason. */
START_TEST(test_learn_validate_hostile)
{
	struct policy p;
	struct policy_error err;
	struct cw_dnsq_entry e;
	struct learn_route r;
	const char *why;

	ck_assert_int_eq(
		policy_parse_json(&p, learn_policy_json, strlen(learn_policy_json), "test", &err),
		0);
	good_entry(&e);
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), 0);
	ck_assert_uint_eq(r.rule_id, 1);
	ck_assert_uint_eq(r.prefixlen, 32);
	ck_assert_uint_eq(r.ttl_s, 300);

	e.ttl = 1;
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), 0);
	ck_assert_uint_eq(r.ttl_s, CW_TTL_FLOOR_S);
	e.ttl = 0xffffffff;
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), 0);
	ck_assert_uint_eq(r.ttl_s, CW_TTL_CAP_S);

	good_entry(&e);
	e.family = 5;
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	good_entry(&e);
	e.prefixlen = 24; /* a subnet: only host routes are learned */
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	good_entry(&e);
	memset(e.name, 'a', sizeof(e.name)); /* no NUL */
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	good_entry(&e);
	e.rule_id = 0;
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	e.rule_id = 99;
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	e.rule_id = 3; /* a CIDR rule */
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	good_entry(&e);
	strcpy(e.name, "bad.example.com"); /* rule 1 matches, but rule 2 denies it */
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	e.rule_id = 2;
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	good_entry(&e);
	strcpy(e.name, "evil.test"); /* not covered by rule 1 */
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	good_entry(&e);
	e.addr[0] = 127;
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "loopback"));
	e.addr[0] = 169;
	e.addr[1] = 254;
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	good_entry(&e);
	e.addr[7] = 1; /* junk past an IPv4 address */
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	good_entry(&e);
	e.rule_id = 4;
	strcpy(e.name, "a.wild.test");
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), 0);
	strcpy(e.name, "a.b.wild.test");
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	/* private ranges only when the operator asked for them */
	good_entry(&e);
	e.addr[0] = 10;
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "private"));
	ck_assert_int_eq(learn_validate(&p, &e, LEARN_ALLOW_PRIVATE, &r, &why), 0);
	e.addr[0] = 172;
	e.addr[1] = 20;
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	e.addr[1] = 32; /* 172.32/16 is public */
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), 0);
	e.addr[0] = 192;
	e.addr[1] = 168;
	ck_assert_int_eq(learn_validate(&p, &e, 0, &r, &why), -EINVAL);
	e.addr[0] = 127;
	ck_assert_int_eq(learn_validate(&p, &e, LEARN_ALLOW_PRIVATE, &r, &why), -EINVAL);
	policy_free(&p);
}
END_TEST

static Suite *shmq_suite(void)
{
	Suite *s = suite_create("shmq");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_wraparound_single);
	tcase_add_test(tc, test_full_is_refused_and_counted);
	tcase_add_test(tc, test_attach_checks_geometry);
	tcase_add_test(tc, test_two_processes);
	tcase_add_test(tc, test_wait_applied_times_out);
	tcase_add_test(tc, test_hostile_head);
	tcase_add_test(tc, test_doorbell_never_blocks);
	tcase_add_test(tc, test_learn_validate_hostile);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(shmq_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
