/* caller.c - who is calling, and for whom.
 *
 * A caller debits only accounts it owns (owner = its token's subject). A service (the escrow
 * daemon) acting for an owner presents that owner's own token in Dux-On-Behalf-Of, so a
 * service can move an owner's money only while the owner has asked it to. A delegated call
 * debits only the owner's accounts, never the service's own (the escrow owns the community
 * fund's accounts: a user naming one must not be able to pay from it). */
#include "wallet.h"
#include <string.h>
#include <time.h>

bool caller_of(wallet_t *w, dux_req_t *r, ledger_caller_t *who)
{
	const dux_token_t *t = dux_req_token(r);
	memset(who, 0, sizeof *who);
	who->actor = t->sub;
	who->principals[who->nprincipals++] = t->sub;
	const char *obo = dux_req_header(r, "Dux-On-Behalf-Of");
	if (!obo)
		return true;
	if (!(t->scopes & DUX_SCOPE_SERVICE)) {
		dux_reply_problem(r, 403, "delegation-refused",
				  "only a service may act on behalf of an owner (Dux-On-Behalf-Of)");
		return false;
	}
	dux_token_t o;
	const dux_key_t *key = dux_daemon_auth_key(w->d);
	const char *issuer = dux_daemon_common(w->d)->auth_issuer;
	if (strlen(obo) > DUX_TOKEN_MAX || !key ||
	    dux_token_verify(key, issuer, obo, (int64_t)time(NULL), &o) < 0) {
		dux_reply_problem(r, 401, "invalid-delegation",
				  "Dux-On-Behalf-Of must hold a valid, unexpired token of the owner");
		return false;
	}
	if (o.scopes & (DUX_SCOPE_SERVICE | DUX_SCOPE_ADMIN)) {
		dux_reply_problem(r, 403, "delegation-refused",
				  "Dux-On-Behalf-Of must name a user or provider, not a service or admin");
		return false;
	}
	/* acting for the owner: the owner's accounts, and no longer the service's own */
	memcpy(who->delegator, o.sub, sizeof who->delegator);
	who->principals[0] = who->delegator;
	return true;
}

bool caller_may_read(const dux_req_t *r, const char *owner)
{
	const dux_token_t *t = dux_req_token(r);
	return strcmp(t->sub, owner) == 0 || (t->scopes & (DUX_SCOPE_SERVICE | DUX_SCOPE_ADMIN));
}
