/* wallet_chain.c - wallet.chain: flopcoind against fake-flopcoind, a JSON-RPC server with
 * Flopcoin Core's wire format: node addresses, deposits credited after min_confirmations and
 * once, withdrawals sent once (also when the answer is lost or the wallet is killed mid-send),
 * RPC errors mapped to problems with the hold released, an unreachable node answered 503,
 * wrong credentials, and wallet backups. */
#include "wallet_util.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <dux/address.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define FLOP INT64_C(100000000)
#define NODE_PASS "node wallet passphrase"

typedef struct {
	pid_t pid;
	int port;
	char datadir[64];
	char url[64];
} fake_t;

static fake_t fake;
static wu_wallet_t w;
static char user[WU_HDR_MAX];

static bool fake_start(fake_t *f)
{
	char port[16];
	int fds[2];
	f->port = th_free_port();
	snprintf(port, sizeof port, "%d", f->port);
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", f->port);
	if (!*f->datadir) {
		snprintf(f->datadir, sizeof f->datadir, "/tmp/duxos-fakenode-XXXXXX");
		if (!mkdtemp(f->datadir))
			return false;
	}
	if (pipe(fds) < 0)
		return false;
	f->pid = fork();
	if (f->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], 1);
		close(fds[0]);
		execl(DUX_BIN_DIR "/fake-flopcoind", "fake-flopcoind", "--port", port, "--user",
		      "rpcuser", "--password", "rpc secret", "--network", "regtest", "--encrypted",
		      NODE_PASS, "--datadir", f->datadir, "--balance", "1000", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char line[64] = "";
	FILE *in = fdopen(fds[0], "r");
	bool ok = in && fgets(line, sizeof line, in) && strncmp(line, "ready", 5) == 0;
	if (in)
		fclose(in);
	return ok;
}

static void fake_stop(fake_t *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
	}
}

/* One call to the fake; the result member (caller frees). */
static cJSON *rpc(const char *method, const char *params)
{
	char body[512];
	snprintf(body, sizeof body, "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}",
		 method, params);
	dux_client_resp_t resp;
	/* "rpcuser:rpc secret" */
	const char *auth[] = {"Authorization: Basic cnBjdXNlcjpycGMgc2VjcmV0", NULL};
	if (th_http(fake.url, "POST", "/", body, auth, &resp) < 0)
		return NULL;
	cJSON *res = cJSON_DetachItemFromObject(resp.json, "result");
	dux_client_resp_clear(&resp);
	return res;
}

static void rpc_do(const char *method, const char *params)
{
	cJSON_Delete(rpc(method, params));
}

static int sends_with_comment(const char *comment)
{
	cJSON *st = rpc("fake_stats", "[]");
	int n = 0;
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(st, "sends"))
	{
		const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(s, "comment"));
		n += c && strcmp(c, comment) == 0;
	}
	cJSON_Delete(st);
	return n;
}

static int fake_sends(void)
{
	cJSON *st = rpc("fake_stats", "[]");
	int n = cJSON_GetArraySize(cJSON_GetObjectItem(st, "sends"));
	cJSON_Delete(st);
	return n;
}

static const char *wallet_yaml(const char *password)
{
	static char y[800];
	snprintf(y, sizeof y,
		 "  chain: flopcoind\n  min_confirmations: 3\n  deposit_interval: 1\n"
		 "  backup_interval: 2\n  fee_reserve: \"1\"\n"
		 "chain:\n  network: regtest\n"
		 "rpc:\n  host: 127.0.0.1\n  port: %d\n  user: rpcuser\n  password: \"%s\"\n"
		 "  timeout: 1\n  unlock_seconds: 5\n",
		 fake.port, password);
	return y;
}

static int setup(void **state)
{
	(void)state;
	memset(&fake, 0, sizeof fake);
	if (!fake_start(&fake) || !wu_start(&w, NODE_PASS, wallet_yaml("rpc secret")))
		return -1;
	char sub[64];
	wu_subject("chain", sub);
	return wu_bearer(&w, sub, DUX_SCOPE_USER, user, sizeof user) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	int st = wu_stop(&w);
	wu_free(&w);
	fake_stop(&fake);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", fake.datadir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fake.datadir);
	return st == 0 ? 0 : -1;
}

static int64_t wait_balance(const char *addr, int64_t want)
{
	int64_t b = -1;
	for (int i = 0; i < 100 && b != want; i++) {
		b = wu_balance(&w, addr);
		if (b != want)
			usleep(100 * 1000);
	}
	return b;
}

