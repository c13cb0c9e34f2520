/* config.c - checks of duxos-tasks' own options, and what they mean once checked. */
#include "tasks.h"
#include <stdio.h>
#include <string.h>

static int role_check(tasks_t *t, char *err, size_t len)
{
	const char *role = t->cfg.role;
	t->scheduler = strcmp(role, "scheduler") == 0 || strcmp(role, "both") == 0;
	t->executor = strcmp(role, "executor") == 0 || strcmp(role, "both") == 0;
	if (!t->scheduler && !t->executor) {
		snprintf(err, len, "tasks.role: expected scheduler, executor or both, got \"%s\"", role);
		return DUX_EINVAL;
	}
	if (t->scheduler && (!*t->cfg.escrow_token || !*t->cfg.registry_token)) {
		snprintf(err, len, "tasks.%s: required in role %s: a service token (or %s_file), or"
				   " providers are never paid and nodes never rated",
			 *t->cfg.escrow_token ? "registry_token" : "escrow_token", role,
			 *t->cfg.escrow_token ? "registry_token" : "escrow_token");
		return DUX_EINVAL;
	}
	if (t->executor && !*t->cfg.node_key_file) {
		snprintf(err, len, "tasks.node_key_file: required in role %s: the node's Ed25519 key"
				   " (duxctl node init)", role);
		return DUX_EINVAL;
	}
	return 0;
}

static int sandbox_check(tasks_t *t, char *err, size_t len)
{
	const tasks_cfg_t *c = &t->cfg;
	const char *why = NULL;
	if (strcmp(c->sb_runtime, "native") != 0 && strcmp(c->sb_runtime, "docker") != 0) {
		snprintf(err, len, "sandbox.runtime: expected native or docker, got \"%s\"",
			 c->sb_runtime);
		return DUX_EINVAL;
	}
	if (dux_sandbox_parse_memory(c->sb_memory, &t->max_memory, &why) < 0) {
		snprintf(err, len, "sandbox.memory_limit: %s", why);
		return DUX_EINVAL;
	}
	if (dux_sandbox_parse_cpu(c->sb_cpu, &t->max_cpu_milli, &why) < 0) {
		snprintf(err, len, "sandbox.cpu_limit: %s", why);
		return DUX_EINVAL;
	}
	t->allowed = 0;
	for (size_t i = 0; i < c->sb_allowed.n; i++) {
		enum dux_sandbox_runtime rt;
		if (dux_sandbox_parse_runtime(c->sb_allowed.v[i], &rt, &why) < 0) {
			snprintf(err, len, "sandbox.allowed_commands: \"%s\": %s", c->sb_allowed.v[i],
				 why);
			return DUX_EINVAL;
		}
		t->allowed |= 1u << rt;
	}
	if (!t->allowed) {
		snprintf(err, len, "sandbox.allowed_commands: name at least one of python, node, bash");
		return DUX_EINVAL;
	}
	t->allow_network = c->sb_network;
	return 0;
}

static int keys_check(tasks_t *t, char *err, size_t len)
{
	for (size_t i = 0; i < t->cfg.bundle_keys.n; i++) {
		const char *k = t->cfg.bundle_keys.v[i];
		uint8_t pub[DUX_ED25519_PUB_LEN];
		size_t n = 0;
		if (dux_b64url_decode(k, strlen(k), pub, sizeof pub, &n) < 0 || n != sizeof pub) {
			snprintf(err, len, "tasks.bundle_keys: entry %zu is not a base64url Ed25519"
					   " public key (43 characters)", i + 1);
			return DUX_EINVAL;
		}
	}
	return 0;
}

int tasks_check(tasks_t *t, char *err, size_t len)
{
	int r = role_check(t, err, len);
	if (r == 0)
		r = sandbox_check(t, err, len);
	if (r == 0)
		r = keys_check(t, err, len);
	if (r == 0 && t->scheduler && t->cfg.offer_timeout * 1000 <= t->cfg.claim_wait_ms / 2) {
		snprintf(err, len, "tasks.offer_timeout: must exceed half of tasks.claim_wait_ms, or"
				   " offers expire while their node's claim is still on its way");
		r = DUX_EINVAL;
	}
	return r;
}
