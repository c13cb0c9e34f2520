/* node.c - the node's identity: duxctl node init | show. A node is its Ed25519 key file;
 * registration (node_register.c) and heartbeats (node_heartbeat.c) are signed with it. */
#include "duxctl.h"
#include <errno.h>
#include <sys/stat.h>

enum { O_KEY = 256, O_FORCE };

static int init_print(const ctl_t *ctl, const ctl_identity_t *id)
{
	if (!ctl->json) {
		printf("node_id %s\n", id->node_id); /* last word: the id, for scripts */
		return CTL_OK;
	}
	cJSON *o = cJSON_CreateObject();
	int rc = CTL_EXIT_LOCAL;
	if (o && cJSON_AddStringToObject(o, "node_id", id->node_id) &&
	    cJSON_AddStringToObject(o, "public_key", id->public_b64) &&
	    cJSON_AddStringToObject(o, "key_file", id->path))
		rc = out_json(o);
	else
		ctl_fail(rc, "out of memory");
	cJSON_Delete(o);
	return rc;
}

int node_init(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"key", required_argument, NULL, O_KEY},
		{"force", no_argument, NULL, O_FORCE},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *key = NULL;
	bool force = false;
	int c, rc;
	while ((c = ctl_opt_next(ctl, argc, argv, lo)) >= 0) {
		if (c == O_KEY)
			key = optarg;
		else if (c == O_FORCE)
			force = true;
	}
	if ((rc = ctl_opt_status(c)) >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = ctl_require(ctl, key, "--key FILE")) != CTL_OK)
		return rc;
	ctl_identity_t id = {0};
	struct stat st;
	/* anything at that path but "nothing" (even an unreadable file) is kept unless --force */
	bool exists = lstat(key, &st) == 0 || errno != ENOENT;
	if (exists && !force)
		rc = ctl_identity_load(key, true, &id);
	else
		rc = ctl_identity_create(key, force, &id);
	if (rc == CTL_OK)
		rc = init_print(ctl, &id);
	ctl_identity_clear(&id);
	return rc;
}

int node_show(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"key", required_argument, NULL, O_KEY},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *key = NULL;
	int c, rc;
	while ((c = ctl_opt_next(ctl, argc, argv, lo)) >= 0)
		key = c == O_KEY ? optarg : key;
	if ((rc = ctl_opt_status(c)) >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = ctl_require(ctl, key, "--key FILE")) != CTL_OK)
		return rc;
	ctl_identity_t id = {0};
	/* the node id is all that is needed: a public key file will do */
	rc = ctl_identity_load(key, false, &id);
	if (rc == CTL_OK)
		rc = nodes_print_one(ctl, id.node_id);
	ctl_identity_clear(&id);
	return rc;
}
