/* conffile: the configuration file. Two steps: conffile_parse checks the file's shape (lines,
 * sections, keys, peers and their prefixes) without knowing what an option means;
 * conffile_apply hands each value to config_set, the command line's own setter, so that a
 * port or an MTU is checked in exactly one place. A mistake is never skipped: an unknown key
 * or a second [Peer] stops the start with the line that holds it. */
#include "daemon/conffile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/aead.h"
#include "daemon/keys.h"

enum { SEC_IFACE = 1, SEC_PEER = 2 };

static const struct cf_key {
	const char *name;	/* as written in the file; matched without case */
	unsigned sections;
	bool list;		/* comma-separated values */
	const char *option;	/* config_set's name, NULL: handled here */
} cf_keys[CF_NKEYS] = {
	[CF_TUN] = { "Tun", SEC_IFACE, false, "tun" },
	[CF_PORT] = { "Port", SEC_IFACE, false, "port" },
	[CF_ADDRESS] = { "Address", SEC_IFACE, true, "addr" },
	[CF_PEER_ADDRESS] = { "PeerAddress", SEC_IFACE, true, "peer" },
	[CF_LISTEN] = { "Listen", SEC_IFACE, true, "local" },
	[CF_SALT] = { "Salt", SEC_IFACE, false, "salt" },
	[CF_SCHEDULER] = { "Scheduler", SEC_IFACE, false, "sched" },
	[CF_MTU] = { "MTU", SEC_IFACE, false, "mtu" },
	[CF_REKEY] = { "Rekey", SEC_IFACE, false, "rekey" },
	[CF_STATUS] = { "Status", SEC_IFACE, false, "status" },
	[CF_STATUS_GROUP] = { "StatusGroup", SEC_IFACE, false, "status-group" },
	[CF_METRICS] = { "Metrics", SEC_IFACE, false, "metrics" },
	[CF_USER] = { "User", SEC_IFACE, false, "user" },
	[CF_VERBOSITY] = { "Verbosity", SEC_IFACE, false, NULL },
	[CF_KEY_FILE] = { "KeyFile", SEC_IFACE | SEC_PEER, false, "key-file" },
	[CF_SECRET_FILE] = { "SecretFile", SEC_IFACE | SEC_PEER, false, "secret-file" },
	[CF_KEY] = { "Key", SEC_IFACE | SEC_PEER, false, NULL },
	[CF_NAME] = { "Name", SEC_PEER, false, NULL },
	[CF_ALLOWED_IPS] = { "AllowedIPs", SEC_PEER, true, NULL },
	[CF_REMOTE] = { "Remote", SEC_PEER, true, "remote" },
	[CF_LOCAL] = { "Local", SEC_PEER, true, "local" },
	[CF_HUB_KEY_FILE] = { "HubKeyFile", SEC_IFACE, false, NULL },
	[CF_HUB_PUBLIC_KEY] = { "HubPublicKey", SEC_PEER, false, NULL },
};

static const enum conffile_key key_sources[] = { CF_KEY_FILE, CF_SECRET_FILE, CF_KEY };

static int cf_fail(char *err, size_t errlen, const char *path, unsigned line, const char *fmt,
		   ...)
{
	va_list ap;
	int n;

	if (line)
		n = snprintf(err, errlen, "%s:%u: ", path, line);
	else
		n = snprintf(err, errlen, "%s: ", path);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	/* one line, whatever the path or a quoted value holds */
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -EINVAL;
}

/* Well-formed UTF-8 without control characters but tab: no overlong forms, no surrogates. */
static const char *text_problem(const uint8_t *s, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		uint8_t c = s[k];
		size_t more;
		uint8_t lo = 0x80, hi = 0xbf;

		if (c == 0)
			return "NUL byte";
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return "control character";
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			lo = c == 0xe0 ? 0xa0 : 0x80;
			hi = c == 0xed ? 0x9f : 0xbf;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			lo = c == 0xf0 ? 0x90 : 0x80;
			hi = c == 0xf4 ? 0x8f : 0xbf;
		} else {
			return "not UTF-8";
		}
		if (len - k - 1 < more || s[k + 1] < lo || s[k + 1] > hi)
			return "not UTF-8";
		for (size_t m = 2; m <= more; m++)
			if ((s[k + m] & 0xc0) != 0x80)
				return "not UTF-8";
		k += more;
	}
	return NULL;
}

