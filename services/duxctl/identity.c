/* identity.c - a node's Ed25519 identity in a PEM key file, and the ids derived from it. */
#include "duxctl.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int derive(ctl_identity_t *id)
{
	uint8_t pub[DUX_ED25519_PUB_LEN];
	int r = dux_key_public(id->key, pub);
	if (r < 0)
		return r;
	dux_node_id(pub, id->node_id);
	dux_b64url_encode(pub, sizeof pub, id->public_b64);
	return 0;
}

int ctl_identity_load(const char *path, bool need_private, ctl_identity_t *ret)
{
	ctl_identity_t id = {.path = path};
	int r = dux_key_load_file(path, &id.key);
	if (r == DUX_ENOENT)
		return ctl_fail(CTL_EXIT_LOCAL, "key file %s does not exist", path);
	if (r == DUX_EIO)
		return ctl_fail(CTL_EXIT_LOCAL, "cannot read key file %s: %s", path,
				strerror(errno));
	if (r < 0)
		return ctl_fail(CTL_EXIT_LOCAL, "%s does not hold an Ed25519 key in PEM form",
				path);
	if (need_private && !dux_key_is_private(id.key)) {
		ctl_identity_clear(&id);
		return ctl_fail(CTL_EXIT_LOCAL,
				"%s holds only a public key; the private key is needed", path);
	}
	if (derive(&id) < 0) {
		ctl_identity_clear(&id);
		return ctl_fail(CTL_EXIT_LOCAL, "cannot read the public key of %s", path);
	}
	*ret = id;
	return CTL_OK;
}

/* Puts the new key file in place. Unless replacing, link() is used: it fails when path exists,
 * so two concurrent inits never both believe their key is the node's; a file system without
 * hard links gets rename. */
static int install(const char *tmp, const char *path, bool replace)
{
	if (replace)
		return rename(tmp, path) == 0 ? 0 : DUX_EIO;
	if (link(tmp, path) == 0) {
		unlink(tmp); /* the key is in place; a leftover name would only be untidy */
		return 0;
	}
	if (errno == EEXIST)
		return DUX_EEXIST;
	if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP)
		return DUX_EIO;
	return rename(tmp, path) == 0 ? 0 : DUX_EIO;
}

int ctl_identity_create(const char *path, bool replace, ctl_identity_t *ret)
{
	ctl_identity_t id = {.path = path};
	char *tmp = NULL;
	int rc = CTL_EXIT_LOCAL;
	if (asprintf(&tmp, "%s.new.%ld", path, (long)getpid()) < 0) {
		tmp = NULL;
		rc = ctl_fail(rc, "out of memory");
		goto out;
	}
	if (ctl_mkdir_parents(path) < 0) {
		rc = ctl_fail(rc, "cannot create the directory of %s: %s", path, strerror(errno));
		goto out;
	}
	if (dux_key_generate(&id.key) < 0 || derive(&id) < 0) {
		rc = ctl_fail(rc, "cannot generate an Ed25519 key");
		goto out;
	}
	if (dux_key_save_file(id.key, tmp) < 0) {
		rc = ctl_fail(rc, "cannot write key file %s: %s", path, strerror(errno));
		goto out;
	}
	int r = install(tmp, path, replace);
	if (r == DUX_EEXIST) { /* another init won the race: its key is the node's */
		unlink(tmp);
		ctl_identity_clear(&id);
		rc = ctl_identity_load(path, true, &id);
		if (rc != CTL_OK)
			goto out;
	} else if (r < 0) {
		rc = ctl_fail(rc, "cannot write key file %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	*ret = id;
	id.key = NULL;
	rc = CTL_OK;
out:
	ctl_identity_clear(&id);
	free(tmp);
	return rc;
}

void ctl_identity_clear(ctl_identity_t *id)
{
	id->key = dux_key_free(id->key);
}
