/* executor.c - the executor role: this node's slots pull work from the scheduler with signed
 * long-poll claims, verify a paid call's bundle against the keys this node's operator trusts,
 * run it in the sandbox, and report. One thread per slot, each with its own connection; a
 * watch thread keeps the node online in the registry and ends sandboxes whose work is no
 * longer wanted.
 *
 * Signed requests are never repeated verbatim (their counter would be a replay): a report
 * that got no answer is signed again with a new counter. Stopping ends running sandboxes
 * (their attempts are reported cancelled and tried elsewhere); a killed executor leaves leases
 * that expire, and dux_sandbox_sweep at the next start removes what its sandboxes left. */
#include "executor.h"
#include <dux/log.h>
#include <dux/sign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Unix milliseconds, strictly increasing across this process's requests. */
int64_t exec_counter(executor_t *x)
{
	int64_t now = dux_now_us() / 1000, last = atomic_load(&x->counter);
	for (;;) {
		int64_t next = now > last ? now : last + 1;
		if (atomic_compare_exchange_weak(&x->counter, &last, next))
			return next;
	}
}

int exec_signed(executor_t *x, dux_client_t *cl, const char *path, const cJSON *body,
		dux_client_resp_t *ret)
{
	char *text = cJSON_PrintUnformatted(body);
	if (!text)
		return DUX_ENOMEM;
	int64_t counter = exec_counter(x);
	char sig[DUX_SIG_B64_LEN + 1], hn[80], hc[64], hs[160];
	int r = dux_sign_request(x->key, "POST", path, x->node_id, counter, text, strlen(text),
				 sig);
	snprintf(hn, sizeof hn, "%s: %s", DUX_HDR_NODE, x->node_id);
	snprintf(hc, sizeof hc, "%s: %lld", DUX_HDR_COUNTER, (long long)counter);
	snprintf(hs, sizeof hs, "%s: %s", DUX_HDR_SIGNATURE, sig);
	const char *headers[] = {hn, hc, hs, NULL};
	if (r == 0)
		r = dux_client_do(cl, "POST", path, headers, text, strlen(text), ret);
	free(text);
	return r;
}

/* Sleeps ms unless the executor stops first. */
void exec_nap(executor_t *x, int64_t ms)
{
	for (int64_t slept = 0; slept < ms && !atomic_load(&x->stop); slept += 100)
		usleep(100000);
}

static void *slot_main(void *arg)
{
	exec_slot_t *s = arg;
	executor_t *x = s->x;
	dux_client_t *cl = NULL;
	dux_client_opts_t o = {.base_url = x->t->cfg.scheduler_url,
			       .timeout_ms = x->claim_wait_ms + 15000};
	if (dux_client_new(&o, &cl) < 0) {
		dux_error("executor: no HTTP client");
		return NULL;
	}
	while (!atomic_load(&x->stop)) {
		cJSON *work = NULL;
		if (exec_claim(x, cl, &work) < 0) {
			exec_nap(x, 2000);
			continue;
		}
		for (const cJSON *a = work ? work->child : NULL; a; a = a->next)
			exec_run(s, cl, a);
		cJSON_Delete(work);
	}
	dux_client_free(cl);
	return NULL;
}

static int key_load(executor_t *x)
{
	uint8_t pub[DUX_ED25519_PUB_LEN];
	int r = dux_key_load_file(x->t->cfg.node_key_file, &x->key);
	if (r == 0 && !dux_key_is_private(x->key))
		r = DUX_EINVAL;
	if (r == 0)
		r = dux_key_public(x->key, pub);
	if (r < 0) {
		dux_error("tasks.node_key_file %s: not an Ed25519 private key (%s)",
			  x->t->cfg.node_key_file, dux_strerror(r));
		return DUX_EINVAL;
	}
	dux_node_id(pub, x->node_id);
	return 0;
}

static void sweep(executor_t *x)
{
	struct dux_sandbox_spec spec;
	dux_sandbox_spec_init(&spec);
	spec.scratch_base = x->t->cfg.sb_scratch;
	spec.cgroup_parent = x->t->cfg.sb_cgroup;
	unsigned n = 0;
	if (dux_sandbox_sweep(&spec, &n) < 0)
		dux_warn("executor: could not remove everything earlier sandboxes left");
	else if (n)
		dux_info("executor: removed %u scratch and cgroup dirs of earlier sandboxes", n);
}

/* Runtime docker only where an engine answers: refused at start, with the reason. */
static int runtime_check(executor_t *x)
{
	x->docker = strcmp(x->t->cfg.sb_runtime, "docker") == 0;
	if (!x->docker)
		return 0;
	dux_docker_opts_init(&x->docker_opts);
	x->docker_opts.socket_path = x->t->cfg.sb_docker_socket;
	char why[DUX_DOCKER_WHY_MAX];
	if (dux_docker_available(&x->docker_opts, why, sizeof why) < 0) {
		dux_error("sandbox.runtime docker: %s", why);
		return DUX_EINVAL;
	}
	return 0;
}

int executor_start(tasks_t *t)
{
	executor_t *x = calloc(1, sizeof *x);
	if (!x)
		return DUX_ENOMEM;
	x->t = t;
	x->slots = (int)t->cfg.executor_slots;
	x->claim_wait_ms = t->cfg.claim_wait_ms < 10000 ? t->cfg.claim_wait_ms : 10000;
	t->exec = x;
	int r = key_load(x);
	if (r == 0)
		r = runtime_check(x);
	if (r < 0)
		return r;
	if (!x->docker)
		sweep(x);
	dux_info("executor: node %s, %d slot(s), pulling from %s", x->node_id, x->slots,
		 t->cfg.scheduler_url);
	for (int i = 0; i < x->slots && r == 0; i++) {
		exec_slot_t *s = &x->slot[i];
		s->x = x;
		pthread_mutex_init(&s->mu, NULL);
		r = pthread_create(&s->thread, NULL, slot_main, s) == 0 ? 0 : DUX_EIO;
		x->nthreads += r == 0;
	}
	if (r == 0) {
		r = pthread_create(&x->watch, NULL, exec_watch_main, x) == 0 ? 0 : DUX_EIO;
		x->has_watch = r == 0;
	}
	return r;
}

void executor_stop(tasks_t *t)
{
	executor_t *x = t->exec;
	if (!x)
		return;
	atomic_store(&x->stop, true);
	for (int i = 0; i < x->nthreads; i++)
		atomic_store(&x->slot[i].cancel, true); /* running sandboxes end now */
	for (int i = 0; i < x->nthreads; i++) {
		pthread_join(x->slot[i].thread, NULL);
		pthread_mutex_destroy(&x->slot[i].mu);
	}
	if (x->has_watch)
		pthread_join(x->watch, NULL);
	dux_key_free(x->key);
	free(x);
	t->exec = NULL;
}
