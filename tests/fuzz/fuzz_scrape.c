/* libFuzzer harness: the metrics listener's request parser (scrape_request) and the label
 * escaping of the metrics document (metrics_escape) on arbitrary bytes. The parser answers one
 * of its codes, never reads past len, always decides by SCRAPE_REQUEST_MAX bytes, and once a
 * prefix is decided more bytes do not change a 400 into anything else; an escaped value holds
 * no raw newline or unescaped quote and unescapes to the input. */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/metrics.h"
#include "daemon/scrape.h"

static void check_request(const uint8_t *data, size_t len)
{
	char *copy = malloc(len ? len : 1);	/* exactly len bytes: ASan sees any over-read */
	bool head = true;
	int code;

	if (!copy)
		return;
	memcpy(copy, data, len);
	code = scrape_request(copy, len, &head);
	assert(code == 0 || code == 200 || code == 400 || code == 404 || code == 405 ||
	       code == 431);
	assert(!head || code == 200);
	if (len >= SCRAPE_REQUEST_MAX)
		assert(code != 0);
	/* a prefix already refused as malformed stays refused */
	for (size_t n = 1; n < len && n < 256; n++) {
		bool h;

		if (scrape_request(copy, n, &h) == 400) {
			assert(code == 400);
			break;
		}
	}
	free(copy);
}

static void check_escape(const uint8_t *data, size_t len)
{
	char *in = malloc(len + 1), *out;
	size_t need, k = 0, m = 0;

	if (!in)
		return;
	memcpy(in, data, len);
	in[len] = '\0';
	need = metrics_escape(in, NULL, 0);
	out = malloc(need + 1);
	if (!out) {
		free(in);
		return;
	}
	assert(metrics_escape(in, out, need + 1) == need);
	assert(strlen(out) == need);
	/* unescape: the input again, no raw newline, every quote escaped */
	while (out[k]) {
		char c = out[k++];

		assert(c != '\n' && c != '"');
		if (c == '\\') {
			c = out[k++];
			assert(c == '\\' || c == '"' || c == 'n');
			c = c == 'n' ? '\n' : c;
		}
		assert(in[m++] == c);
	}
	assert(in[m] == '\0');
	free(out);
	free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	check_request(data, len);
	check_escape(data, len);
	return 0;
}
