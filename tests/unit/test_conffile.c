/* The configuration file (daemon/conffile.c): a good file maps onto the struct config the
 * command line would give; every kind of mistake is one line naming FILE:LINE. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "core/aead.h"
#include "daemon/conffile.h"
#include "daemon/config.h"

#define KEY_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static char err[1024];

static const char client_conf[] =
	"# the office end\n"
	"[Interface]\n"
	"Tun = mt0\n"
	"  port=5000   \n"
	"ADDRESS = 10.99.0.1\n"
	"PeerAddress = 10.99.0.2 ; the server\n"
	"Scheduler = roundrobin\n"
	"MTU = 1400\n"
	"Rekey = 30\n"
	"Status = /run/mptun/office.sock\n"
	"StatusGroup = adm\n"
	"Metrics = 127.0.0.1:9469\n"
	"User = nobody\n"
	"Verbosity = quiet\n"
	"\n"
	"[Peer]\r\n"
	"Name = hq\n"
	"KeyFile = /etc/mptun/office.key\n"
	"AllowedIPs = 10.99.0.2/32, 172.16.0.0/16,2001:db8::/32\n"
	"Remote = 192.0.2.1, 2001:db8::1\n"
	"Local = 198.51.100.2, 198.51.100.3\n";

/* parse + apply, the way mptun -c does it, from a buffer */
static int load(struct conffile *cf, struct config *c, const char *text, size_t len)
{
	int rc = conffile_parse(cf, "t.conf", text, len, err, sizeof(err));

	if (rc == 0)
		rc = conffile_apply(cf, c, err, sizeof(err));
	return rc;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port :
		     ((const struct sockaddr_in *)ss)->sin_port);
}

static void test_good_client(void **unused)
{
	struct conffile cf;
	struct config c;

	(void)unused;
	assert_int_equal(load(&cf, &c, client_conf, strlen(client_conf)), 0);
	assert_int_equal(cf.npeer, 1);
	assert_int_equal(cf.nprefix, 3);
	assert_string_equal(c.conf_file, "t.conf");
	assert_string_equal(c.tun_name, "mt0");
	assert_int_equal(c.port, 5000);
	assert_int_equal(ntohl(c.tun_addr.s_addr), 0x0a630001);
	assert_int_equal(ntohl(c.tun_peer.s_addr), 0x0a630002);
	assert_true(c.have_tun_addr && c.have_tun_peer);
	assert_string_equal(c.sched, "roundrobin");
	assert_int_equal(c.mtu, 1400);
	assert_int_equal(c.rekey_s, 30);
	assert_string_equal(c.status_path, "/run/mptun/office.sock");
	assert_string_equal(c.status_group, "adm");
	assert_true(c.have_metrics);
	assert_int_equal(c.metrics.ss_family, AF_INET);
	assert_int_equal(port_of(&c.metrics), 9469);
	assert_string_equal(c.peer_name, "hq");	/* its metrics' peer label */
	assert_string_equal(c.user, "nobody");
	assert_int_equal(c.verbosity, 0);
	assert_string_equal(c.key_file, "/etc/mptun/office.key");
	assert_null(c.key_text);
	assert_null(c.secret);
	assert_null(c.secret_file);
	assert_false(c.secret_env);
	assert_int_equal(c.nremote, 2);
	assert_int_equal(c.remote[0].ss_family, AF_INET);
	assert_int_equal(c.remote[1].ss_family, AF_INET6);
	assert_int_equal(port_of(&c.remote[0]), 5000);
	assert_int_equal(port_of(&c.remote[1]), 5000);
	assert_int_equal(c.nlocal, 2);
	assert_int_equal(port_of(&c.local[0]), 0);	/* a client's: ephemeral */
	conffile_free(&cf);
	conffile_free(&cf);	/* twice is harmless */
}

/* The same tunnel from the command line and from a file: the same struct config. */
/* Dual stack: Address and PeerAddress take one address per family, and each PeerAddress must
 * lie in the peer's AllowedIPs. */
