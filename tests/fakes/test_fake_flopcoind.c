/* test_fake_flopcoind.c - fake-flopcoind over real HTTP: the node's wire format (auth, errors,
 * batches, 8-decimal amounts), the wallet (addresses, receives, blocks, sends, encryption,
 * backups) and the test controls; every run ends with SIGTERM and a clean exit. */
#include "harness.h"
#include <dux/address.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define USER "dux"
#define PASSWORD "s3cret:with colon"

typedef struct {
	pid_t pid;
	int port;
	char url[64];
	char auth[128]; /* the Authorization header line */
} fake_t;

/* Reads "ready <port>\n" from fd within 20 s (ASan start-up is slow on a busy machine). */
static bool read_ready(int fd, int port)
{
	char line[64];
	size_t n = 0;
	while (n < sizeof line - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 20000) <= 0 || read(fd, line + n, 1) != 1)
			return false;
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	char want[32];
	snprintf(want, sizeof want, "ready %d\n", port);
	return strcmp(line, want) == 0;
}

/* Starts bin/fake-flopcoind on a free port with the test's credentials and extra arguments
 * (NULL-terminated, may be NULL); waits for its ready line. */
static void fake_start(fake_t *f, char *const *extra)
{
	char *argv[24] = {"fake-flopcoind", "--port", NULL, "--user", USER, "--password",
				PASSWORD};
	char port[16], cred[64], b64[96];
	int pipefd[2], argc = 7;
	memset(f, 0, sizeof *f);
	f->port = th_free_port();
	assert_true(f->port > 0);
	snprintf(port, sizeof port, "%d", f->port);
	argv[2] = port;
	for (; extra && *extra && argc < 22; extra++)
		argv[argc++] = *extra;
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", f->port);
	int n = snprintf(cred, sizeof cred, "%s:%s", USER, PASSWORD);
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)cred, n);
	snprintf(f->auth, sizeof f->auth, "Authorization: Basic %s", b64);
	assert_int_equal(pipe(pipefd), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		/* a test that dies halfway takes the fake with it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execv(DUX_BIN_DIR "/fake-flopcoind", argv);
		_exit(127);
	}
	close(pipefd[1]);
	bool ready = read_ready(pipefd[0], f->port);
	close(pipefd[0]);
	assert_true(ready);
}

/* Sends sig and waits at most timeout_ms; returns the exit status, -1 on a signal or timeout. */
static int fake_signal(fake_t *f, int sig, int timeout_ms)
{
	int st = 0;
	pid_t r = 0;
	kill(f->pid, sig);
	for (int waited = 0; waited <= timeout_ms && r == 0; waited += 20) {
		r = waitpid(f->pid, &st, WNOHANG);
		if (r == 0)
			usleep(20000);
	}
	if (r == 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0);
	}
	f->pid = 0;
	return r > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void fake_stop(fake_t *f)
{
	assert_int_equal(fake_signal(f, SIGTERM, 20000), 0);
}

/* POSTs body with the fake's credentials. */
static void post(const fake_t *f, const char *body, dux_client_resp_t *resp)
{
	const char *hdr[] = {f->auth, NULL};
	assert_int_equal(th_http(f->url, "POST", "/", body, hdr, resp), 0);
}

/* Calls method with params (the text of a JSON array); resp holds the answer. */
static void rpc(const fake_t *f, const char *method, const char *params, dux_client_resp_t *resp)
{
	char body[2048];
	snprintf(body, sizeof body, "{\"jsonrpc\":\"1.0\",\"id\":\"t\",\"method\":\"%s\",\"params\":%s}",
		 method, params);
	post(f, body, resp);
}

static const cJSON *result(const dux_client_resp_t *resp)
{
	return cJSON_GetObjectItemCaseSensitive(resp->json, "result");
}

/* The error code of an answer; 0 when error is null. */
static int err_code(const dux_client_resp_t *resp)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp->json, "error");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
	return cJSON_IsNumber(c) ? c->valueint : 0;
}

/* Calls method and asserts it succeeded; returns a copy of the result's string (or "") in out. */
static void ok_str(const fake_t *f, const char *method, const char *params, char *out, size_t len)
{
	dux_client_resp_t resp;
	rpc(f, method, params, &resp);
	if (resp.status != 200)
		fprintf(stderr, "%s %s: %ld %s\n", method, params, resp.status, resp.body);
	assert_int_equal(resp.status, 200);
	assert_int_equal(err_code(&resp), 0);
	const cJSON *r = result(&resp);
	snprintf(out, len, "%s", cJSON_IsString(r) ? r->valuestring : "");
	dux_client_resp_clear(&resp);
}