/* A deposit of 12.34567891 FLOP to a new node address, confirmed 3 times. */
static void funded_account(char addr[64])
{
	assert_true(wu_account(&w, user, addr));
	assert_true(addr[0] == 'm' || addr[0] == 'n'); /* regtest, from the node */
	char params[128];
	snprintf(params, sizeof params, "[\"%s\",12.34567891]", addr);
	rpc_do("fake_receive", params);
	rpc_do("generate", "[2]");
	sleep(2); /* two scans: two confirmations are not enough */
	assert_int_equal(wu_balance(&w, addr), 0);
	rpc_do("generate", "[1]");
	assert_int_equal(wait_balance(addr, 1234567891), 1234567891);
}

static long wsend(const char *from, const char *to, const char *amount, const char *key,
		 cJSON **ret)
{
	char body[256], hdr[160];
	snprintf(body, sizeof body, "{\"from\":\"%s\",\"address\":\"%s\",\"amount\":\"%s\"}", from,
		 to, amount);
	snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key);
	const char *extra[] = {hdr, NULL};
	return wu_call(&w, "POST", "/wallet/send", user, extra, body, ret);
}

static void outside_address(char out[64])
{
	char *pem = NULL;
	assert_int_equal(dux_address_new(DUX_NET_REGTEST, out, &pem), 0);
	free(pem);
}

static const char *withdrawal_id(const cJSON *ans)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(ans, "withdrawal"), "id"));
}

static void deposits_credit_once(void **state)
{
	(void)state;
	char addr[64];
	funded_account(addr);
	sleep(2); /* more scans list the same deposit: it stays credited once */
	assert_int_equal(wu_balance(&w, addr), 1234567891);
	cJSON *ev = NULL;
	assert_int_equal(wu_call(&w, "GET", "/v1/events?after=0", w.admin, NULL, NULL, &ev), 200);
	int deposits = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(ev, "events"))
	{
		deposits += strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "type")),
				   "wallet.deposit.confirmed") == 0;
	}
	cJSON_Delete(ev);
	assert_int_equal(deposits, 1);
	/* the faucet is for chain: none only */
	assert_int_equal(wu_faucet(&w, addr, "1"), 403);
	assert_true(wu_ledger_holds(&w));
}

static void withdrawal_sent_once(void **state)
{
	(void)state;
	char addr[64], to[64];
	funded_account(addr);
	outside_address(to);
	cJSON *a = NULL, *b = NULL;
	assert_int_equal(wsend(addr, to, "2", "w1", &a), 201);
	const char *txid = cJSON_GetStringValue(cJSON_GetObjectItem(a, "txid"));
	assert_non_null(txid);
	assert_int_equal(strlen(txid), 64);
	/* the fake's fee is 0.01: the hold of 2 + 1 was posted for 2.01, the rest released */
	assert_int_equal(wu_balance(&w, addr), 1234567891 - 201000000);
	assert_int_equal(wu_held(&w, addr), 0);
	assert_int_equal(sends_with_comment(withdrawal_id(a)), 1);
	cJSON *st = rpc("fake_stats", "[]");
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(st, "unlocked"))); /* locked again */
	cJSON_Delete(st);
	/* the same request again: the same withdrawal, nothing sent */
	assert_int_equal(wsend(addr, to, "2", "w1", &b), 200);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(b, "txid")), txid);
	assert_int_equal(sends_with_comment(withdrawal_id(a)), 1);
	assert_true(wu_ledger_holds(&w));
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static void expect_refused(const char *from, const char *to, const char *key, long status,
			   const char *problem)
{
	char body[256], hdr[160];
	snprintf(body, sizeof body, "{\"from\":\"%s\",\"address\":\"%s\",\"amount\":\"1\"}", from, to);
	snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key);
	const char *extra[] = {hdr, NULL};
	dux_client_resp_t resp;
	assert_int_equal(wu_http(&w, "POST", "/wallet/send", user, extra, body, &resp), 0);
	assert_int_equal(resp.status, status);
	assert_string_equal(th_problem(&resp), problem);
	dux_client_resp_clear(&resp);
}

static void rpc_errors_release_the_hold(void **state)
{
	(void)state;
	char addr[64], to[64];
	funded_account(addr);
	outside_address(to);
	rpc_do("fake_fail", "[\"sendtoaddress\",-6,\"Insufficient funds\"]");
	expect_refused(addr, to, "e1", 502, "chain-insufficient-funds");
	rpc_do("fake_fail", "[\"sendtoaddress\",-5,\"Invalid Flopcoin address\"]");
	expect_refused(addr, to, "e2", 422, "chain-invalid-address");
	rpc_do("fake_fail", "[\"sendtoaddress\",-4,\"Transaction amount too small\"]");
	expect_refused(addr, to, "e3", 422, "chain-amount-refused");
	rpc_do("fake_fail", "[\"walletpassphrase\",-14,\"Error: The wallet passphrase entered was incorrect.\"]");
	expect_refused(addr, to, "e4", 502, "chain-wallet-locked");
	rpc_do("fake_warmup", "[1]");
	expect_refused(addr, to, "e5", 503, "chain-warming-up");
	/* every refusal released its hold and sent nothing */
	assert_int_equal(wu_balance(&w, addr), 1234567891);
	assert_int_equal(wu_held(&w, addr), 0);
	assert_true(wu_ledger_holds(&w));
	/* a refused withdrawal asked again is not retried: its failure is its answer */
	expect_refused(addr, to, "e1", 409, "withdrawal-failed");
}