static void test_dual_stack(void **unused)
{
	static const char good[] =
		"[Interface]\nPort = 5000\nAddress = 10.99.0.1, fd00::1\n"
		"PeerAddress = fd00::2, 10.99.0.2\n[Peer]\nName = hq\nKey = " KEY_B64 "\n"
		"AllowedIPs = 10.99.0.2/32, fd00::/64\nRemote = 192.0.2.1\n";
	static const char outside[] =
		"[Interface]\nPort = 5000\nAddress = 10.99.0.1, fd00::1\n"
		"PeerAddress = 10.99.0.2, fd01::2\n[Peer]\nName = hq\nKey = " KEY_B64 "\n"
		"AllowedIPs = 10.99.0.2/32, fd00::/64\nRemote = 192.0.2.1\n";
	struct conffile cf;
	struct config c;
	struct in6_addr want;

	(void)unused;
	assert_int_equal(load(&cf, &c, good, sizeof(good) - 1), 0);
	assert_true(c.have_tun_addr && c.have_tun_peer && c.have_tun_addr6 && c.have_tun_peer6);
	assert_int_equal(inet_pton(AF_INET6, "fd00::2", &want), 1);
	assert_memory_equal(&c.tun_peer6, &want, sizeof(want));
	conffile_free(&cf);
	assert_int_equal(load(&cf, &c, outside, sizeof(outside) - 1), -EINVAL);
	assert_non_null(strstr(err, "t.conf:8: AllowedIPs: PeerAddress fd01::2 (line 4)"));
	conffile_free(&cf);
}

static void test_same_as_command_line(void **unused)
{
	static const char server_conf[] =
		"[interface]\n"
		"Port = 5000\n"
		"Address = 10.99.0.2\n"
		"PeerAddress = 10.99.0.1\n"
		"Listen = 10.202.0.2, 10.202.0.3\n"
		"SecretFile = /etc/mptun/s\n"
		"Salt = office-7\n"
		"Verbosity = verbose\n"
		"[peer]\n"
		"name = office\n";
	char *argv[] = { "mptun", "-i", "mptun0", "-p", "5000", "-v", "10.99.0.2", "-t",
			 "10.99.0.1", "-l", "10.202.0.2", "-l", "10.202.0.3", "--secret-file",
			 "/etc/mptun/s", "--salt", "office-7", "--verbose", NULL };
	char out[512];
	struct conffile cf;
	struct config a, b;
	uint8_t sa[AEAD_SALT_LEN], sb[AEAD_SALT_LEN];

	(void)unused;
	assert_int_equal(config_parse(&a, 18, argv, NULL, out, sizeof(out)), CONFIG_OK);
	assert_int_equal(load(&cf, &b, server_conf, strlen(server_conf)), 0);
	assert_string_equal(a.tun_name, b.tun_name);
	assert_int_equal(a.port, b.port);
	assert_memory_equal(&a.tun_addr, &b.tun_addr, sizeof(a.tun_addr));
	assert_memory_equal(&a.tun_peer, &b.tun_peer, sizeof(a.tun_peer));
	assert_int_equal(b.nremote, 0);
	assert_int_equal(a.nlocal, b.nlocal);
	assert_memory_equal(a.local, b.local, sizeof(a.local[0]) * a.nlocal);
	assert_int_equal(port_of(&b.local[1]), 5000);	/* a server's: it listens there */
	assert_string_equal(a.secret_file, b.secret_file);
	assert_string_equal(a.salt, b.salt);
	assert_int_equal(a.verbosity, b.verbosity);
	assert_string_equal(a.sched, b.sched);
	assert_int_equal(a.mtu, b.mtu);
	assert_int_equal(aead_global_init(), 0);
	config_secret_salt(&a, sa);
	config_secret_salt(&b, sb);
	assert_memory_equal(sa, sb, sizeof(sa));
	conffile_free(&cf);
}

#define IFACE "[Interface]\nPort = 5000\nAddress = 10.99.0.1\nPeerAddress = 10.99.0.2\n"
#define PEER "[Peer]\nName = hq\nKeyFile = /k\n"
#define HUB "[Interface]\nPort = 5000\nAddress = 10.99.0.1\nHubKeyFile = /hub\n"
#define HPEER "[Peer]\nName = s1\nKeyFile = /k1\nAllowedIPs = 10.99.0.11/32\n"

