/* keys: the daemon's key material from outside the process: a key file (-K), a secret file
 * (--secret-file), and a secret taken out of argv (-k) or the environment (MPTUN_SECRET) so
 * that /proc/PID/cmdline and /proc/PID/environ no longer show it. The caller owns every buffer
 * (lock and wipe it); nothing here allocates, prints or exits: errors are -errno and one line
 * in err. Start-up only. */
#ifndef MPT_DAEMON_KEYS_H
#define MPT_DAEMON_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "core/aead.h"
#include "daemon/config.h"

/* The longest secret accepted from any source, in bytes. */
#define KEYS_SECRET_MAX CONFIG_SECRET_MAX

/* A key file's content: base64 of 32 bytes (what `mptun genkey` writes; surrounding
 * whitespace allowed), or exactly 32 bytes that are not text (not all printable UTF-8, tab
 * and newline). Anything else, a password in particular, is refused. Pure: 0, or -EINVAL with
 * the reason (without the file's name) in err. */
int keys_parse_key(const uint8_t *buf, size_t len, uint8_t key[AEAD_KEY_LEN], char *err,
		   size_t errlen);
/* Reads a key file: a regular file that neither group nor others may access, then
 * keys_parse_key. 0 or -errno, err naming the file. */
int keys_read_key_file(const char *path, uint8_t key[AEAD_KEY_LEN], char *err, size_t errlen);
/* Reads a secret file (the same rule on its mode): its content without a final newline, up to
 * KEYS_SECRET_MAX bytes, into secret (KEYS_SECRET_MAX + 1 bytes, NUL-terminated); *len its
 * length. 0 or -errno, err naming the file. */
int keys_read_secret_file(const char *path, char *secret, size_t *len, char *err,
			  size_t errlen);
/* Copies the string s (an argv element or an environment value) into secret (KEYS_SECRET_MAX
 * + 1 bytes), then overwrites s's bytes with zeros. 0, or -EINVAL if s is empty or too long
 * (s is overwritten anyway). */
int keys_take_string(char *s, char *secret, size_t *len);

#endif
