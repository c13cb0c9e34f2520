/* catalog.c - see catalog.h. */
#include "catalog.h"
#include <dux/address.h>
#include <dux/crypto.h>
#include <dux/money.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- PRNG and Zipf ---- */

void rng_seed(rng_t *r, uint64_t seed, uint64_t stream)
{
	r->s = seed * 0x9E3779B97F4A7C15ULL ^ (stream + 0x632BE59BD9B4E019ULL) * 0xBF58476D1CE4E5B9ULL;
	(void)rng_next(r);
}

uint64_t rng_next(rng_t *r) /* splitmix64 */
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

double rng_unit(rng_t *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

int rng_below(rng_t *r, int n)
{
	return n <= 1 ? 0 : (int)(rng_next(r) % (uint64_t)n);
}

bool zipf_init(zipf_t *z, int n, double s)
{
	z->n = n;
	z->cdf = malloc((size_t)n * sizeof *z->cdf);
	if (!z->cdf)
		return false;
	double sum = 0;
	for (int k = 0; k < n; k++)
		z->cdf[k] = sum += pow((double)k + 1, -s);
	for (int k = 0; k < n; k++)
		z->cdf[k] /= sum;
	return true;
}

int zipf_draw(const zipf_t *z, rng_t *r)
{
	double u = rng_unit(r);
	int lo = 0, hi = z->n - 1;
	while (lo < hi) { /* the first rank whose cumulative share exceeds u */
		int mid = lo + (hi - lo) / 2;
		if (z->cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void zipf_free(zipf_t *z)
{
	free(z->cdf);
	z->cdf = NULL;
}

/* ---- the vocabulary ---- */

/* Real words of an API catalogue, roughly the most used first; each one its own English
 * lexeme (no two share a stem, none is a stop word: checked at set-up). */
static const char *const real_words[] = {
	"api", "data", "fast", "service", "cloud", "simple", "free", "developer", "json", "web",
	"app", "online", "platform", "search", "user", "text", "image", "file", "security", "open",
	"smart", "analytics", "model", "business", "mobile", "email", "payment", "storage",
	"video", "audio", "language", "machine", "learning", "ai", "automation", "integration",
	"report", "monitor", "network", "location", "map", "weather", "translate", "speech",
	"voice", "document", "pdf", "convert", "scan", "detect", "face", "object", "photo",
	"resize", "compress", "upload", "stream", "chat", "bot", "message", "notify", "sms",
	"calendar", "schedule", "task", "queue", "workflow", "invoice", "bank", "crypto", "price",
	"market", "stock", "currency", "exchange", "wallet", "token", "blockchain", "ledger",
	"account", "login", "identity", "verify", "fraud", "risk", "score", "credit", "tax",
	"shipping", "address", "postal", "geocode", "route", "traffic", "transit", "flight",
	"hotel", "travel", "reservation", "restaurant", "recipe", "food", "health", "medical",
	"fitness", "sport", "news", "article", "summary", "keyword", "sentiment", "entity",
	"classify", "cluster", "vector", "embedding", "index", "database", "query", "cache",
	"proxy", "dns", "domain", "ssl", "certificate", "log", "metric", "trace", "alert",
	"uptime", "backup", "archive", "sync", "git", "code", "compiler", "test", "deploy",
	"container", "kubernetes", "server", "gpu", "compute", "render", "game", "music",
	"podcast", "radio", "movie", "book", "library", "education", "quiz", "school", "student",
	"job", "resume", "hiring", "survey", "form", "feedback", "review", "rating", "social",
	"community", "forum", "comment", "moderation", "spam", "filter", "captcha", "barcode",
	"qr", "ocr", "handwriting", "signature", "contract", "legal", "compliance", "privacy",
	"consent", "cookie", "advertising", "campaign", "seo", "link", "url", "shortener",
	"screenshot", "crawler", "scraper", "html", "markdown", "xml", "csv", "spreadsheet",
	"chart", "dashboard", "graph", "timeseries", "forecast", "prediction", "anomaly",
	"recommendation", "ranking", "similarity", "duplicate", "matching", "fuzzy", "spelling",
	"grammar", "dictionary", "thesaurus", "synonym", "emoji", "font", "color", "icon", "logo",
	"avatar", "illustration", "drawing", "painting", "style", "upscaling", "background",
	"removal", "noise", "enhancement", "transcription", "subtitle", "caption", "dubbing",
	"lyrics", "karaoke", "tts", "keyboard", "sensor", "iot", "device", "camera", "drone",
	"robot", "vehicle", "car", "fleet", "parking", "charging", "energy", "solar", "grid",
	"meter", "water", "air", "pollution", "climate", "satellite", "earth", "ocean",
	"agriculture", "farm", "crop", "soil", "plant", "animal", "pet", "genome", "protein",
	"chemistry", "molecule", "physics", "math", "calculator", "statistics", "random", "uuid",
	"hash", "encryption", "password", "vault", "key", "secret", "oauth", "sso", "permission",
	"role", "audit", "inventory", "warehouse", "order", "cart", "checkout", "coupon",
	"discount", "loyalty", "subscription", "billing", "refund", "receipt", "payroll",
	"employee", "crm", "lead", "sales", "customer", "support", "ticket", "helpdesk",
	"knowledge", "wiki", "note", "todo", "reminder", "timer", "clock", "timezone", "holiday",
	"event", "meeting", "conference", "webinar", "country", "city", "region", "population",
	"census", "election", "government", "public", "transport", "bike", "train", "bus",
	"airport", "estate", "property", "mortgage", "loan", "insurance", "claim", "quote",
	"pension", "budget", "expense", "lottery", "casino", "horoscope", "astronomy", "planet",
	"star", "moon", "sun", "tide", "earthquake", "volcano", "wildfire", "flood", "storm",
	"snow", "rain", "wind", "temperature", "humidity", "pressure", "sound", "pitch", "tempo",
	"melody", "chord", "guitar", "piano", "drum", "beat", "playlist", "poem", "story", "novel",
	"author", "citation", "paper", "research", "patent", "trademark", "brand", "product",
	"catalog", "ecommerce", "marketplace", "auction", "bid", "nft", "defi", "staking",
	"mining", "node", "validator", "oracle", "bridge", "nlp", "finance", "devops", "geo",
};

/* Words that serve as tags, the most used first (each one is a word above). */
static const char *const tag_words[] = {
	"ai", "image", "text", "payment", "weather", "search", "audio", "video", "speech",
	"translate", "crypto", "map", "email", "analytics", "document", "security", "finance",
	"chat", "bot", "pdf", "ocr", "location", "sms", "language", "nlp", "health", "iot", "game",
	"music", "news", "storage", "database", "devops", "monitor", "identity", "fraud", "geo",
	"education", "travel", "food", "sport", "shipping", "blockchain", "cache", "log",
	"sentiment", "forecast", "energy", "climate", "ecommerce", "billing", "invoice", "crm",
	"sales", "support", "social", "moderation", "spam", "captcha", "barcode", "qr",
	"encryption", "password", "oauth", "calendar", "schedule", "workflow", "automation",
	"compute", "gpu", "render", "container", "kubernetes", "dns", "ssl", "screenshot",
	"scraper", "csv", "spreadsheet", "chart", "dashboard", "upscaling", "transcription",
	"subtitle", "tts", "drone", "robot", "vehicle", "fleet", "parking", "insurance",
	"mortgage", "loan", "tax", "payroll", "hotel", "flight", "restaurant", "recipe", "podcast",
	"movie", "book", "quiz", "job", "resume", "survey", "legal", "privacy", "compliance",
	"timeseries", "embedding", "vector", "recommendation", "medical", "fitness", "agriculture",
	"marketplace", "nft", "defi", "staking",
};

/* Half of the names end with one of these (words above too). */
static const char *const suffixes[CAT_SUFFIXES] = {"api", "service", "cloud", "platform", "bot",
						   "app"};
/* What descriptions put between the words (stop words: not indexed). */
static const char *const fillers[] = {"the", "and", "for", "with", "to", "of", "in", "your",
				      "from", "on", "by", "a", "that", "into", "any"};
#define NFILLERS (int)(sizeof fillers / sizeof fillers[0])
static const int rate_limits[] = {10, 30, 60, 100, 300, 600, 1000, 6000, 60000};

/* Open addressing over the words, to keep them unique. */
typedef struct {
	const char **slot;
	size_t cap;
} wset_t;

static uint64_t fnv(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* Adds s unless present; false when present. */
static bool wset_add(wset_t *w, const char *s)
{
	for (size_t i = fnv(s) % w->cap;; i = (i + 1) % w->cap) {
		if (!w->slot[i]) {
			w->slot[i] = s;
			return true;
		}
		if (strcmp(w->slot[i], s) == 0)
			return false;
	}
}

static int word_index(const catalog_t *c, const char *s)
{
	for (int i = 0; i < c->nreal; i++)
		if (strcmp(c->word[i], s) == 0)
			return i;
	return -1;
}

/* A made-up brand-like word of 2 or 3 consonant-vowel syllables ending in a, o or u: no
 * English suffix rule applies to it, so it is its own lexeme. */
static void pseudo_word(rng_t *r, char out[CAT_WORD_MAX])
{
	static const char cons[] = "bdfgklmnprstvz", vow[] = "aeiou", last[] = "aou";
	int syl = rng_unit(r) < 0.3 ? 2 : 3, n = 0;
	for (int k = 0; k < syl; k++) {
		out[n++] = cons[rng_below(r, (int)sizeof cons - 1)];
		out[n++] = k == syl - 1 ? last[rng_below(r, (int)sizeof last - 1)]
					: vow[rng_below(r, (int)sizeof vow - 1)];
	}
	out[n] = '\0';
}

bool cat_init(catalog_t *c, uint64_t seed, int nservices, int nproviders, int nwords,
	      double doc_zipf)
{
	memset(c, 0, sizeof *c);
	c->seed = seed;
	c->nservices = nservices;
	c->nproviders = nproviders;
	c->doc_zipf = doc_zipf;
	c->nreal = (int)(sizeof real_words / sizeof real_words[0]);
	c->nwords = nwords < c->nreal + 100 ? c->nreal + 100 : nwords;
	c->ntags = (int)(sizeof tag_words / sizeof tag_words[0]);
	c->word = calloc((size_t)c->nwords, sizeof *c->word);
	c->tag_word = calloc((size_t)c->ntags, sizeof *c->tag_word);
	wset_t set = {.cap = (size_t)c->nwords * 2 + 1};
	set.slot = calloc(set.cap, sizeof *set.slot);
	if (!c->word || !c->tag_word || !set.slot || c->ntags > 128) {
		free(set.slot);
		return false;
	}
	bool ok = true;
	for (int i = 0; i < c->nreal; i++) {
		snprintf(c->word[i], CAT_WORD_MAX, "%s", real_words[i]);
		ok = ok && wset_add(&set, c->word[i]);
	}
	rng_t r;
	rng_seed(&r, seed, 1);
	for (int i = c->nreal; i < c->nwords;) {
		pseudo_word(&r, c->word[i]);
		if (wset_add(&set, c->word[i]))
			i++;
	}
	free(set.slot);
	for (int t = 0; t < c->ntags && ok; t++)
		ok = (c->tag_word[t] = word_index(c, tag_words[t])) >= 0;
	for (int k = 0; k < CAT_SUFFIXES && ok; k++)
		ok = word_index(c, suffixes[k]) >= 0;
	ok = ok && zipf_init(&c->z_doc, c->nwords, doc_zipf) &&
	     zipf_init(&c->z_real, c->nreal, 1.0) && zipf_init(&c->z_tag, c->ntags, 1.0) &&
	     zipf_init(&c->z_provider, nproviders, 0.8);
	c->price = calloc((size_t)nservices, sizeof *c->price);
	c->rep_e4 = calloc((size_t)nservices, sizeof *c->rep_e4);
	c->provider = calloc((size_t)nservices, sizeof *c->provider);
	c->tagmask = calloc((size_t)nservices, sizeof *c->tagmask);
	c->tmp_off = calloc((size_t)nservices + 1, sizeof *c->tmp_off);
	return ok && c->price && c->rep_e4 && c->provider && c->tagmask && c->tmp_off;
}

void cat_free(catalog_t *c)
{
	free(c->word);
	free(c->tag_word);
	zipf_free(&c->z_doc);
	zipf_free(&c->z_real);
	zipf_free(&c->z_tag);
	zipf_free(&c->z_provider);
	free(c->price);
	free(c->rep_e4);
	free(c->provider);
	free(c->tagmask);
	free(c->post_off);
	free(c->post);
	free(c->tmp_words);
	free(c->tmp_off);
	memset(c, 0, sizeof *c);
}

void cat_provider(const catalog_t *c, int p, char addr[64], char owner[40])
{
	char name[64];
	uint8_t h[DUX_SHA256_LEN];
	snprintf(owner, 40, "bench-provider-%d", p);
	snprintf(name, sizeof name, "%llu/%s", (unsigned long long)c->seed, owner);
	dux_sha256(name, strlen(name), h);
	/* mainnet pay-to-pubkey-hash (version 35): a valid address of the store's network */
	if (dux_base58check_encode(35, h, 20, addr, 64) < 0)
		addr[0] = '\0';
}

/* ---- one service ---- */

static void add_word(cat_service_t *s, int w)
{
	for (int i = 0; i < s->nwords; i++)
		if (s->words[i] == w)
			return;
	if (s->nwords < CAT_DOC_WORDS)
		s->words[s->nwords++] = w;
}

/* Appends text to buf (of cap bytes, used n); false when it does not fit. */
static bool append(char *buf, size_t cap, size_t *n, const char *text)
{
	size_t l = strlen(text);
	if (*n + l + 1 > cap)
		return false;
	memcpy(buf + *n, text, l + 1);
	*n += l;
	return true;
}

static void capitalised(const char *w, char out[CAT_WORD_MAX])
{
	snprintf(out, CAT_WORD_MAX, "%s", w);
	if (strcmp(w, "api") == 0 || strcmp(w, "ai") == 0 || strcmp(w, "nlp") == 0)
		for (char *p = out; *p; p++)
			*p = (char)(*p - 'a' + 'A');
	else if (out[0] >= 'a' && out[0] <= 'z')
		out[0] = (char)(out[0] - 'a' + 'A');
}

/* Prices look like prices: 8 % free, the others 0.0001 to 100 FLOP, log-uniform, rounded to
 * two significant digits. */
static int64_t gen_price(rng_t *r)
{
	if (rng_unit(r) < 0.08)
		return 0;
	double v = exp(log(1e4) + rng_unit(r) * (log(1e10) - log(1e4)));
	double mag = pow(10, floor(log10(v)) - 1);
	return (int64_t)llround(v / mag) * (int64_t)llround(mag);
}

void cat_service(const catalog_t *c, int i, cat_service_t *s)
{
	rng_t r;
	char w[CAT_WORD_MAX], slug[CAT_NAME_MAX];
	memset(s, 0, sizeof *s);
	rng_seed(&r, c->seed, 0x100000ULL + (uint64_t)i);
	snprintf(s->id, sizeof s->id, "svc_%016llx%016llx", (unsigned long long)rng_next(&r),
		 (unsigned long long)rng_next(&r));
	s->provider_no = zipf_draw(&c->z_provider, &r);
	cat_provider(c, s->provider_no, s->provider, s->owner);

	/* the name: a brand, one or two common words, half the time a suffix */
	int brand = c->nreal + rng_below(&r, c->nwords - c->nreal);
	size_t n = 0, sn = 0;
	capitalised(c->word[brand], w);
	append(s->name, sizeof s->name, &n, w);
	add_word(s, brand);
	int nname = 1 + (rng_unit(&r) < 0.5), used[2] = {-1, -1};
	for (int k = 0; k < nname; k++) {
		int x = zipf_draw(&c->z_real, &r);
		if (x == used[0])
			continue;
		used[k] = x;
		capitalised(c->word[x], w);
		append(s->name, sizeof s->name, &n, " ");
		append(s->name, sizeof s->name, &n, w);
		append(slug, sizeof slug, &sn, sn ? "-" : "");
		append(slug, sizeof slug, &sn, c->word[x]);
		add_word(s, x);
	}
	if (rng_unit(&r) < 0.5) {
		const char *suf = suffixes[rng_below(&r, CAT_SUFFIXES)];
		capitalised(suf, w);
		append(s->name, sizeof s->name, &n, " ");
		append(s->name, sizeof s->name, &n, w);
		add_word(s, word_index(c, suf));
	}

	/* tags: 1 to 6, the common ones more often */
	int want = 1 + rng_below(&r, 3) + (rng_unit(&r) < 0.4 ? rng_below(&r, 4) : 0);
	for (int tries = 0; s->ntags < want && tries < 50; tries++) {
		int t = zipf_draw(&c->z_tag, &r);
		bool seen = false;
		for (int k = 0; k < s->ntags; k++)
			seen = seen || s->tag[k] == t;
		if (!seen) {
			s->tag[s->ntags++] = t;
			add_word(s, c->tag_word[t]);
		}
	}

	/* the description: 2 to 4 sentences of 5 to 12 words with stop words between them; the
	 * first one names the brand */
	n = 0;
	int sentences = 2 + rng_below(&r, 3);
	for (int k = 0; k < sentences; k++) {
		int words = 5 + rng_below(&r, 8);
		for (int j = 0; j < words; j++) {
			int x = k == 0 && j == 0 ? brand : zipf_draw(&c->z_doc, &r);
			snprintf(w, sizeof w, "%s", c->word[x]);
			if (j == 0)
				capitalised(c->word[x], w);
			if (n + 40 >= sizeof s->description)
				break;
			append(s->description, sizeof s->description, &n, n ? " " : "");
			append(s->description, sizeof s->description, &n, w);
			add_word(s, x);
			if (j + 1 < words && rng_unit(&r) < 0.35) {
				append(s->description, sizeof s->description, &n, " ");
				append(s->description, sizeof s->description, &n,
				       fillers[rng_below(&r, NFILLERS)]);
			}
		}
		append(s->description, sizeof s->description, &n, ".");
	}

	int major = rng_below(&r, 4), minor = rng_below(&r, 20), patch = rng_below(&r, 30);
	if (rng_unit(&r) < 0.1)
		snprintf(s->version, sizeof s->version, "%d.%d.%d-beta.%d", major, minor, patch,
			 1 + rng_below(&r, 5));
	else
		snprintf(s->version, sizeof s->version, "%d.%d.%d", major, minor, patch);
	/* words and slugs are short: the bound only matters to the compiler */
	if (snprintf(s->endpoint, sizeof s->endpoint, "https://api.%s.example/v%d/%s",
		     c->word[brand], major + 1, sn ? slug : "call") >= (int)sizeof s->endpoint)
		snprintf(s->endpoint, sizeof s->endpoint, "https://api.example/call");
	s->price = gen_price(&r);
	s->rate_limit = rate_limits[rng_below(&r, (int)(sizeof rate_limits / sizeof rate_limits[0]))];

	/* usage and ratings: a heavy tail of calls, a rating from about 1 in 100 callers */
	double u = rng_unit(&r);
	s->total_calls = (int64_t)(exp(u * u * 13) - 1);
	if (s->total_calls > 0) {
		int64_t rc = (int64_t)((double)s->total_calls * 0.02 * rng_unit(&r)) + rng_below(&r, 3);
		s->rating_count = rc < s->total_calls ? rc : s->total_calls;
	}
	double v = rng_unit(&r), quality = 1 + 4 * (1 - v * v); /* stars, mean about 3.7 */
	int64_t sum = llround((double)s->rating_count * quality);
	s->rating_sum = sum < s->rating_count ? s->rating_count
		      : sum > 5 * s->rating_count ? 5 * s->rating_count : sum;
	/* round((15 + sum) / (5 + count), 4) as PostgreSQL's numeric: half away from zero */
	int64_t den = 5 + s->rating_count;
	s->rep_e4 = (int32_t)(((15 + s->rating_sum) * 20000 + den) / (2 * den));
	/* published over the three years before 2026-01-01 */
	s->created_s = 1767225600LL - rng_below(&r, 3 * 365 * 86400);
	s->created_us = rng_below(&r, 1000000);
}

bool cat_record(catalog_t *c, int i, const cat_service_t *s)
{
	c->price[i] = s->price;
	c->rep_e4[i] = s->rep_e4;
	c->provider[i] = s->provider_no;
	for (int k = 0; k < s->ntags; k++)
		c->tagmask[i][s->tag[k] / 64] |= 1ULL << (s->tag[k] % 64);
	if (c->tmp_len + (size_t)s->nwords > c->tmp_cap) {
		size_t cap = c->tmp_cap ? c->tmp_cap * 2 : (size_t)1 << 20;
		int32_t *nw = realloc(c->tmp_words, cap * sizeof *nw);
		if (!nw)
			return false;
		c->tmp_words = nw;
		c->tmp_cap = cap;
	}
	for (int k = 0; k < s->nwords; k++)
		c->tmp_words[c->tmp_len++] = s->words[k];
	c->tmp_off[i + 1] = (int64_t)c->tmp_len;
	return true;
}

bool cat_index(catalog_t *c)
{
	c->post_off = calloc((size_t)c->nwords + 1, sizeof *c->post_off);
	c->post = malloc((c->tmp_len ? c->tmp_len : 1) * sizeof *c->post);
	int64_t *fill = calloc((size_t)c->nwords, sizeof *fill);
	if (!c->post_off || !c->post || !fill) {
		free(fill);
		return false;
	}
	for (size_t k = 0; k < c->tmp_len; k++)
		c->post_off[c->tmp_words[k] + 1]++;
	for (int w = 0; w < c->nwords; w++)
		c->post_off[w + 1] += c->post_off[w];
	for (int i = 0; i < c->nservices; i++) /* services in order: each list ascends */
		for (int64_t k = c->tmp_off[i]; k < c->tmp_off[i + 1]; k++) {
			int w = c->tmp_words[k];
			c->post[c->post_off[w] + fill[w]++] = i;
		}
	free(fill);
	free(c->tmp_words);
	c->tmp_words = NULL;
	c->tmp_len = c->tmp_cap = 0;
	return true;
}

static bool has_word(const catalog_t *c, int w, int svc)
{
	int64_t lo = c->post_off[w], hi = c->post_off[w + 1];
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		if (c->post[mid] < svc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->post_off[w + 1] && c->post[lo] == svc;
}

int cat_count_words(const catalog_t *c, const int *w, int n)
{
	int rare = w[0];
	for (int k = 1; k < n; k++)
		if (c->post_off[w[k] + 1] - c->post_off[w[k]] < c->post_off[rare + 1] - c->post_off[rare])
			rare = w[k];
	int count = 0;
	for (int64_t p = c->post_off[rare]; p < c->post_off[rare + 1]; p++) {
		bool all = true;
		for (int k = 0; k < n && all; k++)
			all = w[k] == rare || has_word(c, w[k], c->post[p]);
		count += all;
	}
	return count;
}

/* ---- the searches ---- */

const char *const cat_sort_name[NSORTS] = {"relevance", "reputation", "total_calls", "price",
					   "newest"};
const char *const cat_breadth_name[NBREADTH] = {"no q", "q narrow (< 1 %)",
						"q medium (1-10 %)", "q broad (>= 10 %)"};

/* Round amounts a user types into a price box, in base units. */
static const int64_t price_marks[] = {0,	 10000,	    100000,    500000,	  1000000,
				      5000000,	 10000000,  50000000,  100000000, 500000000,
				      1000000000};
#define NMARKS (int)(sizeof price_marks / sizeof price_marks[0])
static const int32_t rep_marks[] = {30000, 35000, 40000, 45000};

static bool svc_matches(const catalog_t *c, const cat_query_t *q, int i)
{
	for (int k = 0; k < q->ntag; k++)
		if (!(c->tagmask[i][q->tag[k] / 64] >> (q->tag[k] % 64) & 1))
			return false;
	if ((q->min_price >= 0 && c->price[i] < q->min_price) ||
	    (q->max_price >= 0 && c->price[i] > q->max_price) ||
	    (q->min_rep_e4 >= 0 && c->rep_e4[i] < q->min_rep_e4) ||
	    (q->provider >= 0 && c->provider[i] != q->provider))
		return false;
	for (int k = 0; k < q->nq; k++)
		if (!has_word(c, q->w[k], i))
			return false;
	return true;
}

static int count_matches(const catalog_t *c, const cat_query_t *q)
{
	int count = 0;
	if (q->nq == 0) {
		for (int i = 0; i < c->nservices; i++)
			count += svc_matches(c, q, i);
		return count;
	}
	int rare = q->w[0];
	if (q->nq == 2 && c->post_off[q->w[1] + 1] - c->post_off[q->w[1]] <
			       c->post_off[rare + 1] - c->post_off[rare])
		rare = q->w[1];
	for (int64_t p = c->post_off[rare]; p < c->post_off[rare + 1]; p++)
		count += svc_matches(c, q, c->post[p]);
	return count;
}

static void param(char *path, size_t *n, const char *name, const char *value)
{
	char piece[300];
	snprintf(piece, sizeof piece, "%s%s=%s", strchr(path, '?') ? "&" : "?", name, value);
	append(path, CAT_PATH_MAX, n, piece);
}

static void draw_query(const catalog_t *c, rng_t *r, const zipf_t *zq, double page2_share,
		       cat_query_t *q)
{
	memset(q, 0, sizeof *q);
	q->min_price = q->max_price = -1;
	q->min_rep_e4 = -1;
	q->provider = -1;
	double kind = rng_unit(r);
	bool with_q = kind < 0.65 || (kind >= 0.92 && kind < 0.96 && rng_unit(r) < 0.5);
	if (with_q) {
		q->nq = rng_unit(r) < 0.65 ? 1 : 2;
		q->w[0] = zipf_draw(zq, r);
		/* a second word that goes with the first: one of the words of a service that has
		 * the first (as "weather forecast"), when some service has it */
		int64_t lo = c->post_off[q->w[0]], n = c->post_off[q->w[0] + 1] - lo;
		if (q->nq == 2 && n > 0) {
			cat_service_t *s = malloc(sizeof *s);
			if (s)
				cat_service(c, c->post[lo + (int64_t)(rng_next(r) % (uint64_t)n)], s);
			q->nq = s && s->nwords > 1 ? 2 : 1;
			while (q->nq == 2 && (q->w[1] = s->words[rng_below(r, s->nwords)]) == q->w[0])
				;
			free(s);
		} else {
			q->nq = 1;
		}
	}
	int filter = -1; /* 0 tags, 1 price, 2 reputation, 3 provider, 4 price and reputation */
	if (kind >= 0.50 && kind < 0.65) {
		double f = rng_unit(r);
		filter = f < 0.4 ? 0 : f < 0.7 ? 1 : 2;
	} else if (kind >= 0.65 && kind < 0.80) {
		filter = 0;
	} else if (kind >= 0.80 && kind < 0.92) {
		double f = rng_unit(r);
		filter = f < 0.45 ? 1 : f < 0.8 ? 2 : 4;
	} else if (kind >= 0.92 && kind < 0.96) {
		filter = 3;
	}
	if (filter == 0) {
		q->ntag = rng_unit(r) < 0.8 ? 1 : 2;
		q->tag[0] = zipf_draw(&c->z_tag, r);
		do
			q->tag[1] = zipf_draw(&c->z_tag, r);
		while (q->ntag == 2 && q->tag[1] == q->tag[0]);
	}
	if (filter == 1 || filter == 4) {
		double f = rng_unit(r);
		int a = rng_below(r, NMARKS), b = rng_below(r, NMARKS);
		if (a > b) {
			int t = a;
			a = b;
			b = t;
		}
		if (f < 0.4)
			q->max_price = price_marks[b];
		else if (f < 0.8)
			q->min_price = price_marks[a], q->max_price = price_marks[b];
		else
			q->min_price = price_marks[a];
	}
	if (filter == 2 || filter == 4)
		q->min_rep_e4 = rep_marks[rng_below(r, 4)];
	if (filter == 3)
		q->provider = zipf_draw(&c->z_provider, r);
	/* the order: mostly the default (relevance with q, newest without) */
	if (q->nq && rng_unit(r) < 0.7) {
		q->sort = SORT_RELEVANCE;
	} else if (!q->nq && rng_unit(r) < 0.35) {
		q->sort = SORT_NEWEST;
	} else {
		q->sort = 1 + rng_below(r, NSORTS - 1);
		q->sort_given = true;
	}
	q->want_page2 = rng_unit(r) < page2_share;
	q->page = 1;

	/* the path */
	size_t n = 0;
	char v[200];
	append(q->path, CAT_PATH_MAX, &n, "/v1/services");
	if (q->nq) {
		snprintf(v, sizeof v, "%s%s%s", c->word[q->w[0]], q->nq == 2 ? "%20" : "",
			 q->nq == 2 ? c->word[q->w[1]] : "");
		param(q->path, &n, "q", v);
	}
	if (q->ntag) {
		snprintf(v, sizeof v, "%s%s%s", c->word[c->tag_word[q->tag[0]]], q->ntag == 2 ? "," : "",
			 q->ntag == 2 ? c->word[c->tag_word[q->tag[1]]] : "");
		param(q->path, &n, "tag", v);
	}
	char m[DUX_MONEY_STRLEN];
	if (q->min_price >= 0)
		param(q->path, &n, "min_price", dux_money_format(q->min_price, m));
	if (q->max_price >= 0)
		param(q->path, &n, "max_price", dux_money_format(q->max_price, m));
	if (q->min_rep_e4 >= 0) {
		snprintf(v, sizeof v, "%d.%d", q->min_rep_e4 / 10000, q->min_rep_e4 % 10000 / 1000);
		param(q->path, &n, "min_reputation", v);
	}
	if (q->provider >= 0) {
		char addr[64], owner[40];
		cat_provider(c, q->provider, addr, owner);
		param(q->path, &n, "provider", addr);
	}
	if (q->sort_given)
		param(q->path, &n, "sort", cat_sort_name[q->sort]);

	/* how broad it is */
	q->breadth = BR_NONE;
	if (q->nq) {
		q->qmatches = cat_count_words(c, q->w, q->nq);
		q->breadth = q->qmatches * 100 < c->nservices	? BR_NARROW
			     : q->qmatches * 10 < c->nservices ? BR_MEDIUM
							       : BR_BROAD;
	}
	q->matches = count_matches(c, q);
}

bool cat_queries(const catalog_t *c, uint64_t seed, int n, double q_zipf, double page2_share,
		 cat_query_t *ret)
{
	zipf_t zq;
	if (!zipf_init(&zq, c->nwords, q_zipf))
		return false;
	rng_t r;
	rng_seed(&r, seed, 2);
	for (int i = 0; i < n; i++)
		draw_query(c, &r, &zq, page2_share, &ret[i]);
	zipf_free(&zq);
	return true;
}
