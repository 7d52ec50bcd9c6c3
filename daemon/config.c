/* config: the command line. Every problem becomes one line in out and CONFIG_USAGE; nothing
 * is silently ignored (a repeated single-valued option is an error, not "last one wins"). */
#include "daemon/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"
#include "daemon/addr.h"
#include "sched/registry.h"

static const char usage_text[] =
"usage: mptun -i TUN -p PORT -v TUN_ADDR -t PEER_TUN_ADDR (-K KEYFILE | -k SECRET |\n"
"             --secret-file FILE) [--salt TEXT] [-r SERVER_ADDR]... [-l LOCAL_ADDR]...\n"
"             [--sched NAME[:ARGS]] [--mtu N] [--rekey SECONDS]\n"
"             [--status PATH [--status-group GROUP]] [--metrics ADDR:PORT]\n"
"             [--user NAME] [-q | --verbose]\n"
"       mptun -c FILE            every option from a configuration file (man mptun)\n"
"       mptun check [--no-keys] -c FILE  check a configuration file, start nothing\n"
"       mptun genkey [FILE]      write a new random key (base64) to FILE or stdout\n"
"       mptun pubkey FILE        a hub's public key (HubPublicKey) from its HubKeyFile\n"
"       mptun status [--json] PATH  print a running daemon's state: a table, or JSON\n"
"       mptun --sched list | --help | --version\n"
"\n"
"A multipath VPN: IP packets of a tun device over UDP, spread over every path between N\n"
"local and M remote addresses. With -r it is a client; without, a server.\n"
"\n"
"  -c, --config FILE    every option from FILE ([Interface] and [Peer] sections); no\n"
"                       other option beside it\n"
"  -i, --tun NAME       tun device to create (default mptun0)\n"
"  -p, --port PORT      UDP port: the server listens on it, the client sends to it\n"
"  -v, --addr ADDR      this end's address inside the tunnel, IPv4 or IPv6; once per family\n"
"                       for both (-v 10.0.0.1 -v fd00::1)\n"
"  -t, --peer ADDR      the other end's address inside the tunnel, one for each family in -v\n"
"  -r, --remote ADDR    a server address, IPv4 or IPv6 (up to 16)\n"
"  -l, --local ADDR     a local address to send from, one per uplink (up to 16); a client\n"
"                       without -l uses one wildcard socket, a server without -l listens on\n"
"                       the wildcard and answers each peer from the address its last\n"
"                       authenticated datagram came to\n"
"  -K, --key-file FILE  32-byte key as written by `mptun genkey` (base64, or 32 raw bytes);\n"
"                       mode 0600 or stricter. The strong form: use it\n"
"  -k, --secret TEXT    shared secret, stretched with Argon2id (128 MiB, 4 passes); only as\n"
"                       strong as a password. Blanked from the command line once read\n"
"      --secret-file FILE  the secret from FILE (mode 0600; a final newline is dropped);\n"
"                       or from the environment: MPTUN_SECRET (removed once read)\n"
"      --salt TEXT      Argon2id salt for the secret (default: from -p and the inner\n"
"                       addresses); both ends must give the same\n"
"      --sched NAME     path scheduler (default " SCHED_DEFAULT "); `--sched list` shows them\n"
"      --mtu N          tun MTU (default: outer datagrams fit 1500 bytes: 1428 over IPv4,\n"
"                       1408 when any outer address is IPv6; 1280 or more with an inner\n"
"                       IPv6 address)\n"
"      --rekey SECONDS  a new session key this often (client; default and most 120; a\n"
"                       shorter one is for tests)\n"
"      --status PATH    serve the state as JSON on this unix socket (`mptun status PATH`),\n"
"                       created mode 0660, owned by root\n"
"      --status-group GROUP  the status socket's group (default root): who may read it\n"
"      --metrics ADDR:PORT  serve Prometheus metrics over HTTP on GET /metrics at this\n"
"                       TCP address ([ADDR]:PORT for IPv6), e.g. 127.0.0.1:9469; off by\n"
"                       default; no authentication: bind it where only scrapers reach\n"
"      --user NAME      drop privileges to NAME after set-up\n"
"  -q, --quiet          log only errors\n"
"      --verbose        log more (handshakes sent, handshakes refused by the rate limit)\n"
"  -h, --help           this text\n"
"      --version        print the version\n"
"\n"
"At start mptun sets no-new-privs, closes inherited descriptors above 2 and locks its keys\n"
"in memory where the system allows.\n";

