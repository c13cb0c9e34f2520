/* words.c - the lexemes of a text as PostgreSQL's english configuration makes them, for the
 * search index. Only lexemes of ASCII letters are kept: the index answers only searches made
 * of such words (words_query), and every other search goes to PostgreSQL, so other lexemes
 * (numbers, hosts, non-ASCII words) would never be asked for.
 *
 * PostgreSQL's parser (wparser_def.c) is a large state machine; this follows what it does to
 * catalogue text, checked against to_tsvector in tests/integration/store_words.c:
 *   - whitespace and ASCII punctuation other than - . / @ separate words ("foo_bar", "don't",
 *     "c++" and "hello!world" are two words each);
 *   - a chunk with an inner . / or @ between letters or digits is a host, URL, e-mail, file
 *     or version ("example.com", "node.js", "v2.0"): no lexeme of letters;
 *   - hyphenated words whose parts all hold a letter ("real-time", "api-v2") give their parts
 *     ("real", "time"); otherwise each part stands alone ("gpt-4": "gpt");
 *   - a word of ASCII letters is lowercased, dropped if it is one of the 127 english stop words
 *     of PostgreSQL (tsearch_data/english.stop) and stemmed by Snowball's english algorithm,
 *     the one PostgreSQL's english_stem uses (libstemmer, the same Snowball release);
 *   - a byte >= 0x80 is a letter, as in PostgreSQL under the C locale of our clusters, so a
 *     word with one is not a word of ASCII letters ("café" gives nothing here).
 * Known differences (documented in the README): markup such as <b> or &amp; (PostgreSQL skips
 * tags and entities) and a number running into a word after a point ("1.5x": PostgreSQL
 * finds "x").
 *
 * The stemmer is not reentrant: one instance behind a mutex (a word takes about a
 * microsecond; queries hold it for one or two words). */
#include "index.h"
#include <libstemmer.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WORD_MAX 256 /* longer words: no lexeme (PostgreSQL keeps up to 2047 bytes) */

static struct sb_stemmer *stemmer;
static pthread_mutex_t stem_mu = PTHREAD_MUTEX_INITIALIZER;

/* PostgreSQL 15, share/tsearch_data/english.stop, sorted for bsearch. */
static const char *const stop_words[] = {
	"a",	    "about",	"above",   "after",	 "again",    "against", "all",	   "am",
	"an",	    "and",	"any",	   "are",	 "as",	     "at",	"be",	   "because",
	"been",	    "before",	"being",   "below",	 "between",  "both",	"but",	   "by",
	"can",	    "did",	"do",	   "does",	 "doing",    "don",	"down",	   "during",
	"each",	    "few",	"for",	   "from",	 "further",  "had",	"has",	   "have",
	"having",   "he",	"her",	   "here",	 "hers",     "herself", "him",	   "himself",
	"his",	    "how",	"i",	   "if",	 "in",	     "into",	"is",	   "it",
	"its",	    "itself",	"just",	   "me",	 "more",     "most",	"my",	   "myself",
	"no",	    "nor",	"not",	   "now",	 "of",	     "off",	"on",	   "once",
	"only",	    "or",	"other",   "our",	 "ours",     "ourselves", "out",   "over",
	"own",	    "s",	"same",	   "she",	 "should",   "so",	"some",	   "such",
	"t",	    "than",	"that",	   "the",	 "their",    "theirs",	"them",	   "themselves",
	"then",	    "there",	"these",   "they",	 "this",     "those",	"through", "to",
	"too",	    "under",	"until",   "up",	 "very",     "was",	"we",	   "were",
	"what",	    "when",	"where",   "which",	 "while",    "who",	"whom",	   "why",
	"will",	    "with",	"you",	   "your",	 "yours",    "yourself", "yourselves",
};

int words_init(void)
{
	stemmer = sb_stemmer_new("english", "UTF_8");
	return stemmer ? 0 : DUX_ENOMEM;
}

void words_free(void)
{
	if (stemmer)
		sb_stemmer_delete(stemmer);
	stemmer = NULL;
}