/* Every class of mistake, with the line that holds it. */
static void test_errors(void **unused)
{
	static const struct { const char *text; unsigned line; const char *says; } cases[] = {
		{ IFACE "[Bogus]\n", 5, "unknown section [Bogus]" },
		{ IFACE "[Peer\n", 5, "a section is [Interface] or [Peer]" },
		{ IFACE "Colour = blue\n" PEER, 5, "unknown key 'Colour' in [Interface]" },
		{ IFACE PEER "Port = 1\n", 8, "Port belongs in [Interface], not in [Peer]" },
		{ IFACE PEER "Tun = x\n", 8, "Tun belongs in [Interface]" },
		{ IFACE "port = 6000\n" PEER, 5, "duplicate key Port (first at line 2)" },
		{ IFACE PEER "[Peer]\nName = hq\n", 9, "duplicate peer name 'hq' (first at line 6)" },
		{ IFACE PEER "AllowedIPs = 10.0.0.0/8\n[Peer]\nName = b\nAllowedIPs = 10.1.0.0/16\n",
		  11, "10.1.0.0/16 overlaps 10.0.0.0/8 of peer hq (line 8)" },
		{ IFACE PEER "AllowedIPs = 10.99.0.0/24, 10.99.0.2\n", 8,
		  "10.99.0.2/32 overlaps 10.99.0.0/24 of peer hq" },
		{ IFACE PEER "AllowedIPs = 2001:db8::/32, 2001:db8:1::/48\n", 8, "overlaps" },
		{ IFACE PEER "AllowedIPs = 10.0.0.1/24\n", 8, "host bits set" },
		{ IFACE PEER "AllowedIPs = 10.0.0.0/33\n", 8, "bad prefix length" },
		{ IFACE PEER "AllowedIPs = 10.0.0/8\n", 8, "AllowedIPs: bad prefix" },
		{ IFACE PEER "AllowedIPs = 10.0.0.0/\n", 8, "AllowedIPs: bad prefix" },
		{ IFACE PEER "AllowedIPs = 172.16.0.0/12\n", 8, "PeerAddress 10.99.0.2 (line 4) is in "
		  "none of them" },
		{ "[Interface]\nPort = 5000\nAddress = 10.99.0.300\nPeerAddress = 10.99.0.2\n" PEER,
		  3, "Address: bad IPv4 or IPv6 address '10.99.0.300'" },
		{ IFACE PEER "Remote = 192.0.2.1, 192.0.2\n", 8, "Remote: bad address '192.0.2'" },
		{ IFACE PEER "Remote = 192.0.2.1, 192.0.2.1\n", 8, "address 192.0.2.1 given twice" },
		{ IFACE PEER "Remote = 192.0.2.1,,192.0.2.2\n", 8, "an empty item in the list" },
		{ "[Interface]\nPort = 70000\nAddress = 10.99.0.1\nPeerAddress = 10.99.0.2\n" PEER,
		  2, "Port: bad port '70000' (1-65535)" },
		{ IFACE "MTU = 100\n" PEER, 5, "MTU: bad MTU '100'" },
		{ IFACE "Rekey = 121\n" PEER, 5, "Rekey: bad interval '121'" },
		{ IFACE "Tun = a/b\n" PEER, 5, "Tun: bad interface name" },
		{ IFACE "Scheduler = nosuch\n" PEER, 5, "Scheduler: unknown scheduler 'nosuch'" },
		{ IFACE "Scheduler = list\n" PEER, 5, "'list' is not a scheduler" },
		{ IFACE "Verbosity = loud\n" PEER, 5, "not quiet, normal or verbose" },
		{ IFACE "Tun =\n" PEER, 5, "Tun: empty value" },
		{ "[Interface]\nAddress = 10.99.0.1\nPeerAddress = 10.99.0.2\n" PEER, 1,
		  "[Interface] without Port" },
		{ "\n[Interface]\nPort = 1\nPeerAddress = 10.99.0.2\n" PEER, 2,
		  "[Interface] without Address" },
		{ "[Interface]\nPort = 1\nAddress = 10.99.0.2\n" PEER, 1, "without PeerAddress" },
		{ IFACE "[Peer]\nKeyFile = /k\n", 5, "[Peer] without Name" },
		{ IFACE "[Peer]\nName = hq\n", 5, "no key: KeyFile, SecretFile or Key" },
		{ IFACE, 1, "no [Peer] section" },
		{ PEER, 1, "no [Interface] section" },
		{ IFACE PEER "[Peer]\nName = b\nKeyFile = /b\n", 8, "more than one [Peer]: a hub "
		  "names its static key in [Interface] HubKeyFile" },
		/* a hub's file */
		{ HUB "PeerAddress = 10.99.0.2\n" HPEER, 5, "PeerAddress: not in a hub's [Interface]" },
		{ HUB "KeyFile = /k\n[Peer]\nName = s1\nAllowedIPs = 10.1.0.0/16\n", 5, "KeyFile: not in a hub's [Interface] (each [Peer] "
		  "has its own" },
		{ HUB HPEER "Remote = 192.0.2.1\n", 9, "Remote: not in a hub's [Peer]" },
		{ HUB HPEER "Local = 192.0.2.1\n", 9, "Local: not in a hub's [Peer]" },
		{ HUB "[Peer]\nName = a\nSecretFile = /s\nAllowedIPs = 10.1.0.0/16\n", 7,
		  "SecretFile: not in a hub's [Peer] (a hub's peers take KeyFile or Key)" },
		{ HUB "[Peer]\nName = a\nAllowedIPs = 10.1.0.0/16\n", 5, "[Peer] a without KeyFile "
		  "or Key" },
		{ HUB "[Peer]\nName = a\nKeyFile = /a\n", 5, "[Peer] a without AllowedIPs" },
		{ "[Interface]\nPort = 1\nHubKeyFile = /h\n" HPEER, 1, "[Interface] without "
		  "Address" },
		{ IFACE PEER "HubPublicKey = AAAA\n", 8, "HubPublicKey: " },
		{ IFACE IFACE, 5, "[Interface] given twice (first at line 1)" },
		{ "Port = 1\n" IFACE, 1, "'Port' outside a section" },
		{ IFACE "Port 5000\n", 5, "expected `Key = value`" },
		{ IFACE "= 5000\n", 5, "expected `Key = value`" },
		{ IFACE PEER "Key = " KEY_B64 "\n", 8, "Key and KeyFile (line 7) both given" },
		{ IFACE "KeyFile = /k\n" PEER, 8, "KeyFile: [Interface] has a key too (line 5)" },
		{ IFACE PEER "SecretFile = /s\n", 8, "SecretFile and KeyFile (line 7) both given" },
		{ IFACE "[Peer]\nName = hq\nKey = c2VjcmV0\n", 7, "Key: text, but not a 32-byte key" },
		{ IFACE PEER "Name = x\n", 8, "duplicate key Name (first at line 6)" },
		{ IFACE "[Peer]\nName = h q\n", 6, "bad peer name 'h q'" },
		{ IFACE "Listen = 192.0.2.1\n[Peer]\nName = hq\nKeyFile = /k\nRemote = 192.0.2.9\n",
		  5, "Listen is a server's" },
		{ IFACE PEER "Local = 192.0.2.1\n", 8, "Local is a client's uplinks and needs Remote" },
		{ IFACE "StatusGroup = adm\n" PEER, 1, "--status-group without --status" },
		{ IFACE "Metrics = 9469\n" PEER, 5, "Metrics: bad address '9469'" },
		{ "[Interface]\nPort = 1\nAddress = 10.99.0.2\nPeerAddress = 10.99.0.2\n" PEER, 1,
		  "-v and -t are the same address" },
		{ IFACE "Salt = x\n" PEER, 1, "--salt is for a secret" },
		{ IFACE "Tun = caf\xc3\n" PEER, 5, "not UTF-8" },
		{ IFACE "Tun = \xc0\xaf\n" PEER, 5, "not UTF-8" },	/* overlong '/' */
		{ IFACE "Tun = \xed\xa0\x80\n" PEER, 5, "not UTF-8" },	/* a surrogate */
		{ IFACE "Tun = a\x01\n" PEER, 5, "control character" },
	};
	struct conffile cf;
	struct config c;
	char want[64];

	(void)unused;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		assert_int_equal(load(&cf, &c, cases[k].text, strlen(cases[k].text)), -EINVAL);
		snprintf(want, sizeof(want), "t.conf:%u: ", cases[k].line);
		if (strncmp(err, want, strlen(want)) || !strstr(err, cases[k].says))
			fail_msg("case %zu said '%s', expected '%s%s'", k, err, want, cases[k].says);
		assert_null(strchr(err, '\n'));
		conffile_free(&cf);
	}
}