static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Splits a list in place: items trimmed and packed one after the other, NUL-terminated. */
static int split_list(char *s, unsigned *n)
{
	char *dst = s, *item = s;

	*n = 0;
	for (;;) {
		char *comma = strchr(item, ',');
		char *t;
		size_t len;

		if (comma)
			*comma = '\0';
		t = trim(item);
		len = strlen(t);
		if (!len)
			return -EINVAL;
		memmove(dst, t, len + 1);
		dst += len + 1;
		(*n)++;
		if (!comma)
			return 0;
		item = comma + 1;
	}
}

static const char *next_item(const char *s)
{
	return s + strlen(s) + 1;
}

static int parse_prefix(const char *s, struct conffile_prefix *p, const char **why)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len;
	char *end;

	*why = "bad prefix (ADDRESS/LENGTH, IPv4 or IPv6)";
	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(p->addr, 0, sizeof(p->addr));
	if (inet_pton(AF_INET, addr, p->addr) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, p->addr) == 1)
		p->family = AF_INET6;
	else
		return -EINVAL;
	p->len = p->family == AF_INET ? 32 : 128;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || *end || len > p->len) {
			*why = "bad prefix length";
			return -EINVAL;
		}
		p->len = (unsigned)len;
	}
	for (unsigned bit = p->len; bit < 128; bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8))) {
			*why = "host bits set after the prefix length";
			return -EINVAL;
		}
	return 0;
}

/* Prefixes overlap when one holds the other: their first min(len) bits agree. */
static bool prefixes_overlap(const struct conffile_prefix *a, const struct conffile_prefix *b)
{
	unsigned bits = a->len < b->len ? a->len : b->len;

	if (a->family != b->family)
		return false;
	for (unsigned bit = 0; bit < bits; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));

		if ((a->addr[bit / 8] & m) != (b->addr[bit / 8] & m))
			return false;
	}
	return true;
}

static const char *prefix_str(const struct conffile_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(p->family, p->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, p->len);
	return buf;
}

static int add_prefixes(struct conffile *cf, unsigned peer, const char *items, unsigned n,
			unsigned line, char *err, size_t errlen)
{
	struct conffile_peer *p = &cf->peer[peer];
	char a[64], b[64];
	const char *why;

	p->first_prefix = cf->nprefix;
	for (unsigned k = 0; k < n; k++, items = next_item(items)) {
		struct conffile_prefix *q;

		if (cf->nprefix == CONFFILE_MAX_PREFIXES)
			return cf_fail(err, errlen, cf->path, line, "AllowedIPs: more than %d "
				       "prefixes in the file", CONFFILE_MAX_PREFIXES);
		q = &cf->prefix[cf->nprefix];
		if (parse_prefix(items, q, &why) < 0)
			return cf_fail(err, errlen, cf->path, line, "AllowedIPs: %s: '%s'", why,
				       items);
		q->line = line;
		q->peer = peer;
		for (unsigned m = 0; m < cf->nprefix; m++)
			if (prefixes_overlap(&cf->prefix[m], q)) {
				const struct conffile_peer *o = &cf->peer[cf->prefix[m].peer];

				return cf_fail(err, errlen, cf->path, line, "AllowedIPs: %s overlaps "
					       "%s of peer %s (line %u): a packet would have two "
					       "peers", prefix_str(q, a, sizeof(a)),
					       prefix_str(&cf->prefix[m], b, sizeof(b)),
					       o->key[CF_NAME].text ? o->key[CF_NAME].text : "?",
					       cf->prefix[m].line);
			}
		cf->nprefix++;
		p->nprefix++;
	}
	return 0;
}

static int check_name(const struct conffile *cf, unsigned peer, const char *name, unsigned line,
		      char *err, size_t errlen)
{
	size_t n = strlen(name);

	if (n > CONFFILE_NAME_MAX || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
					    "VWXYZ0123456789._-") != n)
		return cf_fail(err, errlen, cf->path, line, "Name: bad peer name '%s' (1-%d of "
			       "A-Z a-z 0-9 . _ -)", name, CONFFILE_NAME_MAX);
	for (unsigned k = 0; k < peer; k++)
		if (cf->peer[k].key[CF_NAME].text && !strcmp(cf->peer[k].key[CF_NAME].text, name))
			return cf_fail(err, errlen, cf->path, line, "duplicate peer name '%s' "
				       "(first at line %u)", name, cf->peer[k].key[CF_NAME].line);
	return 0;
}

