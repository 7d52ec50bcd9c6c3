/* conffile: `mptun -c FILE`, an INI-like file in the spirit of wg-quick: an [Interface]
 * section and one [Peer] section per site. struct conffile is the caller's (on the stack);
 * conffile_parse fills it with allocations that conffile_free releases (the text is wiped
 * first: it may hold a Key). Every string in it, and every string conffile_apply stores in a
 * struct config, points into cf->text: cf must outlive that config. Nothing here prints or
 * exits; errors are -errno and one line "FILE:LINE: reason" in err. Start-up only.
 *
 * The parsed form holds up to CONFFILE_MAX_PEERS peers. A file with HubKeyFile in [Interface]
 * is a hub's (a server for many sites): conffile_apply lists its peers in config.peers; any
 * other file has one [Peer], mapped onto the struct config as the command line's would be. */
#ifndef MPT_DAEMON_CONFFILE_H
#define MPT_DAEMON_CONFFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/config.h"

#define CONFFILE_MAX_PEERS 1024
#define CONFFILE_MAX_PREFIXES 4096	/* AllowedIPs, all peers together */
#define CONFFILE_MAX_LINE 1024		/* bytes of one line, without its newline */
#define CONFFILE_MAX_BYTES (4u << 20)	/* of the whole file */
#define CONFFILE_NAME_MAX 32		/* a peer's Name */

/* Every key of either section; conffile.c's table says which section takes it. */
enum conffile_key {
	CF_TUN, CF_PORT, CF_ADDRESS, CF_PEER_ADDRESS, CF_LISTEN, CF_SALT, CF_SCHEDULER, CF_MTU,
	CF_REKEY, CF_STATUS, CF_STATUS_GROUP, CF_METRICS, CF_USER, CF_VERBOSITY,
	CF_KEY_FILE, CF_SECRET_FILE, CF_KEY,
	CF_NAME, CF_ALLOWED_IPS, CF_REMOTE, CF_LOCAL,
	CF_HUB_KEY_FILE, CF_HUB_PUBLIC_KEY,
	CF_NKEYS
};

/* One key's value: text NULL when not given. A list (comma-separated in the file) is n
 * NUL-terminated strings one after the other, from text on. */
struct conffile_value {
	const char *text;
	unsigned n;
	unsigned line;
};

struct conffile_prefix {
	int family;		/* AF_INET or AF_INET6 */
	unsigned len;		/* prefix length in bits */
	uint8_t addr[16];	/* network address, host bits zero */
	unsigned line;
	unsigned peer;		/* index in cf->peer */
};

struct conffile_peer {
	unsigned line;		/* its [Peer] line */
	struct conffile_value key[CF_NKEYS];
	unsigned first_prefix, nprefix;	/* its AllowedIPs: cf->prefix[first_prefix...] */
};

struct conffile {
	char *path;		/* the file's name, for messages */
	char *text;		/* the file's lines, NUL-terminated in place */
	size_t text_len;
	unsigned nlines;
	unsigned interface_line;	/* 0: no [Interface] */
	struct conffile_value iface[CF_NKEYS];
	struct conffile_peer *peer;
	unsigned npeer;
	struct conffile_prefix *prefix;
	unsigned nprefix;
	bool private_mode;	/* the file is mode 0600 or stricter (conffile_read) */
	struct config_peer *cpeer;	/* a hub's peers for struct config (conffile_apply) */
};

/* Parses len bytes of buf (need not be NUL-terminated) read from path: syntax, sections, keys,
 * duplicates, peer names, AllowedIPs and their overlaps, an inline Key's form. Pure. 0, or
 * -EINVAL/-ENOMEM with one line in err (cf is then empty; conffile_free is still allowed). */
int conffile_parse(struct conffile *cf, const char *path, const char *buf, size_t len,
		   char *err, size_t errlen);
/* Reads path (at most CONFFILE_MAX_BYTES) and parses it; a Key = in a file that group or
 * others may read is refused. */
int conffile_read(struct conffile *cf, const char *path, char *err, size_t errlen);
/* Maps a parsed file onto c (config_init'ed here) through config_set, so that each option is
 * checked where the command line's is, then config_finish. More than one [Peer] needs
 * HubKeyFile (a hub); a hub's peers each have their own KeyFile or Key and no Remote. */
int conffile_apply(struct conffile *cf, struct config *c, char *err, size_t errlen);
/* Opens every KeyFile and SecretFile named (mode, form), as the daemon will at start; keys
 * read are wiped at once. */
int conffile_check_keys(const struct conffile *cf, char *err, size_t errlen);
/* A hub's peer's master key, read from its KeyFile or decoded from its Key: 0, or -errno with
 * one line "peer NAME: ..." in err. */
int conffile_peer_key(const struct config_peer *p, uint8_t key[AEAD_KEY_LEN], char *err,
		      size_t errlen);
/* conffile_read + conffile_apply + (with_keys) conffile_check_keys. */
int conffile_load(struct conffile *cf, const char *path, struct config *c, bool with_keys,
		  char *err, size_t errlen);
void conffile_free(struct conffile *cf);

#endif