static cJSON *withdrawal_state(const char *id, const char *want)
{
	char path[160];
	snprintf(path, sizeof path, "/v1/withdrawals/%s", id);
	cJSON *wd = NULL;
	for (int i = 0; i < 150; i++) {
		cJSON_Delete(wd);
		wd = NULL;
		assert_int_equal(wu_call(&w, "GET", path, user, NULL, NULL, &wd), 200);
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(wd, "state")), want) == 0)
			break;
		usleep(100 * 1000);
	}
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(wd, "state")), want);
	return wd;
}

static void lost_answer_settled_by_recovery(void **state)
{
	(void)state;
	char addr[64], to[64];
	funded_account(addr);
	outside_address(to);
	/* the node sends but its answer never comes: 202, and recovery finds the send */
	rpc_do("fake_hang_after_send", "[1]");
	cJSON *a = NULL;
	assert_int_equal(wsend(addr, to, "3", "h1", &a), 202);
	char id[128];
	snprintf(id, sizeof id, "%s", withdrawal_id(a));
	cJSON_Delete(a);
	cJSON_Delete(withdrawal_state(id, "sent"));
	assert_int_equal(sends_with_comment(id), 1);
	assert_int_equal(wu_balance(&w, addr), 1234567891 - 301000000);

	/* the wallet killed while the node holds the answer: after a restart, sent once */
	rpc_do("fake_hang_after_send", "[1]");
	pid_t pid = fork();
	if (pid == 0) /* the request, from a child: its connection dies with the wallet */
		_exit(wsend(addr, to, "4", "h2", NULL) < 0 ? 0 : 1);
	for (int i = 0; i < 100 && fake_sends() < 2; i++)
		usleep(50 * 1000);
	th_daemon_kill(&w.d);
	waitpid(pid, NULL, 0);
	assert_true(wu_restart(&w, NODE_PASS, wallet_yaml("rpc secret"), true));
	for (int i = 0; i < 150 && wu_held(&w, addr) != 0; i++)
		usleep(100 * 1000);
	assert_int_equal(wu_held(&w, addr), 0);
	assert_int_equal(wu_balance(&w, addr), 1234567891 - 301000000 - 401000000);
	assert_int_equal(fake_sends(), 2);
	assert_true(wu_ledger_holds(&w));
}

static void unreachable_node_is_503(void **state)
{
	(void)state;
	char addr[64], to[64];
	funded_account(addr);
	outside_address(to);
	fake_stop(&fake);
	expect_refused(addr, to, "u1", 503, "chain-unavailable");
	dux_client_resp_t resp;
	assert_int_equal(wu_http(&w, "POST", "/wallet/address", user, NULL, NULL, &resp), 0);
	assert_int_equal(resp.status, 503);
	assert_string_equal(th_problem(&resp), "chain-unavailable");
	dux_client_resp_clear(&resp);
	assert_int_equal(wu_balance(&w, addr), 1234567891);
	assert_int_equal(wu_held(&w, addr), 0);
	assert_true(fake_start(&fake)); /* a fresh node for teardown's sake */
}

static void wrong_credentials_and_backups(void **state)
{
	(void)state;
	/* backups: one file per interval under the node's backups folder */
	sleep(3);
	char dir[128];
	snprintf(dir, sizeof dir, "%s/backups", fake.datadir);
	DIR *d = opendir(dir);
	int files = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		files += strncmp(e->d_name, "duxos-wallet-", 13) == 0;
	if (d)
		closedir(d);
	assert_true(files >= 1);
	/* the node refuses our password: a precise 502, no crash */
	assert_int_equal(wu_stop(&w), 0);
	assert_true(wu_restart(&w, NODE_PASS, wallet_yaml("wrong"), true));
	dux_client_resp_t resp;
	assert_int_equal(wu_http(&w, "POST", "/wallet/address", user, NULL, NULL, &resp), 0);
	assert_int_equal(resp.status, 502);
	assert_string_equal(th_problem(&resp), "chain-auth");
	dux_client_resp_clear(&resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(deposits_credit_once, setup, teardown),
		cmocka_unit_test_setup_teardown(withdrawal_sent_once, setup, teardown),
		cmocka_unit_test_setup_teardown(rpc_errors_release_the_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(lost_answer_settled_by_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(unreachable_node_is_503, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_credentials_and_backups, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