static int check_key_text(const struct conffile *cf, const char *name, const char *text,
			  unsigned line, char *err, size_t errlen)
{
	uint8_t key[AEAD_KEY_LEN];
	char why[200];
	int rc = keys_parse_key((const uint8_t *)text, strlen(text), key, why, sizeof(why));

	sodium_memzero(key, sizeof(key));
	if (rc < 0)
		return cf_fail(err, errlen, cf->path, line, "%s: %s", name, why);
	return 0;
}

/* The key source given among vals, but skip. */
static const struct conffile_value *key_given(const struct conffile_value *vals,
					      const struct conffile_value *skip)
{
	for (size_t s = 0; s < sizeof(key_sources) / sizeof(key_sources[0]); s++)
		if (vals[key_sources[s]].text && &vals[key_sources[s]] != skip)
			return &vals[key_sources[s]];
	return NULL;
}

/* One `Key = value` line of the current section (peer: -1 for [Interface]). */
static int parse_entry(struct conffile *cf, int peer, char *key, char *value, unsigned line,
		       char *err, size_t errlen)
{
	struct conffile_value *vals = peer < 0 ? cf->iface : cf->peer[peer].key;
	unsigned section = peer < 0 ? SEC_IFACE : SEC_PEER;
	const char *sname = peer < 0 ? "[Interface]" : "[Peer]";
	struct conffile_value *v;
	unsigned k;

	for (k = 0; k < CF_NKEYS; k++)
		if (!strcasecmp(cf_keys[k].name, key))
			break;
	if (k == CF_NKEYS)
		return cf_fail(err, errlen, cf->path, line, "unknown key '%s' in %s", key, sname);
	if (!(cf_keys[k].sections & section))
		return cf_fail(err, errlen, cf->path, line, "%s belongs in %s, not in %s",
			       cf_keys[k].name, section == SEC_PEER ? "[Interface]" : "[Peer]",
			       sname);
	v = &vals[k];
	if (v->text)
		return cf_fail(err, errlen, cf->path, line, "duplicate key %s (first at line %u)",
			       cf_keys[k].name, v->line);
	if (!*value)
		return cf_fail(err, errlen, cf->path, line, "%s: empty value", cf_keys[k].name);
	v->n = 1;
	if (cf_keys[k].list && split_list(value, &v->n) < 0)
		return cf_fail(err, errlen, cf->path, line, "%s: an empty item in the list",
			       cf_keys[k].name);
	v->text = value;
	v->line = line;
	/* a key in one place: one source per section, in [Interface] (every peer's) or in each
	 * [Peer], not both */
	if (k == CF_KEY_FILE || k == CF_SECRET_FILE || k == CF_KEY) {
		const struct conffile_value *o = key_given(vals, v);

		if (o)
			return cf_fail(err, errlen, cf->path, line, "%s and %s (line %u) both "
				       "given in %s: choose one key", cf_keys[k].name,
				       cf_keys[o - vals].name, o->line, sname);
		for (unsigned p = 0; !o && p < cf->npeer; p++)
			o = peer < 0 ? key_given(cf->peer[p].key, NULL) : key_given(cf->iface, NULL);
		if (o)
			return cf_fail(err, errlen, cf->path, line, "%s: %s has a key too (line "
				       "%u): a key is in [Interface] (every peer's) or in each "
				       "[Peer], not both", cf_keys[k].name, peer < 0 ? "a [Peer]" :
				       "[Interface]", o->line);
	}
	if (k == CF_NAME)
		return check_name(cf, (unsigned)peer, value, line, err, errlen);
	if (k == CF_ALLOWED_IPS)
		return add_prefixes(cf, (unsigned)peer, value, v->n, line, err, errlen);
	if (k == CF_KEY || k == CF_HUB_PUBLIC_KEY)
		return check_key_text(cf, cf_keys[k].name, value, line, err, errlen);
	return 0;
}

