/* config: the daemon's command line, parsed into a struct config that the caller owns (on the
 * stack or embedded; nothing is allocated). The 2015 tool's options keep their meaning:
 * -i tun, -p port, -v tun address, -t peer tun address, -r remote, -l local, -k secret;
 * without -r the daemon is a server. -v and -t take an IPv4 or an IPv6 address, and may each be
 * given twice, once per family, for a dual-stack tunnel; every family in -v is in -t too. Parsing never exits and never prints: it returns
 * CONFIG_OK, CONFIG_EXIT (help, version, list: out holds the text to print) or CONFIG_USAGE
 * (out holds one line naming the problem). Each option is checked in one setter
 * (config_set), which daemon/conffile.c's `mptun -c FILE` calls too. */
#ifndef MPT_DAEMON_CONFIG_H
#define MPT_DAEMON_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/aead.h"


#define MPTUN_VERSION "0.1.0"
#define CONFIG_MAX_ADDR 16
#define CONFIG_SECRET_MAX 1024	/* bytes of a secret or a salt */
#define CONFIG_OPT_SLOTS 288	/* options by getopt value: characters, then the long ones */

enum config_result { CONFIG_OK, CONFIG_EXIT, CONFIG_USAGE };

struct conffile_prefix;

/* One peer of a hub (a configuration file's [Peer] with HubKeyFile in [Interface]). */
struct config_peer {
	const char *name;
	const char *key_file;		/* its KeyFile, or */
	const char *key_text;		/* its Key = (base64) */
	const struct conffile_prefix *allowed;	/* its AllowedIPs (the file's parsed form) */
	unsigned nallowed;
};

struct config {
	const char *tun_name;		/* -i, default "mptun0" */
	uint16_t port;			/* -p */
	struct in_addr tun_addr;	/* -v, IPv4 */
	struct in_addr tun_peer;	/* -t, IPv4 */
	bool have_tun_addr, have_tun_peer;	/* an IPv4 -v, -t given */
	struct in6_addr tun_addr6;	/* -v, IPv6 */
	struct in6_addr tun_peer6;	/* -t, IPv6 */
	bool have_tun_addr6, have_tun_peer6;	/* an IPv6 -v, -t given */
	struct sockaddr_storage remote[CONFIG_MAX_ADDR];	/* -r, port filled in */
	unsigned nremote;
	struct sockaddr_storage local[CONFIG_MAX_ADDR];		/* -l, port filled in */
	unsigned nlocal;
	char *secret;			/* -k: points into argv, which main blanks once copied */
	const char *secret_file;	/* --secret-file */
	bool secret_env;		/* the secret is MPTUN_SECRET's */
	const char *salt;		/* --salt, NULL: from the port and the inner addresses */
	const char *key_file;		/* -K */
	const char *sched;		/* --sched NAME[:ARGS], default "arrival" */
	unsigned mtu;			/* --mtu, 0: derived from the outer address family */
	const char *status_path;	/* --status */
	const char *status_group;	/* --status-group, NULL: gid 0 */
	struct sockaddr_storage metrics;	/* --metrics ADDR:PORT */
	bool have_metrics;
	const char *peer_name;		/* the label of the peer's metrics: the file's [Peer] Name,
					 * else "peer" */
	const char *user;		/* --user */
	int verbosity;			/* 0 quiet, 1 default, 2 verbose */
	unsigned rekey_s;		/* --rekey, 0: the engine's default (120 s) */
	const char *conf_file;		/* -c: every option from this file (daemon/conffile.h) */
	const char *key_text;		/* a configuration file's Key = (base64), into its text */
	/* a configuration file's AllowedIPs for its peer, into its parsed form (the caller keeps
	 * the struct conffile alive as long as this); none (the command line): no check */
	const struct conffile_prefix *allowed;
	unsigned nallowed;
	/* A hub (a server with HubKeyFile): its static key, and its peers, each with its own key
	 * and AllowedIPs (the array is the struct conffile's); key_file, key_text, allowed and
	 * peer_name above are then unused, and there is no -t (each peer's AllowedIPs are
	 * routed through the tun device instead). */
	const char *hub_key_file;
	const struct config_peer *peers;
	unsigned npeers;
	/* A client's HubPublicKey (base64): the hub's static key its INITs are sealed to; NULL:
	 * the one-peer server's, derived from the master key. */
	const char *hub_pub_text;
	bool given[CONFIG_OPT_SLOTS];	/* parsing: the options set so far ("given twice") */
};

/* argv as main gets it (argv[0] the program); env_secret the value of MPTUN_SECRET or NULL.
 * out receives any text to print (size outlen). */
enum config_result config_parse(struct config *c, int argc, char **argv, const char *env_secret,
				char *out, size_t outlen);
/* With -c FILE, config_parse returns CONFIG_OK with only conf_file set: any other option, or
 * MPTUN_SECRET, is CONFIG_USAGE (the file holds every option). */

/* Defaults, before any config_set. */
void config_init(struct config *c);
/* One option by its long name as on the command line ("port" for --port/-p; "quiet" and
 * "verbose" take value NULL), checked and stored as the command line would: CONFIG_OK, or
 * CONFIG_USAGE with one line in out. value must outlive c (pointers into it are kept). */
enum config_result config_set(struct config *c, const char *name, char *value, char *out,
			      size_t outlen);
/* After every config_set: what is required, what contradicts, the addresses' ports.
 * env_secret as for config_parse. */
enum config_result config_finish(struct config *c, const char *env_secret, char *out,
				 size_t outlen);
/* The Argon2id salt for a secret: from --salt, or else from what both ends of one tunnel
 * already share and other tunnels do not: the UDP port and the two inner addresses, sorted
 * (one end's -v is the other's -t). The salt is BLAKE2b-128 (aead_secret_salt) of a context:
 * - --salt TEXT:         "salt" NUL, TEXT;
 * - inner IPv4 only:     "port+tun" NUL, port (2 bytes, big-endian), the lower and the higher
 *                        IPv4 address (4 bytes each, network order): mptun 0.1's form, kept
 *                        byte for byte so that an IPv4 tunnel keeps its key;
 * - any inner IPv6:      "port+tun46" NUL, port (2 bytes, big-endian), then per family given,
 *                        IPv4 first: the family's byte (4 or 6), the lower and the higher
 *                        address (4 or 16 bytes, network order; IPv6 ordered as bytes).
 * The labels differ in their 9th byte (NUL or '4'), so no context of one form is one of the
 * other; a family byte ahead of each pair keeps an IPv6-only context apart from a dual-stack
 * one. Both ends must give the same families: a dual-stack end and an IPv4-only end derive
 * different keys. */
void config_secret_salt(const struct config *c, uint8_t salt[AEAD_SALT_LEN]);
/* The usage text. */
const char *config_usage(void);
/* The tun MTU so that an outer datagram fits 1500 bytes over every outer family in use (always
 * at least 1280, IPv6's minimum, which an inner IPv6 address needs). */
unsigned config_default_mtu(const struct config *c);

#endif