const char *config_usage(void)
{
	return usage_text;
}

static enum config_result fail(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
	/* the message quotes what it was given: a newline in an argument must not make it two */
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return CONFIG_USAGE;
}

/* lo and hi: a and b in byte order (network order: the numeric order for IPv4) */
static size_t put_pair(uint8_t *ctx, const void *a, const void *b, size_t len)
{
	bool swap = memcmp(a, b, len) > 0;

	memcpy(ctx, swap ? b : a, len);
	memcpy(ctx + len, swap ? a : b, len);
	return 2 * len;
}

void config_secret_salt(const struct config *c, uint8_t salt[AEAD_SALT_LEN])
{
	uint8_t ctx[16 + CONFIG_SECRET_MAX];
	size_t n;

	if (c->salt) {
		n = strlen(c->salt);
		memcpy(ctx, "salt", 5);		/* with its NUL: apart from the default form */
		memcpy(ctx + 5, c->salt, n);
		n += 5;
	} else if (!c->have_tun_addr6) {
		/* mptun 0.1's form, unchanged: an IPv4 tunnel keeps its key */
		memcpy(ctx, "port+tun", 9);
		ctx[9] = (uint8_t)(c->port >> 8);
		ctx[10] = (uint8_t)c->port;
		n = 11 + put_pair(ctx + 11, &c->tun_addr, &c->tun_peer, 4);
	} else {
		memcpy(ctx, "port+tun46", 11);
		ctx[11] = (uint8_t)(c->port >> 8);
		ctx[12] = (uint8_t)c->port;
		n = 13;
		if (c->have_tun_addr) {
			ctx[n++] = 4;
			n += put_pair(ctx + n, &c->tun_addr, &c->tun_peer, 4);
		}
		ctx[n++] = 6;
		n += put_pair(ctx + n, &c->tun_addr6, &c->tun_peer6, 16);
	}
	aead_secret_salt(ctx, n, salt);
}

unsigned config_default_mtu(const struct config *c)
{
	bool v6 = false;

	for (unsigned k = 0; k < c->nremote; k++)
		v6 |= c->remote[k].ss_family == AF_INET6;
	for (unsigned k = 0; k < c->nlocal; k++)
		v6 |= c->local[k].ss_family == AF_INET6;
	/* outer IPv4 + UDP is 28 bytes, IPv6 + UDP 48 */
	return 1500 - (v6 ? 48 : 28) - WIRE_OVERHEAD;
}

enum opt_long {
	OPT_SCHED = 256, OPT_MTU, OPT_STATUS, OPT_STATUS_GROUP, OPT_USER, OPT_SECRET_FILE, OPT_SALT,
	OPT_VERBOSE, OPT_VERSION, OPT_REKEY, OPT_METRICS,
	OPT_COUNT	/* not an option: one more than the last */
};
_Static_assert(OPT_COUNT <= CONFIG_OPT_SLOTS, "struct config's given[] holds every option");

static const struct option long_opts[] = {
	{ "tun", required_argument, NULL, 'i' },
	{ "port", required_argument, NULL, 'p' },
	{ "addr", required_argument, NULL, 'v' },
	{ "peer", required_argument, NULL, 't' },
	{ "remote", required_argument, NULL, 'r' },
	{ "local", required_argument, NULL, 'l' },
	{ "secret", required_argument, NULL, 'k' },
	{ "key-file", required_argument, NULL, 'K' },
	{ "secret-file", required_argument, NULL, OPT_SECRET_FILE },
	{ "salt", required_argument, NULL, OPT_SALT },
	{ "sched", required_argument, NULL, OPT_SCHED },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "rekey", required_argument, NULL, OPT_REKEY },
	{ "status", required_argument, NULL, OPT_STATUS },
	{ "status-group", required_argument, NULL, OPT_STATUS_GROUP },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "user", required_argument, NULL, OPT_USER },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || *end || *v > max ? -EINVAL : 0;
}

static enum config_result sched_list(char *out, size_t outlen)
{
	size_t off = 0;

	for (size_t k = 0; k < sched_registry_len && off < outlen; k++) {
		int n = snprintf(out + off, outlen - off, "%-12s %s%s\n", sched_registry[k]->name,
				 sched_registry[k]->summary,
				 strcmp(sched_registry[k]->name, SCHED_DEFAULT) ? "" : " (default)");

		if (n < 0)
			break;
		off += (size_t)n;
	}
	return CONFIG_EXIT;
}