static int parse_section(struct conffile *cf, char *s, unsigned line, int *peer, char *err,
			 size_t errlen)
{
	size_t n = strlen(s);
	char *name;

	if (s[n - 1] != ']')
		return cf_fail(err, errlen, cf->path, line, "a section is [Interface] or [Peer]");
	s[n - 1] = '\0';
	name = trim(s + 1);
	if (!strcasecmp(name, "Interface")) {
		if (cf->interface_line)
			return cf_fail(err, errlen, cf->path, line, "[Interface] given twice (first "
				       "at line %u)", cf->interface_line);
		cf->interface_line = line;
		*peer = -1;
		return 0;
	}
	if (strcasecmp(name, "Peer"))
		return cf_fail(err, errlen, cf->path, line, "unknown section [%s] (sections: "
			       "[Interface], [Peer])", name);
	if (cf->npeer == CONFFILE_MAX_PEERS)
		return cf_fail(err, errlen, cf->path, line, "more than %d [Peer] sections",
			       CONFFILE_MAX_PEERS);
	if (cf->npeer % 16 == 0) {
		struct conffile_peer *p = realloc(cf->peer, (cf->npeer + 16) * sizeof(*p));

		if (!p) {
			cf_fail(err, errlen, cf->path, line, "out of memory");
			return -ENOMEM;
		}
		cf->peer = p;
	}
	memset(&cf->peer[cf->npeer], 0, sizeof(cf->peer[0]));
	cf->peer[cf->npeer].line = line;
	*peer = (int)cf->npeer++;
	return 0;
}

static int parse_lines(struct conffile *cf, char *err, size_t errlen)
{
	size_t pos = 0;
	unsigned line = 0;
	int peer = -2;	/* -2: before any section, -1: [Interface], else a peer's index */
	int rc;

	while (pos < cf->text_len) {
		char *s = cf->text + pos, *nl, *eq;
		size_t n;
		const char *why;

		line++;
		nl = memchr(s, '\n', cf->text_len - pos);
		n = nl ? (size_t)(nl - s) : cf->text_len - pos;
		pos += n + 1;
		if (n && s[n - 1] == '\r')	/* CRLF: the same line length as LF */
			n--;
		if (n > CONFFILE_MAX_LINE)
			return cf_fail(err, errlen, cf->path, line, "line too long (more than %d "
				       "bytes)", CONFFILE_MAX_LINE);
		why = text_problem((const uint8_t *)s, n);
		if (why)
			return cf_fail(err, errlen, cf->path, line, "%s (the file is UTF-8 text)",
				       why);
		s[n] = '\0';
		s[strcspn(s, "#;")] = '\0';	/* a comment: to the end of the line */
		s = trim(s);
		if (!*s)
			continue;
		if (*s == '[') {
			rc = parse_section(cf, s, line, &peer, err, errlen);
			if (rc < 0)
				return rc;
			continue;
		}
		eq = strchr(s, '=');
		if (!eq || eq == s)
			return cf_fail(err, errlen, cf->path, line, "expected `Key = value` or "
				       "[Section]");
		*eq = '\0';
		if (peer == -2)
			return cf_fail(err, errlen, cf->path, line, "'%s' outside a section "
				       "([Interface] or [Peer] first)", trim(s));
		rc = parse_entry(cf, peer, trim(s), trim(eq + 1), line, err, errlen);
		if (rc < 0)
			return rc;
	}
	cf->nlines = line;
	for (unsigned k = 0; k < cf->npeer; k++)
		if (!cf->peer[k].key[CF_NAME].text)
			return cf_fail(err, errlen, cf->path, cf->peer[k].line, "[Peer] without "
				       "Name");
	return 0;
}

int conffile_parse(struct conffile *cf, const char *path, const char *buf, size_t len,
		   char *err, size_t errlen)
{
	int rc;

	memset(cf, 0, sizeof(*cf));
	err[0] = '\0';
	cf->path = strdup(path);
	if (!cf->path) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (len > CONFFILE_MAX_BYTES) {
		rc = cf_fail(err, errlen, cf->path, 0, "longer than %u bytes", CONFFILE_MAX_BYTES);
		goto out;
	}
	cf->text = malloc(len + 1);
	cf->prefix = malloc(CONFFILE_MAX_PREFIXES * sizeof(*cf->prefix));
	if (!cf->text || !cf->prefix) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	memcpy(cf->text, buf, len);
	cf->text[len] = '\0';
	cf->text_len = len;
	rc = parse_lines(cf, err, errlen);
out:
	if (rc < 0)
		conffile_free(cf);
	return rc;
}