/* Calls method and asserts it failed with HTTP status and RPC code. */
static void fails(const fake_t *f, const char *method, const char *params, long status, int code)
{
	dux_client_resp_t resp;
	rpc(f, method, params, &resp);
	if (resp.status != status || err_code(&resp) != code)
		fprintf(stderr, "%s %s: %ld %s\n", method, params, resp.status, resp.body);
	assert_int_equal(resp.status, status);
	assert_int_equal(err_code(&resp), code);
	assert_true(cJSON_IsNull(result(&resp)));
	dux_client_resp_clear(&resp);
}

/* Calls method and asserts the raw answer contains text (exact amounts, exact members). */
static void body_has(const fake_t *f, const char *method, const char *params, const char *text)
{
	dux_client_resp_t resp;
	rpc(f, method, params, &resp);
	if (!strstr(resp.body, text))
		fprintf(stderr, "%s %s: wanted %s in %s\n", method, params, text, resp.body);
	assert_int_equal(resp.status, 200);
	assert_non_null(strstr(resp.body, text));
	dux_client_resp_clear(&resp);
}

static void wire_format(void **state)
{
	(void)state;
	fake_t f;
	dux_client_resp_t resp;
	fake_start(&f, NULL);

	const char *wrong[] = {"Authorization: Basic ZHV4Ondyb25n", NULL}; /* dux:wrong */
	const char *call = "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"getblockcount\"}";
	assert_int_equal(th_http(f.url, "POST", "/", call, wrong, &resp), 0);
	assert_int_equal(resp.status, 401);
	assert_int_equal(resp.len, 0);
	dux_client_resp_clear(&resp);
	assert_int_equal(th_http(f.url, "POST", "/", call, NULL, &resp), 0);
	assert_int_equal(resp.status, 401);
	assert_int_equal(resp.len, 0);
	dux_client_resp_clear(&resp);

	/* params may be absent; the id comes back as sent */
	post(&f, call, &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body, "{\"result\":100,\"error\":null,\"id\":1}\n");
	dux_client_resp_clear(&resp);

	rpc(&f, "getblockchaininfo", "[]", &resp);
	assert_string_equal(cJSON_GetObjectItem(result(&resp), "chain")->valuestring, "regtest");
	assert_int_equal(cJSON_GetObjectItem(result(&resp), "blocks")->valueint, 100);
	dux_client_resp_clear(&resp);

	fails(&f, "nosuchmethod", "[]", 404, -32601);
	fails(&f, "getblockcount", "[1]", 500, -1);
	post(&f, "{\"method\": getblockcount", &resp);
	assert_int_equal(resp.status, 500);
	assert_int_equal(err_code(&resp), -32700);
	dux_client_resp_clear(&resp);

	post(&f, "[{\"id\":1,\"method\":\"getblockcount\"},{\"id\":2,\"method\":\"nope\"},7]",
	     &resp);
	assert_int_equal(resp.status, 200);
	assert_true(cJSON_IsArray(resp.json));
	assert_int_equal(cJSON_GetArraySize(resp.json), 3);
	const cJSON *first = cJSON_GetArrayItem(resp.json, 0);
	assert_int_equal(cJSON_GetObjectItem(first, "result")->valueint, 100);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(first, "error")));
	const cJSON *e2 = cJSON_GetObjectItem(cJSON_GetArrayItem(resp.json, 1), "error");
	assert_int_equal(cJSON_GetObjectItem(e2, "code")->valueint, -32601);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(resp.json, 2), "error")
				 ->child->valueint, -32600);
	dux_client_resp_clear(&resp);

	/* walletpassphrase on an unencrypted wallet */
	fails(&f, "walletpassphrase", "[\"x\",10]", 500, -15);
	fails(&f, "walletlock", "[]", 500, -15);
	fake_stop(&f);
}

