// SPDX-License-Identifier: Apache-2.0
/* Step attribution (bpf/steps.bpf.h): the tp_btf fork and exit programs, attached only when the
 * launcher named a step parent (the runner's Runner.Worker). They are global tracepoints, not
 * tied to the cgroup: their links are pinned like the rest, so tagging goes on while no enforcer
 * runs, and a new enforcer that adopts the pins keeps the links it finds (a tracing link cannot
 * be updated in place; attaching a second pair would count each step twice). */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cargowall.skel.h"
#include "common/log.h"
#include "enforcer.h"

static const struct {
	const char *pin;
	size_t prog; /* index in steps_progs() */
} step_links[ENF_STEP_LINKS] = {
	{ CW_PIN_LINK_FORK, 0 },
	{ CW_PIN_LINK_EXIT, 1 },
};

static struct bpf_program *steps_prog(struct enf *e, size_t i)
{
	return i == 0 ? e->skel->progs.cw_fork : e->skel->progs.cw_exit;
}

int steps_prepare(struct enf *e)
{
	/* Not loaded at all without a step parent: a kernel that refuses tp_btf (no BTF, a
	 * lockdown) still runs the firewall. */
	bool on = e->o->step_parent != 0;
	int err;

	err = bpf_program__set_autoload(e->skel->progs.cw_fork, on);
	if (!err)
		err = bpf_program__set_autoload(e->skel->progs.cw_exit, on);
	if (err)
		log_warnx("step attribution programs: %s", strerror(-err));
	return err;
}

int steps_attach(struct enf *e)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i;
	int err;

	if (!e->o->step_parent)
		return 0;
	for (i = 0; i < ENF_STEP_LINKS; i++) {
		err = enf_pin_path(path, sizeof(path), e->o->bpffs, step_links[i].pin);
		if (err)
			return err;
		if (e->adopting && stat(path, &st) == 0) {
			log_debug("%s: kept from the previous enforcer", step_links[i].pin);
			continue;
		}
		e->step_links[i] = bpf_program__attach_trace(steps_prog(e, step_links[i].prog));
		if (!e->step_links[i]) {
			err = -errno;
			log_warnx("step attribution: attaching %s: %s (kernel without tp_btf?)",
				  bpf_program__name(steps_prog(e, step_links[i].prog)),
				  strerror(-err));
			return err;
		}
		err = bpf_link__pin(e->step_links[i], path);
		if (err) {
			log_warnx("pin %s: %s", path, strerror(-err));
			return err;
		}
	}
	log_debug("step attribution: children of pid %u start steps", e->o->step_parent);
	return 0;
}

int steps_teardown(struct enf *e)
{
	int err = 0, e2;
	size_t i;

	for (i = 0; i < ENF_STEP_LINKS; i++) {
		/* A tracing link detaches when its last reference goes: the pin and our fd. */
		e2 = enf_unpin(e->o->bpffs, step_links[i].pin);
		err = err ?: e2;
		bpf_link__destroy(e->step_links[i]);
		e->step_links[i] = NULL;
	}
	return err;
}

int steps_cleanup(const char *bpffs)
{
	int err = 0, e2;
	size_t i;

	for (i = 0; i < ENF_STEP_LINKS; i++) {
		e2 = enf_unpin(bpffs, step_links[i].pin);
		err = err ?: e2;
	}
	return err;
}