uint64_t words_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then MurmurHash3's finaliser */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h ? h : 1; /* 0 marks a free slot of the index's maps */
}

static int stop_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static bool is_stop(const char *w)
{
	return bsearch(w, stop_words, sizeof stop_words / sizeof stop_words[0],
		       sizeof stop_words[0], stop_cmp) != NULL;
}

/* One word of ASCII letters, lowercased into fn as its stem unless it is a stop word. */
static void emit_word(const char *p, size_t n, words_fn fn, void *ctx)
{
	char w[WORD_MAX + 1];
	if (n == 0 || n > WORD_MAX)
		return;
	for (size_t i = 0; i < n; i++)
		w[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
	w[n] = '\0';
	if (is_stop(w))
		return;
	char stem[WORD_MAX + 1];
	int len = 0;
	pthread_mutex_lock(&stem_mu);
	const sb_symbol *s = sb_stemmer_stem(stemmer, (const sb_symbol *)w, (int)n);
	if (s) {
		len = sb_stemmer_length(stemmer);
		len = len > WORD_MAX ? WORD_MAX : len;
		memcpy(stem, s, (size_t)len);
	}
	pthread_mutex_unlock(&stem_mu);
	if (!s) /* out of memory in the stemmer: the word as it is */
		fn(w, n, ctx);
	else if (len > 0)
		fn(stem, (size_t)len, ctx);
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_wordc(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || (unsigned char)c >= 0x80;
}

static bool all_alpha(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_alpha(p[i]))
			return false;
	return n > 0;
}

/* A chunk: word characters with - . / @ between them. A hyphenated word ("real-time",
 * "api-v2", "gpt-4") gives its parts as words; the whole, or a part with a digit or a byte
 * >= 0x80, is no word of ASCII letters. */
static void emit_chunk(const char *p, size_t n, words_fn fn, void *ctx)
{
	for (size_t i = 1; i + 1 < n; i++)
		if ((p[i] == '.' || p[i] == '/' || p[i] == '@') && is_wordc(p[i - 1]) &&
		    is_wordc(p[i + 1]))
			return; /* host, URL, e-mail, file, version, float */
	for (size_t i = 0; i < n;) {
		size_t k = i;
		while (k < n && is_wordc(p[k]))
			k++;
		if (all_alpha(p + i, k - i))
			emit_word(p + i, k - i, fn, ctx);
		i = k + 1;
	}
}

void words_each(const char *text, words_fn fn, void *ctx)
{
	const char *p = text;
	while (*p) {
		while (*p && !is_wordc(*p) && *p != '-' && *p != '.' && *p != '/' && *p != '@')
			p++;
		const char *s = p;
		while (*p && (is_wordc(*p) || *p == '-' || *p == '.' || *p == '/' || *p == '@'))
			p++;
		if (p > s)
			emit_chunk(s, (size_t)(p - s), fn, ctx);
	}
}

typedef struct {
	uint64_t *h;
	int n;
} qwords_t;

static void add_query_word(const char *lexeme, size_t len, void *ctx)
{
	qwords_t *q = ctx;
	uint64_t h = words_hash(lexeme, len);
	for (int i = 0; i < q->n; i++)
		if (q->h[i] == h)
			return;
	if (q->n < WORDS_QUERY_MAX)
		q->h[q->n++] = h;
}

bool words_query(const char *q, uint64_t ret[WORDS_QUERY_MAX], int *ret_n)
{
	int words = 0;
	for (const char *p = q; *p;) {
		while (*p == ' ')
			p++;
		const char *s = p;
		while (*p && *p != ' ') {
			if (!is_alpha(*p))
				return false; /* quotes, -, digits, punctuation, non-ASCII */
			p++;
		}
		size_t n = (size_t)(p - s);
		if (n == 2 && (s[0] | 32) == 'o' && (s[1] | 32) == 'r')
			return false; /* websearch's OR */
		if (n > WORD_MAX)
			return false;
		words += n > 0;
	}
	if (words > WORDS_QUERY_MAX)
		return false;
	qwords_t x = {.h = ret};
	words_each(q, add_query_word, &x);
	*ret_n = x.n;
	return true;
}