static void expect(const char *text, size_t len, const char *says)
{
	struct conffile cf;
	struct config c;

	assert_int_equal(load(&cf, &c, text, len), -EINVAL);
	if (!strstr(err, says))
		fail_msg("said '%s', expected '%s'", err, says);
	assert_null(strchr(err, '\n'));
}

/* A NUL byte and a line too long, which the table's strings cannot hold. */
static void test_bytes_and_lengths(void **unused)
{
	static const char nul[] = IFACE "Tun = a\0b\n" PEER;
	char *big = malloc(4096);
	size_t n;

	(void)unused;
	assert_non_null(big);
	expect(nul, sizeof(nul) - 1, "t.conf:5: NUL byte");
	n = (size_t)snprintf(big, 4096, IFACE "# ");
	memset(big + n, 'x', CONFFILE_MAX_LINE - 1);
	n += CONFFILE_MAX_LINE - 1;
	memcpy(big + n, "\n" PEER, sizeof("\n" PEER));
	expect(big, strlen(big), "t.conf:5: line too long (more than 1024 bytes)");
	/* one byte less is a line, as long as allowed */
	memmove(big + n - 1, big + n, strlen(big + n) + 1);
	{
		struct conffile cf;
		struct config c;

		assert_int_equal(load(&cf, &c, big, strlen(big)), 0);
		conffile_free(&cf);
		/* and with CRLF: the CR is not the line's */
		memmove(big + n, big + n - 1, strlen(big + n - 1) + 1);
		big[n - 1] = '\r';
		assert_int_equal(load(&cf, &c, big, strlen(big)), 0);
		conffile_free(&cf);
	}
	free(big);
}

