/* config: the daemon's command line, parsed into a struct config that the caller owns (on the
 * stack or embedded; nothing is allocated). The 2015 tool's options keep their meaning:
 * -i tun, -p port, -v tun address, -t peer tun address, -r remote, -l local, -k secret;
 * without -r the daemon is a server. Parsing never exits and never prints: it returns
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

struct config {
	const char *tun_name;		/* -i, default "mptun0" */
	uint16_t port;			/* -p */
	struct in_addr tun_addr;	/* -v */
	struct in_addr tun_peer;	/* -t */
	bool have_tun_addr, have_tun_peer;
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
 * (one end's -v is the other's -t). */
void config_secret_salt(const struct config *c, uint8_t salt[AEAD_SALT_LEN]);
/* The usage text. */
const char *config_usage(void);
/* The tun MTU so that an outer datagram fits 1500 bytes over every outer family in use. */
unsigned config_default_mtu(const struct config *c);

#endif