/* The name of the option being parsed, for messages. */
static const char *opt_name(int c, char *buf, size_t len)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == c) {
			if (c < 256)
				snprintf(buf, len, "-%c", c);
			else
				snprintf(buf, len, "--%s", o->name);
			return buf;
		}
	snprintf(buf, len, "-%c", c);
	return buf;
}

/* The key's sources given, for "choose one" and "missing" messages. */
static unsigned key_sources(const struct config *c, const char *names[5])
{
	unsigned n = 0;

	if (c->secret)
		names[n++] = "-k";
	if (c->key_file)
		names[n++] = "-K";
	if (c->secret_file)
		names[n++] = "--secret-file";
	if (c->secret_env)
		names[n++] = "MPTUN_SECRET";
	if (c->key_text)
		names[n++] = "Key";
	return n;
}

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->tun_name = "mptun0";
	c->sched = SCHED_DEFAULT;
	c->peer_name = "peer";
	c->verbosity = 1;
}

/* One option, its value as getopt gives it: the one place each option is checked, for the
 * command line and the configuration file alike. The value keeps getopt's name, optarg, so
 * that each case reads as it did inside the getopt loop. */
static enum config_result set_opt(struct config *c, int opt, char *optarg, char *out,
				  size_t outlen)
{
	unsigned long v;
	char name[32];

	if (opt != 'r' && opt != 'l' && opt != 'v' && opt != 't' && c->given[opt])
		return fail(out, outlen, "option %s given twice",
			    opt_name(opt, name, sizeof(name)));
	c->given[opt] = true;
	switch (opt) {
	case 'i':
		if (!*optarg || strlen(optarg) >= 16 || strchr(optarg, '/') ||
		    strchr(optarg, ' '))
			return fail(out, outlen, "-i: bad interface name '%s' (1-15 characters, "
				    "no '/' or space)", optarg);
		c->tun_name = optarg;
		break;
	case 'p':
		if (parse_uint(optarg, 65535, &v) < 0 || v == 0)
			return fail(out, outlen, "-p: bad port '%s' (1-65535)", optarg);
		c->port = (uint16_t)v;
		break;
	case 'v':
	case 't': {
		bool v = opt == 'v', *have;
		void *a;
		int fam = strchr(optarg, ':') ? AF_INET6 : AF_INET;

		if (fam == AF_INET6) {
			a = v ? (void *)&c->tun_addr6 : (void *)&c->tun_peer6;
			have = v ? &c->have_tun_addr6 : &c->have_tun_peer6;
		} else {
			a = v ? (void *)&c->tun_addr : (void *)&c->tun_peer;
			have = v ? &c->have_tun_addr : &c->have_tun_peer;
		}
		if (inet_pton(fam, optarg, a) != 1)
			return fail(out, outlen, "-%c: bad IPv4 or IPv6 address '%s'", opt, optarg);
		if (*have)
			return fail(out, outlen, "-%c: two %s addresses (at most one per family: one "
				    "IPv4, one IPv6)", opt, fam == AF_INET6 ? "IPv6" : "IPv4");
		if (fam == AF_INET6 && (IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_MULTICAST(a) ||
					IN6_IS_ADDR_V4MAPPED(a)))
			return fail(out, outlen, "-%c: '%s' is not a unicast IPv6 address", opt,
				    optarg);
		*have = true;
		break;
	}
	case 'r':
	case 'l': {
		unsigned *n = opt == 'r' ? &c->nremote : &c->nlocal;
		struct sockaddr_storage *a = opt == 'r' ? c->remote : c->local;

		if (*n == CONFIG_MAX_ADDR)
			return fail(out, outlen, "-%c: more than %d addresses", opt,
				    CONFIG_MAX_ADDR);
		/* the port comes with config_finish, once -p is known */
		if (addr_parse(optarg, 0, &a[*n]) < 0)
			return fail(out, outlen, "-%c: bad address '%s' (IPv4 or IPv6)", opt,
				    optarg);
		for (unsigned m = 0; m < *n; m++)
			if (addr_same_ip(&a[m], &a[*n]))
				return fail(out, outlen, "-%c: address %s given twice", opt,
					    optarg);
		(*n)++;
		break;
	}
	case 'k':
		if (!*optarg || strlen(optarg) > CONFIG_SECRET_MAX)
			return fail(out, outlen, "-k: the secret must have 1-%d bytes",
				    CONFIG_SECRET_MAX);
		c->secret = optarg;
		break;
	case OPT_SECRET_FILE:
		if (!*optarg)
			return fail(out, outlen, "--secret-file: empty file name");
		c->secret_file = optarg;
		break;
	case OPT_SALT:
		if (!*optarg || strlen(optarg) > CONFIG_SECRET_MAX)
			return fail(out, outlen, "--salt: the salt must have 1-%d bytes",
				    CONFIG_SECRET_MAX);
		c->salt = optarg;
		break;
	case 'K':
		c->key_file = optarg;
		break;
	case OPT_SCHED:
		if (!strcmp(optarg, "list"))
			return sched_list(out, outlen);
		if (!sched_lookup(optarg, NULL))
			return fail(out, outlen, "--sched: unknown scheduler '%s' (mptun --sched "
				    "list shows them)", optarg);
		c->sched = optarg;
		break;
	case OPT_MTU:
		if (parse_uint(optarg, WIRE_MAX_PAYLOAD, &v) < 0 || v < 576)
			return fail(out, outlen, "--mtu: bad MTU '%s' (576-%d)", optarg,
				    WIRE_MAX_PAYLOAD);
		c->mtu = (unsigned)v;
		break;
	case OPT_REKEY:
		if (parse_uint(optarg, 120, &v) < 0 || v < 1)
			return fail(out, outlen, "--rekey: bad interval '%s' (1-120 seconds)",
				    optarg);
		c->rekey_s = (unsigned)v;
		break;
	case OPT_STATUS:
		if (!*optarg || strlen(optarg) >= 108)
			return fail(out, outlen, "--status: bad socket path (1-107 characters)");
		c->status_path = optarg;
		break;
	case OPT_STATUS_GROUP:
		if (!*optarg)
			return fail(out, outlen, "--status-group: empty group name");
		c->status_group = optarg;
		break;
	case OPT_METRICS:
		if (addr_parse_port(optarg, &c->metrics) < 0)
			return fail(out, outlen, "--metrics: bad address '%s' (ADDR:PORT, "
				    "[ADDR]:PORT for IPv6)", optarg);
		c->have_metrics = true;
		break;
	case OPT_USER:
		c->user = optarg;
		break;
	case 'q':
		c->verbosity = 0;
		break;
	case OPT_VERBOSE:
		c->verbosity = 2;
		break;
	case 'h':
		snprintf(out, outlen, "%s", usage_text);
		return CONFIG_EXIT;
	case OPT_VERSION:
		snprintf(out, outlen, "mptun %s\n", MPTUN_VERSION);
		return CONFIG_EXIT;
	}
	return CONFIG_OK;
}