/* The parsed form holds 1024 peers (with their prefixes) and refuses a 1025th; applying it
 * refuses all but one without HubKeyFile, naming the second, and takes them all with it. */
static void test_many_peers(void **unused)
{
	size_t cap = 200 * 1026, n;
	char *text = malloc(cap);
	struct conffile cf;
	struct config c;

	(void)unused;
	assert_non_null(text);
	n = (size_t)snprintf(text, cap, IFACE);
	for (int k = 0; k < CONFFILE_MAX_PEERS; k++)
		n += (size_t)snprintf(text + n, cap - n, "[Peer]\nName = site%d\nKeyFile = /k%d\n"
				      "AllowedIPs = 10.%d.%d.0/24\n", k, k, k / 256, k % 256);
	assert_int_equal(conffile_parse(&cf, "t.conf", text, n, err, sizeof(err)), 0);
	assert_int_equal(cf.npeer, CONFFILE_MAX_PEERS);
	assert_int_equal(cf.nprefix, CONFFILE_MAX_PEERS);
	assert_string_equal(cf.peer[1023].key[CF_NAME].text, "site1023");
	assert_int_equal(conffile_apply(&cf, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.conf:9: more than one [Peer]: a hub names its static key in "
			    "[Interface] HubKeyFile (mptun genkey FILE; its sites give mptun pubkey "
			    "FILE as HubPublicKey)");
	conffile_free(&cf);
	/* a hub: no PeerAddress, its static key, every peer with its own key and prefixes */
	n = (size_t)snprintf(text, cap, "[Interface]\nPort = 5000\nAddress = 10.99.0.1\n"
			     "HubKeyFile = /hub\n");
	for (int k = 0; k < CONFFILE_MAX_PEERS; k++)
		n += (size_t)snprintf(text + n, cap - n, "[Peer]\nName = site%d\nKeyFile = /k%d\n"
				      "AllowedIPs = 10.%d.%d.0/24\n", k, k, k / 256, k % 256);
	assert_int_equal(conffile_parse(&cf, "t.conf", text, n, err, sizeof(err)), 0);
	assert_int_equal(conffile_apply(&cf, &c, err, sizeof(err)), 0);
	assert_string_equal(c.hub_key_file, "/hub");
	assert_int_equal(c.npeers, CONFFILE_MAX_PEERS);
	assert_string_equal(c.peers[1023].name, "site1023");
	assert_string_equal(c.peers[1023].key_file, "/k1023");
	assert_int_equal(c.peers[1023].nallowed, 1);
	assert_int_equal(c.peers[1023].allowed[0].addr[1], 3);
	assert_false(c.have_tun_peer);
	conffile_free(&cf);
	n += (size_t)snprintf(text + n, cap - n, "[Peer]\nName = one-more\n");
	assert_int_equal(conffile_parse(&cf, "t.conf", text, n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 1024 [Peer] sections"));
	free(text);
}

/* The files a configuration names, and the configuration file itself, through the real file
 * system: missing, readable by others, not a key. */
static void test_files(void **unused)
{
	char dir[] = "/tmp/test_conffile.XXXXXX";
	char conf[128], key[128], text[512], want[512];
	struct conffile cf;
	struct config c;
	FILE *fp;

	(void)unused;
	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/m.conf", dir);
	snprintf(key, sizeof(key), "%s/m.key", dir);
	snprintf(text, sizeof(text), IFACE "[Peer]\nName = hq\nKeyFile = %s\n", key);
	fp = fopen(conf, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);

	/* the key file missing */
	assert_int_equal(conffile_load(&cf, conf, &c, false, err, sizeof(err)), 0);
	conffile_free(&cf);
	assert_true(conffile_load(&cf, conf, &c, true, err, sizeof(err)) < 0);
	snprintf(want, sizeof(want), "%s:7: KeyFile %s: No such file", conf, key);
	if (strncmp(err, want, strlen(want)))
		fail_msg("said '%s', expected '%s'", err, want);

	/* readable by others */
	fp = fopen(key, "w");
	assert_non_null(fp);
	fputs(KEY_B64 "\n", fp);
	fclose(fp);
	assert_int_equal(chmod(key, 0640), 0);
	assert_true(conffile_load(&cf, conf, &c, true, err, sizeof(err)) < 0);
	snprintf(want, sizeof(want), "%s:7: KeyFile %s: mode 0640 gives group or others access",
		 conf, key);
	if (strncmp(err, want, strlen(want)))
		fail_msg("said '%s', expected '%s'", err, want);
	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(conffile_load(&cf, conf, &c, true, err, sizeof(err)), 0);
	assert_string_equal(c.key_file, key);
	conffile_free(&cf);

	/* a key inline only in a private file */
	fp = fopen(conf, "w");
	assert_non_null(fp);
	fputs(IFACE "[Peer]\nName = hq\nKey = " KEY_B64 "\n", fp);
	fclose(fp);
	assert_int_equal(chmod(conf, 0644), 0);
	assert_true(conffile_load(&cf, conf, &c, true, err, sizeof(err)) < 0);
	snprintf(want, sizeof(want), "%s:7: Key in a file that group or others may read (mode "
		 "0644)", conf);
	if (strncmp(err, want, strlen(want)))
		fail_msg("said '%s', expected '%s'", err, want);
	assert_int_equal(chmod(conf, 0600), 0);
	assert_int_equal(conffile_load(&cf, conf, &c, true, err, sizeof(err)), 0);
	assert_string_equal(c.key_text, KEY_B64);
	conffile_free(&cf);

	/* the file itself missing */
	unlink(conf);
	assert_true(conffile_load(&cf, conf, &c, true, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "No such file"));
	unlink(key);
	rmdir(dir);
}

/* -c on the command line: alone, never beside another option or MPTUN_SECRET. */
static void test_command_line(void **unused)
{
	char *alone[] = { "mptun", "-c", "/etc/mptun/office.conf", NULL };
	char *mixed[] = { "mptun", "-c", "/etc/mptun/office.conf", "-p", "5000", NULL };
	char *twice[] = { "mptun", "-c", "a", "--config", "b", NULL };
	char out[512];
	struct config c;

	(void)unused;
	assert_int_equal(config_parse(&c, 3, alone, NULL, out, sizeof(out)), CONFIG_OK);
	assert_string_equal(c.conf_file, "/etc/mptun/office.conf");
	assert_int_equal(config_parse(&c, 5, mixed, NULL, out, sizeof(out)), CONFIG_USAGE);
	assert_non_null(strstr(out, "holds every option: give no other (-p given)"));
	assert_int_equal(config_parse(&c, 3, alone, "s", out, sizeof(out)), CONFIG_USAGE);
	assert_non_null(strstr(out, "MPTUN_SECRET is set"));
	assert_int_equal(config_parse(&c, 5, twice, NULL, out, sizeof(out)), CONFIG_USAGE);
	assert_non_null(strstr(out, "-c given twice"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_client),
		cmocka_unit_test(test_dual_stack),
		cmocka_unit_test(test_same_as_command_line),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bytes_and_lengths),
		cmocka_unit_test(test_many_peers),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_command_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