void conffile_free(struct conffile *cf)
{
	if (cf->text)
		sodium_memzero(cf->text, cf->text_len);
	free(cf->text);
	free(cf->path);
	free(cf->peer);
	free(cf->prefix);
	free(cf->cpeer);
	memset(cf, 0, sizeof(*cf));
}

int conffile_read(struct conffile *cf, const char *path, char *err, size_t errlen)
{
	struct stat sb;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r = 0;
	int fd, rc;

	memset(cf, 0, sizeof(*cf));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	buf = malloc(CONFFILE_MAX_BYTES + 1);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	/* one byte more than the limit tells a file that is too long */
	while (n <= CONFFILE_MAX_BYTES && (r = read(fd, buf + n, CONFFILE_MAX_BYTES + 1 - n)) > 0)
		n += (size_t)r;
	if (r < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = conffile_parse(cf, path, buf, n, err, errlen);
	if (rc < 0)
		goto out;
	cf->private_mode = !(sb.st_mode & 077);
	for (unsigned p = 0; p <= cf->npeer && !cf->private_mode; p++) {
		const struct conffile_value *v = p ? &cf->peer[p - 1].key[CF_KEY] : &cf->iface[CF_KEY];

		if (v->text) {
			rc = cf_fail(err, errlen, path, v->line, "Key in a file that group or others "
				     "may read (mode %04o): chmod 600 %s, or use KeyFile",
				     (unsigned)(sb.st_mode & 07777), path);
			conffile_free(cf);
			goto out;
		}
	}
out:
	if (buf) {
		sodium_memzero(buf, n);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

struct entry {
	enum conffile_key key;
	const struct conffile_value *v;
};

/* "-p: bad port 'x'" from config_set becomes "Port: bad port 'x'": the file's word for it. */
static const char *setter_reason(const char *msg)
{
	const char *sep = strstr(msg, ": ");

	if (msg[0] == '-' && sep && !memchr(msg, ' ', (size_t)(sep - msg)))
		return sep + 2;
	return msg;
}

static int set_value(const struct conffile *cf, struct config *c, enum conffile_key k,
		     const struct conffile_value *v, char *err, size_t errlen)
{
	char msg[512];
	const char *item = v->text;

	if (k == CF_VERBOSITY) {
		if (!strcasecmp(item, "normal"))
			return 0;
		if (strcasecmp(item, "quiet") && strcasecmp(item, "verbose"))
			return cf_fail(err, errlen, cf->path, v->line, "Verbosity: '%s' is not "
				       "quiet, normal or verbose", item);
		config_set(c, !strcasecmp(item, "quiet") ? "quiet" : "verbose", NULL, msg,
			   sizeof(msg));
		return 0;
	}
	if (k == CF_KEY) {
		c->key_text = item;
		return 0;
	}
	if (!cf_keys[k].option)
		return 0;
	for (unsigned n = 0; n < v->n; n++, item = next_item(item)) {
		enum config_result rc = config_set(c, cf_keys[k].option, (char *)item, msg,
						   sizeof(msg));

		if (rc == CONFIG_EXIT)	/* Scheduler = list */
			return cf_fail(err, errlen, cf->path, v->line, "%s: '%s' is not a "
				       "scheduler (mptun --sched list shows them)", cf_keys[k].name,
				       item);
		if (rc != CONFIG_OK)
			return cf_fail(err, errlen, cf->path, v->line, "%s: %s", cf_keys[k].name,
				       setter_reason(msg));
	}
	return 0;
}

/* Each PeerAddress (one per family) lies in one of the peer's AllowedIPs, when it names any. */
static int check_peer_address(const struct conffile *cf, const struct conffile_peer *p,
			      char *err, size_t errlen)
{
	const struct conffile_value *pa = &cf->iface[CF_PEER_ADDRESS];
	const char *item = pa->text;
	struct conffile_prefix host;
	const char *why;

	if (!p->nprefix)
		return 0;
	for (unsigned n = 0; n < pa->n; n++, item = next_item(item)) {
		bool in = false;

		if (parse_prefix(item, &host, &why) < 0)
			continue;
		for (unsigned k = 0; k < p->nprefix && !in; k++)
			in = prefixes_overlap(&cf->prefix[p->first_prefix + k], &host);
		if (!in)
			return cf_fail(err, errlen, cf->path, p->key[CF_ALLOWED_IPS].line,
				       "AllowedIPs: PeerAddress %s (line %u) is in none of them",
				       item, pa->line);
	}
	return 0;
}

/* Sets the values of [Interface] and of one [Peer] (NULL: none) through config_set, in the
 * file's order, so that the first mistake in it is the one named. */
static int apply_in_order(const struct conffile *cf, struct config *c,
			  const struct conffile_peer *p, char *err, size_t errlen)
{
	struct entry e[2 * CF_NKEYS];
	unsigned n = 0;

	for (unsigned k = 0; k < CF_NKEYS; k++) {
		if (cf->iface[k].text)
			e[n++] = (struct entry){ k, &cf->iface[k] };
		if (p && p->key[k].text)
			e[n++] = (struct entry){ k, &p->key[k] };
	}
	for (unsigned k = 1; k < n; k++)
		for (unsigned m = k; m && e[m - 1].v->line > e[m].v->line; m--) {
			struct entry t = e[m];

			e[m] = e[m - 1];
			e[m - 1] = t;
		}
	for (unsigned k = 0; k < n; k++) {
		int rc = set_value(cf, c, e[k].key, e[k].v, err, errlen);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A hub: [Interface] with HubKeyFile and Address, then one [Peer] per site with its Name, its
 * own KeyFile or Key and AllowedIPs; no PeerAddress, no Remote. */
static int apply_hub(struct conffile *cf, struct config *c, char *err, size_t errlen)
{
	static const enum conffile_key refused[] = { CF_PEER_ADDRESS, CF_KEY_FILE, CF_SECRET_FILE,
						     CF_KEY };
	char msg[512];
	int rc;

	for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++)
		if (cf->iface[refused[k]].text)
			return cf_fail(err, errlen, cf->path, cf->iface[refused[k]].line, "%s: not in "
				       "a hub's [Interface] (%s)", cf_keys[refused[k]].name,
				       refused[k] == CF_PEER_ADDRESS ? "each [Peer]'s AllowedIPs "
				       "are routed through the tun device" : "each [Peer] has its "
				       "own KeyFile or Key");
	if (!cf->iface[CF_PORT].text || !cf->iface[CF_ADDRESS].text)
		return cf_fail(err, errlen, cf->path, cf->interface_line, "[Interface] without %s",
			       !cf->iface[CF_PORT].text ? "Port" : "Address");
	cf->cpeer = calloc(cf->npeer, sizeof(*cf->cpeer));
	if (!cf->cpeer)
		return cf_fail(err, errlen, cf->path, 0, "out of memory");
	for (unsigned k = 0; k < cf->npeer; k++) {
		const struct conffile_peer *p = &cf->peer[k];
		struct config_peer *q = &cf->cpeer[k];
		static const enum conffile_key client_only[] = { CF_REMOTE, CF_LOCAL,
								 CF_HUB_PUBLIC_KEY, CF_SECRET_FILE };

		for (size_t m = 0; m < sizeof(client_only) / sizeof(client_only[0]); m++)
			if (p->key[client_only[m]].text)
				return cf_fail(err, errlen, cf->path, p->key[client_only[m]].line,
					       "%s: not in a hub's [Peer] (%s)",
					       cf_keys[client_only[m]].name,
					       client_only[m] == CF_SECRET_FILE ? "a hub's peers take "
					       "KeyFile or Key" : "a hub is a server: its sites "
					       "connect to it");
		if (!p->key[CF_KEY_FILE].text && !p->key[CF_KEY].text)
			return cf_fail(err, errlen, cf->path, p->line, "[Peer] %s without KeyFile or "
				       "Key (each site has its own)", p->key[CF_NAME].text);
		if (!p->nprefix)
			return cf_fail(err, errlen, cf->path, p->line, "[Peer] %s without AllowedIPs "
				       "(the inner addresses routed to it)", p->key[CF_NAME].text);
		q->name = p->key[CF_NAME].text;
		q->key_file = p->key[CF_KEY_FILE].text;
		q->key_text = p->key[CF_KEY].text;
		q->allowed = &cf->prefix[p->first_prefix];
		q->nallowed = p->nprefix;
	}
	rc = apply_in_order(cf, c, NULL, err, errlen);
	if (rc < 0)
		return rc;
	c->hub_key_file = cf->iface[CF_HUB_KEY_FILE].text;
	c->peers = cf->cpeer;
	c->npeers = cf->npeer;
	if (config_finish(c, NULL, msg, sizeof(msg)) != CONFIG_OK)
		return cf_fail(err, errlen, cf->path, cf->interface_line, "%s", msg);
	return 0;
}

int conffile_apply(struct conffile *cf, struct config *c, char *err, size_t errlen)
{
	static const enum conffile_key required[] = { CF_PORT, CF_ADDRESS, CF_PEER_ADDRESS };
	const struct conffile_peer *p;
	char msg[512];
	int rc;

	config_init(c);
	c->conf_file = cf->path;
	if (!cf->interface_line)
		return cf_fail(err, errlen, cf->path, 1, "no [Interface] section");
	if (cf->npeer == 0)
		return cf_fail(err, errlen, cf->path, cf->interface_line, "no [Peer] section (one "
			       "per site: its Name, and on a client its Remote)");
	if (cf->iface[CF_HUB_KEY_FILE].text)
		return apply_hub(cf, c, err, errlen);
	if (cf->npeer > 1)
		return cf_fail(err, errlen, cf->path, cf->peer[1].line, "more than one [Peer]: a hub "
			       "names its static key in [Interface] HubKeyFile (mptun genkey FILE; "
			       "its sites give mptun pubkey FILE as HubPublicKey)");
	p = &cf->peer[0];
	if (p->key[CF_HUB_PUBLIC_KEY].text && !p->key[CF_REMOTE].text)
		return cf_fail(err, errlen, cf->path, p->key[CF_HUB_PUBLIC_KEY].line, "HubPublicKey "
			       "is a client's (the hub it connects to, with Remote)");
	for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++)
		if (!cf->iface[required[k]].text)
			return cf_fail(err, errlen, cf->path, cf->interface_line, "[Interface] "
				       "without %s", cf_keys[required[k]].name);
	if (!key_given(p->key, NULL) && !key_given(cf->iface, NULL))
		return cf_fail(err, errlen, cf->path, p->line, "no key: KeyFile, SecretFile or Key, "
			       "in [Peer] or [Interface]");
	if (cf->iface[CF_LISTEN].text && p->key[CF_REMOTE].text)
		return cf_fail(err, errlen, cf->path, cf->iface[CF_LISTEN].line, "Listen is a "
			       "server's (no Remote); a client's uplinks are its [Peer]'s Local");
	if (p->key[CF_LOCAL].text && !p->key[CF_REMOTE].text)
		return cf_fail(err, errlen, cf->path, p->key[CF_LOCAL].line, "Local is a client's "
			       "uplinks and needs Remote; a server listens on [Interface] Listen");

	rc = apply_in_order(cf, c, p, err, errlen);
	if (rc < 0)
		return rc;
	rc = check_peer_address(cf, p, err, errlen);
	if (rc < 0)
		return rc;
	c->allowed = p->nprefix ? &cf->prefix[p->first_prefix] : NULL;
	c->nallowed = p->nprefix;
	c->peer_name = p->key[CF_NAME].text;
	c->hub_pub_text = p->key[CF_HUB_PUBLIC_KEY].text;
	if (config_finish(c, NULL, msg, sizeof(msg)) != CONFIG_OK)
		return cf_fail(err, errlen, cf->path, cf->interface_line, "%s", msg);
	return 0;
}

/* keys.c names the option ("-K FILE: ..."): here it is the file's key on its line. */
static int key_file_fail(const struct conffile *cf, const char *name, unsigned line,
			 const char *msg, char *err, size_t errlen)
{
	const char *sp = msg[0] == '-' ? strchr(msg, ' ') : NULL;

	return cf_fail(err, errlen, cf->path, line, "%s %s", name, sp ? sp + 1 : msg);
}

int conffile_peer_key(const struct config_peer *p, uint8_t key[AEAD_KEY_LEN], char *err,
		      size_t errlen)
{
	char msg[400];
	int rc = p->key_file ? keys_read_key_file(p->key_file, key, msg, sizeof(msg)) :
		 keys_parse_key((const uint8_t *)p->key_text, strlen(p->key_text), key, msg,
				sizeof(msg));

	if (rc < 0)
		snprintf(err, errlen, "peer %s: %s", p->name, msg);
	return rc;
}

/* A hub's peers each have their own key: two with the same one could not be told apart. */
static int check_distinct_keys(const struct conffile *cf, char *err, size_t errlen)
{
	uint8_t (*keys)[AEAD_KEY_LEN];
	char msg[512];
	int rc = 0;

	if (!cf->cpeer || cf->npeer < 2)
		return 0;
	keys = calloc(cf->npeer, AEAD_KEY_LEN);
	if (!keys)
		return cf_fail(err, errlen, cf->path, 0, "out of memory");
	for (unsigned k = 0; k < cf->npeer && rc == 0; k++) {
		const struct config_peer *q = &cf->cpeer[k];

		rc = conffile_peer_key(q, keys[k], msg, sizeof(msg));
		if (rc < 0)
			break;	/* said by the per-file check */
		for (unsigned m = 0; m < k; m++)
			if (sodium_memcmp(keys[m], keys[k], AEAD_KEY_LEN) == 0) {
				rc = cf_fail(err, errlen, cf->path, cf->peer[k].line, "[Peer] %s has "
					     "the same key as [Peer] %s (line %u): each site has its "
					     "own", q->name, cf->cpeer[m].name, cf->peer[m].line);
				break;
			}
	}
	sodium_memzero(keys, (size_t)cf->npeer * AEAD_KEY_LEN);
	free(keys);
	return rc == -EINVAL && err[0] ? rc : 0;
}

int conffile_check_keys(const struct conffile *cf, char *err, size_t errlen)
{
	uint8_t key[AEAD_KEY_LEN];
	char secret[KEYS_SECRET_MAX + 1];
	char msg[512];
	size_t len;
	int rc = 0;

	err[0] = '\0';
	for (unsigned p = 0; p <= cf->npeer && rc == 0; p++) {
		const struct conffile_value *v = p ? cf->peer[p - 1].key : cf->iface;

		if (v[CF_KEY_FILE].text) {
			rc = keys_read_key_file(v[CF_KEY_FILE].text, key, msg, sizeof(msg));
			sodium_memzero(key, sizeof(key));
			if (rc < 0)
				rc = key_file_fail(cf, "KeyFile", v[CF_KEY_FILE].line, msg, err,
						   errlen);
		}
		if (rc == 0 && v[CF_HUB_KEY_FILE].text) {
			rc = keys_read_key_file(v[CF_HUB_KEY_FILE].text, key, msg, sizeof(msg));
			sodium_memzero(key, sizeof(key));
			if (rc < 0)
				rc = key_file_fail(cf, "HubKeyFile", v[CF_HUB_KEY_FILE].line, msg,
						   err, errlen);
		}
		if (rc == 0 && v[CF_SECRET_FILE].text) {
			rc = keys_read_secret_file(v[CF_SECRET_FILE].text, secret, &len, msg,
						   sizeof(msg));
			sodium_memzero(secret, sizeof(secret));
			if (rc < 0)
				rc = key_file_fail(cf, "SecretFile", v[CF_SECRET_FILE].line, msg,
						   err, errlen);
		}
	}
	return rc < 0 ? rc : check_distinct_keys(cf, err, errlen);
}

int conffile_load(struct conffile *cf, const char *path, struct config *c, bool with_keys,
		  char *err, size_t errlen)
{
	int rc = conffile_read(cf, path, err, errlen);

	if (rc == 0)
		rc = conffile_apply(cf, c, err, errlen);
	if (rc == 0 && with_keys)
		rc = conffile_check_keys(cf, err, errlen);
	if (rc < 0)
		conffile_free(cf);
	return rc;
}