static void addresses(void **state)
{
	(void)state;
	fake_t f;
	char addr[DUX_ADDRESS_MAX], other[DUX_ADDRESS_MAX], params[128];
	char *pem = NULL;
	fake_start(&f, NULL);
	ok_str(&f, "getnewaddress", "[]", addr, sizeof addr);
	assert_true(addr[0] == 'm' || addr[0] == 'n');
	assert_int_equal(dux_address_validate(addr, DUX_NET_REGTEST, NULL, NULL), 0);

	snprintf(params, sizeof params, "[\"%s\"]", addr);
	body_has(&f, "validateaddress", params, "\"isvalid\":true");
	body_has(&f, "validateaddress", params, "\"ismine\":true");

	assert_int_equal(dux_address_new(DUX_NET_REGTEST, other, &pem), 0);
	free(pem);
	snprintf(params, sizeof params, "[\"%s\"]", other);
	body_has(&f, "validateaddress", params, "\"isvalid\":true");
	body_has(&f, "validateaddress", params, "\"ismine\":false");

	th_address(other); /* mainnet: not an address of regtest */
	snprintf(params, sizeof params, "[\"%s\"]", other);
	body_has(&f, "validateaddress", params, "{\"isvalid\":false}");
	body_has(&f, "validateaddress", "[\"hello\"]", "{\"isvalid\":false}");
	assert_int_equal(fake_signal(&f, SIGINT, 20000), 0);
}

static void receive_and_confirm(void **state)
{
	(void)state;
	fake_t f;
	char addr[DUX_ADDRESS_MAX], txid[80], tip[80], mined[80], params[256];
	fake_start(&f, NULL);
	ok_str(&f, "getnewaddress", "[]", addr, sizeof addr);
	ok_str(&f, "getbestblockhash", "[]", tip, sizeof tip);
	snprintf(params, sizeof params, "[\"%s\", 12.34567891]", addr);
	ok_str(&f, "fake_receive", params, txid, sizeof txid);
	assert_int_equal(strlen(txid), 64);

	/* unconfirmed: listed, not yet in the balance */
	body_has(&f, "getbalance", "[]", "\"result\":1000.00000000,");
	body_has(&f, "getbalance", "[\"*\", 0]", "\"result\":1012.34567891,");
	body_has(&f, "listsinceblock", "[]", "\"amount\":12.34567891");
	body_has(&f, "listsinceblock", "[]", "\"confirmations\":0");

	dux_client_resp_t resp;
	rpc(&f, "generate", "[1]", &resp);
	assert_int_equal(cJSON_GetArraySize(result(&resp)), 1);
	snprintf(mined, sizeof mined, "%s", cJSON_GetArrayItem(result(&resp), 0)->valuestring);
	dux_client_resp_clear(&resp);
	body_has(&f, "getblockcount", "[]", "\"result\":101,");
	body_has(&f, "getbalance", "[]", "\"result\":1012.34567891,");

	/* since the old tip: the receive, now in the mined block */
	snprintf(params, sizeof params, "[\"%s\"]", tip);
	rpc(&f, "listsinceblock", params, &resp);
	assert_non_null(strstr(resp.body, "\"category\":\"receive\",\"amount\":12.34567891"));
	const cJSON *txs = cJSON_GetObjectItem(result(&resp), "transactions");
	assert_int_equal(cJSON_GetArraySize(txs), 1);
	const cJSON *t = cJSON_GetArrayItem(txs, 0);
	assert_string_equal(cJSON_GetObjectItem(t, "txid")->valuestring, txid);
	assert_string_equal(cJSON_GetObjectItem(t, "address")->valuestring, addr);
	assert_int_equal(cJSON_GetObjectItem(t, "confirmations")->valueint, 1);
	assert_string_equal(cJSON_GetObjectItem(t, "blockhash")->valuestring, mined);
	assert_string_equal(cJSON_GetObjectItem(result(&resp), "lastblock")->valuestring, mined);
	dux_client_resp_clear(&resp);

	/* since the new tip: nothing */
	snprintf(params, sizeof params, "[\"%s\"]", mined);
	body_has(&f, "listsinceblock", params, "\"transactions\":[]");
	fails(&f, "listsinceblock", "[\"00ff\"]", 500, -5);

	ok_str(&f, "generate", "[2]", params, sizeof params);
	snprintf(params, sizeof params, "[\"%s\"]", txid);
	body_has(&f, "gettransaction", params, "\"amount\":12.34567891,\"confirmations\":3,");
	snprintf(params, sizeof params, "[\"%064d\"]", 0);
	fails(&f, "gettransaction", params, 500, -5);
	fake_stop(&f);
}