enum config_result config_set(struct config *c, const char *name, char *value, char *out,
			      size_t outlen)
{
	out[0] = '\0';
	for (const struct option *o = long_opts; o->name; o++)
		if (!strcmp(o->name, name) && o->val != 'h' && o->val != OPT_VERSION &&
		    o->val != 'c' && (o->has_arg == no_argument) == !value)
			return set_opt(c, o->val, value, out, outlen);
	return fail(out, outlen, "no option --%s taking %s", name, value ? "a value" : "no value");
}

enum config_result config_parse(struct config *c, int argc, char **argv, const char *env_secret,
				char *out, size_t outlen)
{
	enum config_result rc;
	char name[32];
	int opt;

	config_init(c);
	out[0] = '\0';
	optind = 0;	/* GNU: reinitialise, so that parsing can run more than once */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":i:p:v:t:r:l:k:K:c:qh", long_opts, NULL)) != -1) {
		if (opt == '?') {
			if (optopt && optopt < 256)
				return fail(out, outlen, "unknown option -%c (see mptun --help)", optopt);
			return fail(out, outlen, "unknown option '%s' (see mptun --help)",
				    argv[optind - 1]);
		}
		if (opt == ':')
			return fail(out, outlen, "option %s needs a value",
				    optopt ? opt_name(optopt, name, sizeof(name)) : argv[optind - 1]);
		if (opt == 'c') {
			if (c->conf_file)
				return fail(out, outlen, "option -c given twice");
			c->conf_file = optarg;
			continue;
		}
		rc = set_opt(c, opt, optarg, out, outlen);
		if (rc != CONFIG_OK)
			return rc;
	}
	if (optind < argc)
		return fail(out, outlen, "unexpected argument '%s' (see mptun --help)", argv[optind]);
	if (c->conf_file) {
		/* the file holds every option: one source, so that what runs is what it says */
		for (opt = 0; opt < OPT_COUNT; opt++)
			if (c->given[opt])
				return fail(out, outlen, "-c %s holds every option: give no other "
					    "(%s given)", c->conf_file, opt_name(opt, name, sizeof(name)));
		if (env_secret)
			return fail(out, outlen, "MPTUN_SECRET is set: with -c the key comes from "
				    "the file (KeyFile, SecretFile or Key)");
		return CONFIG_OK;
	}
	return config_finish(c, env_secret, out, outlen);
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons(port);
}

