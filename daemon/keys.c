/* keys: key files and secrets. A key file that group or others can read is refused, as ssh
 * refuses such a private key: a key anyone on the host can copy protects nothing. A 32-byte
 * text file is a password, not a key: taking it as raw key bytes would hide that it is weak. */
#include "daemon/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define KEY_FILE_MAX 128

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Text: printable ASCII, tab, CR, LF, and well-formed UTF-8 sequences. 32 random bytes are
 * text with a probability below 1e-12. */
static bool is_text(const uint8_t *buf, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		uint8_t c = buf[k];
		size_t more;

		if (c < 0x80) {
			if ((c < 0x20 && !is_space(c)) || c == 0x7f)
				return false;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			more = 1;
		else if (c >= 0xe0 && c <= 0xef)
			more = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			more = 3;
		else
			return false;
		if (len - k - 1 < more)
			return false;
		for (size_t m = 1; m <= more; m++)
			if ((buf[k + m] & 0xc0) != 0x80)
				return false;
		k += more;
	}
	return true;
}

int keys_parse_key(const uint8_t *buf, size_t len, uint8_t key[AEAD_KEY_LEN], char *err,
		   size_t errlen)
{
	size_t start = 0, end = len, keylen = 0;

	if (len == 0) {
		snprintf(err, errlen, "empty (`mptun genkey FILE` writes a key)");
		return -EINVAL;
	}
	if (len == AEAD_KEY_LEN && !is_text(buf, len)) {
		memcpy(key, buf, AEAD_KEY_LEN);
		return 0;
	}
	if (!is_text(buf, len)) {
		snprintf(err, errlen, "not a 32-byte key (base64 from `mptun genkey`, or 32 raw "
			 "bytes): %zu bytes of binary", len);
		return -EINVAL;
	}
	while (start < end && is_space(buf[start]))
		start++;
	while (end > start && is_space(buf[end - 1]))
		end--;
	if (end > start &&
	    sodium_base642bin(key, AEAD_KEY_LEN, (const char *)buf + start, end - start, NULL,
			      &keylen, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    keylen == AEAD_KEY_LEN)
		return 0;
	sodium_memzero(key, AEAD_KEY_LEN);
	snprintf(err, errlen, "text, but not a 32-byte key in base64 (`mptun genkey FILE` writes "
		 "one); a password belongs in --secret-file or -k");
	return -EINVAL;
}

/* Reads a whole private file (regular, no access for group or others) of at most cap bytes. */
static int read_private(const char *opt, const char *path, uint8_t *buf, size_t cap, size_t *n,
			char *err, size_t errlen)
{
	struct stat sb;
	ssize_t r = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int rc = 0;

	*n = 0;
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s %s: %s", opt, path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s %s: %s", opt, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s %s: not a regular file", opt, path);
		goto out;
	}
	if (sb.st_mode & 077) {
		rc = -EPERM;
		snprintf(err, errlen, "%s %s: mode %04o gives group or others access; run chmod 600 %s",
			 opt, path, (unsigned)(sb.st_mode & 07777), path);
		goto out;
	}
	/* one byte more than cap tells a file that is too long */
	while (*n <= cap && (r = read(fd, buf + *n, cap + 1 - *n)) > 0)
		*n += (size_t)r;
	if (r < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s %s: %s", opt, path, strerror(errno));
	} else if (*n > cap) {
		rc = -EFBIG;
		snprintf(err, errlen, "%s %s: longer than %zu bytes", opt, path, cap);
	}
out:
	close(fd);
	return rc;
}

int keys_read_key_file(const char *path, uint8_t key[AEAD_KEY_LEN], char *err, size_t errlen)
{
	uint8_t buf[KEY_FILE_MAX + 1];
	char why[200];
	size_t n;
	int rc = read_private("-K", path, buf, KEY_FILE_MAX, &n, err, errlen);

	if (rc == -EFBIG) {
		snprintf(err, errlen, "-K %s: not a 32-byte key (base64 from `mptun genkey`, or 32 "
			 "raw bytes): longer than %d bytes", path, KEY_FILE_MAX);
	} else if (rc == 0) {
		rc = keys_parse_key(buf, n, key, why, sizeof(why));
		if (rc < 0)
			snprintf(err, errlen, "-K %s: %s", path, why);
	}
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

int keys_read_secret_file(const char *path, char *secret, size_t *len, char *err,
			  size_t errlen)
{
	size_t n;
	int rc;

	/* secret has KEYS_SECRET_MAX + 1 bytes: room for the final newline, then the NUL */
	rc = read_private("--secret-file", path, (uint8_t *)secret, KEYS_SECRET_MAX, &n, err,
			  errlen);
	if (rc == 0 && n && secret[n - 1] == '\n')
		n--;
	if (rc == 0 && n && secret[n - 1] == '\r')
		n--;
	if (rc == 0 && n == 0) {
		rc = -EINVAL;
		snprintf(err, errlen, "--secret-file %s: empty", path);
	}
	if (rc < 0) {
		sodium_memzero(secret, KEYS_SECRET_MAX + 1);
		return rc;
	}
	secret[n] = '\0';
	*len = n;
	return 0;
}

int keys_take_string(char *s, char *secret, size_t *len)
{
	size_t n = strlen(s);
	int rc = 0;

	if (n == 0 || n > KEYS_SECRET_MAX) {
		rc = -EINVAL;
	} else {
		memcpy(secret, s, n);
		secret[n] = '\0';
		*len = n;
	}
	sodium_memzero(s, n);
	return rc;
}