static void sends(void **state)
{
	(void)state;
	fake_t f;
	char addr[DUX_ADDRESS_MAX], txid[80], params[256];
	char *pem = NULL;
	char *args[] = {"--balance", "100", NULL};
	fake_start(&f, args);
	assert_int_equal(dux_address_new(DUX_NET_REGTEST, addr, &pem), 0);
	free(pem);

	snprintf(params, sizeof params, "[\"%s\", 10.5, \"withdrawal 7\"]", addr);
	ok_str(&f, "sendtoaddress", params, txid, sizeof txid);
	assert_int_equal(strlen(txid), 64);
	body_has(&f, "getbalance", "[]", "\"result\":89.49000000,");
	body_has(&f, "listtransactions", "[]",
		 "\"category\":\"send\",\"amount\":-10.50000000,\"vout\":0,\"fee\":-0.01000000");
	body_has(&f, "listtransactions", "[]", "\"comment\":\"withdrawal 7\"");
	snprintf(params, sizeof params, "[\"%s\"]", txid);
	body_has(&f, "gettransaction", params, "{\"amount\":-10.50000000,\"fee\":-0.01000000,");
	body_has(&f, "fake_stats", "[]", "\"balance\":89.49000000");
	body_has(&f, "fake_stats", "[]", "\"comment\":\"withdrawal 7\"");

	/* an amount as a string, exact */
	snprintf(params, sizeof params, "[\"%s\", \"0.12345678\"]", addr);
	ok_str(&f, "sendtoaddress", params, txid, sizeof txid);
	body_has(&f, "getbalance", "[]", "\"result\":89.35654322,");
	/* count 1: the newest only */
	body_has(&f, "listtransactions", "[\"*\", 1]", "\"amount\":-0.12345678");
	/* named parameters; the recipient pays the fee: the wallet gives exactly 1 */
	char body[512];
	dux_client_resp_t resp;
	snprintf(body, sizeof body,
		 "{\"id\":5,\"method\":\"sendtoaddress\",\"params\":{\"address\":\"%s\","
		 "\"amount\":1,\"subtractfeefromamount\":true}}",
		 addr);
	post(&f, body, &resp);
	assert_int_equal(resp.status, 200);
	snprintf(params, sizeof params, "[\"%s\"]", result(&resp)->valuestring);
	dux_client_resp_clear(&resp);
	body_has(&f, "gettransaction", params, "{\"amount\":-0.99000000,\"fee\":-0.01000000,");
	body_has(&f, "getbalance", "[]", "\"result\":88.35654322,");

	snprintf(params, sizeof params, "[\"%s\", 88.35]", addr); /* + fee > balance */
	fails(&f, "sendtoaddress", params, 500, -6);
	fails(&f, "sendtoaddress", "[\"mzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\", 1]", 500, -5);
	snprintf(params, sizeof params, "[\"%s\", 0]", addr);
	fails(&f, "sendtoaddress", params, 500, -3);
	snprintf(params, sizeof params, "[\"%s\", -1]", addr);
	fails(&f, "sendtoaddress", params, 500, -3);
	snprintf(params, sizeof params, "[\"%s\", 0.000000001]", addr); /* 9 decimals */
	fails(&f, "sendtoaddress", params, 500, -3);
	snprintf(params, sizeof params, "[\"%s\", 0.001]", addr);
	fails(&f, "sendtoaddress", params, 500, -4);
	fails(&f, "sendtoaddress", "[]", 500, -1);
	snprintf(params, sizeof params, "[\"%s\", 1, 5]", addr);
	fails(&f, "sendtoaddress", params, 500, -1);
	/* nothing failed left a trace */
	body_has(&f, "getbalance", "[]", "\"result\":88.35654322,");
	fake_stop(&f);
}

static void encrypted_wallet(void **state)
{
	(void)state;
	fake_t f;
	char addr[DUX_ADDRESS_MAX], txid[80], params[256];
	char *args[] = {"--encrypted", "open sesame", NULL};
	fake_start(&f, args);
	ok_str(&f, "getnewaddress", "[]", addr, sizeof addr);
	snprintf(params, sizeof params, "[\"%s\", 1]", addr);
	fails(&f, "sendtoaddress", params, 500, -13);
	fails(&f, "walletpassphrase", "[\"open sesamE\", 60]", 500, -14);
	fails(&f, "sendtoaddress", params, 500, -13);
	body_has(&f, "walletpassphrase", "[\"open sesame\", 60]", "\"result\":null,\"error\":null");
	ok_str(&f, "sendtoaddress", params, txid, sizeof txid);
	body_has(&f, "walletlock", "[]", "\"result\":null,\"error\":null");
	fails(&f, "sendtoaddress", params, 500, -13);
	/* an unlock expires */
	body_has(&f, "walletpassphrase", "[\"open sesame\", 1]", "\"error\":null");
	body_has(&f, "fake_stats", "[]", "\"unlocked\":true");
	usleep(1200000);
	fails(&f, "sendtoaddress", params, 500, -13);
	fake_stop(&f);
}