enum config_result config_finish(struct config *c, const char *env_secret, char *out,
				 size_t outlen)
{
	const char *sources[5];

	if (c->given['q'] && c->given[OPT_VERBOSE])
		return fail(out, outlen, "-q and --verbose contradict each other");
	if (!c->port)
		return fail(out, outlen, "missing -p PORT");
	if (!c->given['v'] || (!c->given['t'] && !c->hub_key_file))
		return fail(out, outlen, "missing %s (the tunnel's inner addresses)",
			    !c->given['v'] ? "-v TUN_ADDR" : "-t PEER_TUN_ADDR");
	if (c->hub_key_file && c->given['t'])
		return fail(out, outlen, "a hub has no peer address: each peer's AllowedIPs are "
			    "routed through the tun device");
	if (!c->hub_key_file &&
	    (c->have_tun_addr != c->have_tun_peer || c->have_tun_addr6 != c->have_tun_peer6)) {
		bool v4 = c->have_tun_addr != c->have_tun_peer;
		bool v = v4 ? c->have_tun_addr : c->have_tun_addr6;

		return fail(out, outlen, "%s has an %s address and %s none: give this end's "
			    "and the peer's address of each family", v ? "-v" : "-t",
			    v4 ? "IPv4" : "IPv6", v ? "-t" : "-v");
	}
	if (c->have_tun_addr && c->tun_addr.s_addr == c->tun_peer.s_addr)
		return fail(out, outlen, "-v and -t are the same address");
	if (c->have_tun_addr6 && IN6_ARE_ADDR_EQUAL(&c->tun_addr6, &c->tun_peer6))
		return fail(out, outlen, "-v and -t are the same address (IPv6)");
	if (c->have_tun_addr6 && c->mtu && c->mtu < 1280)
		return fail(out, outlen, "--mtu %u: IPv6 inside the tunnel needs an MTU of 1280 or "
			    "more", c->mtu);
	if (c->status_group && !c->status_path)
		return fail(out, outlen, "--status-group without --status");
	/* a MPTUN_SECRET beside -K is a mistake to name, not a key to ignore */
	c->secret_env = env_secret != NULL;
	if (c->secret_env && !*env_secret)
		return fail(out, outlen, "MPTUN_SECRET is empty");
	if (c->secret_env && strlen(env_secret) > CONFIG_SECRET_MAX)
		return fail(out, outlen, "MPTUN_SECRET: the secret must have 1-%d bytes",
			    CONFIG_SECRET_MAX);
	if (key_sources(c, sources) > 1)
		return fail(out, outlen, "%s and %s both given: choose one key", sources[0],
			    sources[1]);
	if (c->hub_key_file && key_sources(c, sources))
		return fail(out, outlen, "a hub's keys are its peers' (each [Peer]'s KeyFile or "
			    "Key), not %s", sources[0]);
	if (key_sources(c, sources) == 0 && !c->hub_key_file)
		return fail(out, outlen, "missing key: -K KEYFILE (see mptun genkey), or a secret "
			    "(-k SECRET, --secret-file FILE or MPTUN_SECRET)");
	if (c->salt && (c->key_file || c->key_text))
		return fail(out, outlen, "--salt is for a secret, not for a key (a key needs no "
			    "salt)");
	/* a client's locals send from an ephemeral port; a server's listen on PORT */
	for (unsigned k = 0; k < c->nremote; k++)
		set_port(&c->remote[k], c->port);
	for (unsigned k = 0; k < c->nlocal; k++)
		set_port(&c->local[k], c->nremote ? 0 : c->port);
	return CONFIG_OK;
}
