/* store_review.c - duxctl store review: POST /v1/services/{id}/reviews, 1 to 5 stars and an
 * optional text. The store admits it only from a token whose subject has paid for a call of
 * the service (a released escrow); a second review replaces the first. */
#include "duxctl.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_STARS = 256, O_TEXT };

#define STORE_REVIEW_MAX 2000

int store_review(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"stars", required_argument, NULL, O_STARS},
		{"text", required_argument, NULL, O_TEXT},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *stars = NULL, *text = NULL;
	int64_t n = 0;
	int c, rc;
	while ((c = ctl_opt_next(ctl, argc, argv, lo)) >= 0) {
		if (c == O_STARS && (rc = ctl_parse_i64(ctl, "--stars", optarg, 1, 5, &n)) != CTL_OK)
			return rc;
		if (c == O_STARS)
			stars = optarg;
		if (c == O_TEXT && (rc = store_check_text(ctl, "--text", optarg, STORE_REVIEW_MAX, true,
							  true)) != CTL_OK)
			return rc;
		if (c == O_TEXT)
			text = optarg;
	}
	if ((rc = ctl_opt_status(c)) >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 1, "SERVICE_ID")) != CTL_OK ||
	    (rc = store_check_id(ctl, "SERVICE_ID", argv[optind])) != CTL_OK ||
	    (rc = ctl_require(ctl, stars, "--stars N")) != CTL_OK ||
	    (rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	cJSON *o = cJSON_CreateObject();
	char *body = o && cJSON_AddNumberToObject(o, "stars", (double)n) &&
			     (!text || cJSON_AddStringToObject(o, "text", text))
			     ? cJSON_PrintUnformatted(o)
			     : NULL;
	cJSON_Delete(o);
	dux_client_resp_t resp = {0};
	rc = !body ? ctl_fail(CTL_EXIT_LOCAL, "out of memory")
		   : ctl_call_id(ctl, "POST", "/v1/services", argv[optind], "reviews", body, &resp);
	if (rc == CTL_OK && ctl->json) {
		out_raw(&resp);
	} else if (rc == CTL_OK) {
		printf("%s service %s: %lld star%s\n",
		       resp.status == 201 ? "reviewed" : "replaced your review of", argv[optind],
		       (long long)n, n == 1 ? "" : "s");
	}
	dux_client_resp_clear(&resp);
	free(body);
	return rc;
}