static void test_controls(void **state)
{
	(void)state;
	fake_t f;
	char out[128];
	fake_start(&f, NULL);
	body_has(&f, "fake_fail", "[\"getbalance\", -4, \"boom\", 2]", "\"error\":null");
	fails(&f, "getbalance", "[]", 500, -4);
	body_has(&f, "fake_stats", "[]", "\"getbalance\":1");
	dux_client_resp_t resp;
	rpc(&f, "getbalance", "[]", &resp);
	assert_string_equal(
		resp.body, "{\"result\":null,\"error\":{\"code\":-4,\"message\":\"boom\"},\"id\":\"t\"}\n");
	dux_client_resp_clear(&resp);
	body_has(&f, "getbalance", "[]", "\"result\":1000.00000000,");

	body_has(&f, "fake_warmup", "[2]", "\"error\":null");
	fails(&f, "getblockcount", "[]", 500, -28);
	fails(&f, "nosuchmethod", "[]", 500, -28);
	ok_str(&f, "getblockcount", "[]", out, sizeof out);
	body_has(&f, "fake_stats", "[]", "\"calls\":{\"getbalance\":3,\"getblockcount\":2,"
					 "\"nosuchmethod\":1}");
	fake_stop(&f);
}

static void backups(void **state)
{
	(void)state;
	fake_t f;
	char dir[] = "/tmp/fake-flopcoind-XXXXXX", file[128], sub[96];
	struct stat st;
	assert_non_null(mkdtemp(dir));
	char *args[] = {"--datadir", dir, NULL};
	fake_start(&f, args);
	/* the node ignores the directory part of the name */
	body_has(&f, "backupwallet", "[\"/nowhere/wallet-1.json\"]", "\"result\":null,\"error\":null");
	snprintf(file, sizeof file, "%s/backups/wallet-1.json", dir);
	assert_int_equal(stat(file, &st), 0);
	assert_true(st.st_size > 0);
	fails(&f, "backupwallet", "[\"wallet-1.json\"]", 500, -8);
	fake_stop(&f);
	unlink(file);
	snprintf(sub, sizeof sub, "%s/backups", dir);
	rmdir(sub);
	rmdir(dir);

	fake_start(&f, NULL);
	fails(&f, "backupwallet", "[\"wallet-1.json\"]", 500, -8);
	fake_stop(&f);
}

static void hung_send(void **state)
{
	(void)state;
	fake_t f;
	char addr[DUX_ADDRESS_MAX], params[256], body[512];
	fake_start(&f, NULL);
	ok_str(&f, "getnewaddress", "[]", addr, sizeof addr);
	body_has(&f, "fake_hang_after_send", "[1]", "\"error\":null");

	dux_client_t *c;
	dux_client_resp_t resp;
	dux_client_opts_t o = {.base_url = f.url, .timeout_ms = 1000};
	const char *hdr[] = {f.auth, NULL};
	snprintf(body, sizeof body,
		 "{\"id\":9,\"method\":\"sendtoaddress\",\"params\":[\"%s\",2,\"lost?\"]}", addr);
	assert_int_equal(dux_client_new(&o, &c), 0);
	assert_int_equal(dux_client_do(c, "POST", "/", hdr, body, strlen(body), &resp),
			 DUX_EUNAVAIL);
	dux_client_free(c);

	/* the send happened; other calls go on while it hangs */
	body_has(&f, "fake_stats", "[]", "\"comment\":\"lost?\"");
	body_has(&f, "fake_stats", "[]", "\"balance\":997.99000000");
	snprintf(params, sizeof params, "[\"%s\", 1]", addr);
	ok_str(&f, "sendtoaddress", params, body, sizeof body);
	/* and stopping does not wait for the hung answer */
	assert_int_equal(fake_signal(&f, SIGTERM, 5000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wire_format),     cmocka_unit_test(addresses),
		cmocka_unit_test(receive_and_confirm), cmocka_unit_test(sends),
		cmocka_unit_test(encrypted_wallet), cmocka_unit_test(test_controls),
		cmocka_unit_test(backups),         cmocka_unit_test(hung_send),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
