/* Tests of daemon/keys.c (issue 10, finding 7): what a key file may hold (genkey's base64,
 * 32 raw bytes) and what it may not (a password, text that is not base64 of 32 bytes), key
 * and secret files refused when group or others can read them, and a secret taken out of the
 * string it came in. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "daemon/keys.h"

static char err[512];

static int parse(const void *buf, size_t len, uint8_t key[AEAD_KEY_LEN])
{
	err[0] = '\0';
	return keys_parse_key(buf, len, key, err, sizeof(err));
}

static void test_parse_key(void **unused)
{
	uint8_t raw[AEAD_KEY_LEN], key[AEAD_KEY_LEN];
	char b64[sodium_base64_ENCODED_LEN(AEAD_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];
	char text[128];
	static const struct { const char *text, *says; } refused[] = {
		{ "correct-horse-battery-staple-123", "text, but not" },	/* 32 characters */
		{ "correct-horse-battery-staple-12\n", "text, but not" },	/* 31 and a newline */
		{ "p\xc3\xa4ssw\xc3\xb6rd-with-umlauts-12345678", "text, but not" },	/* UTF-8 */
		{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n", "text, but not" }, /* 31 bytes */
		{ "not base64 at all!", "text, but not" },
		{ "", "empty" },
	};

	(void)unused;
	assert_int_equal(sodium_init() < 0, 0);
	for (int i = 0; i < AEAD_KEY_LEN; i++)
		raw[i] = (uint8_t)(i * 37 + 200);	/* not text: bytes above 0x7f out of sequence */
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);

	/* what `mptun genkey` writes: base64 and a newline; CRLF and spaces around it too */
	snprintf(text, sizeof(text), "%s\n", b64);
	assert_int_equal(parse(text, strlen(text), key), 0);
	assert_memory_equal(key, raw, AEAD_KEY_LEN);
	snprintf(text, sizeof(text), "  %s\r\n", b64);
	assert_int_equal(parse(text, strlen(text), key), 0);
	assert_memory_equal(key, raw, AEAD_KEY_LEN);
	/* 32 raw bytes */
	memset(key, 0, sizeof(key));
	assert_int_equal(parse(raw, sizeof(raw), key), 0);
	assert_memory_equal(key, raw, AEAD_KEY_LEN);

	for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++) {
		assert_int_equal(parse(refused[k].text, strlen(refused[k].text), key), -EINVAL);
		if (!strstr(err, refused[k].says))
			fail_msg("'%s' said '%s', expected '%s'", refused[k].text, err,
				 refused[k].says);
		assert_null(strchr(err, '\n'));
	}
	assert_int_equal(strlen(refused[0].text), AEAD_KEY_LEN);
	assert_int_equal(strlen(refused[2].text), AEAD_KEY_LEN);
	/* binary of another length */
	assert_int_equal(parse(raw, 31, key), -EINVAL);
	assert_non_null(strstr(err, "not a 32-byte key"));
}

/* A file in a fresh directory with the given content and mode. */
static void write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_file_modes(void **unused)
{
	char dir[] = "/tmp/mptun-keys.XXXXXX", path[64], spath[64], b64[64];
	char secret[KEYS_SECRET_MAX + 1];
	uint8_t raw[AEAD_KEY_LEN], key[AEAD_KEY_LEN];
	static const mode_t loose[] = { 0644, 0640, 0604, 0660, 0602, 0610 };
	size_t len = 0;

	(void)unused;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/key", dir);
	snprintf(spath, sizeof(spath), "%s/secret", dir);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	strcat(b64, "\n");

	write_file(path, b64, strlen(b64), 0600);
	assert_int_equal(keys_read_key_file(path, key, err, sizeof(err)), 0);
	assert_memory_equal(key, raw, AEAD_KEY_LEN);
	write_file(path, b64, strlen(b64), 0400);
	assert_int_equal(keys_read_key_file(path, key, err, sizeof(err)), 0);
	for (size_t k = 0; k < sizeof(loose) / sizeof(loose[0]); k++) {
		char want[32];

		write_file(path, b64, strlen(b64), loose[k]);
		assert_int_equal(keys_read_key_file(path, key, err, sizeof(err)), -EPERM);
		snprintf(want, sizeof(want), "mode %04o", (unsigned)loose[k]);
		assert_non_null(strstr(err, want));
		assert_non_null(strstr(err, "chmod 600"));
		assert_null(strchr(err, '\n'));
	}
	/* a password in a private file is still no key */
	write_file(path, "correct-horse-battery-staple-123", 32, 0600);
	assert_int_equal(keys_read_key_file(path, key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	assert_int_equal(keys_read_key_file(dir, key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));

	/* a secret file: its content without the final newline, the same rule on its mode */
	write_file(spath, "horse battery\n", 14, 0600);
	assert_int_equal(keys_read_secret_file(spath, secret, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 13);
	assert_string_equal(secret, "horse battery");
	write_file(spath, "horse battery\n", 14, 0644);
	assert_int_equal(keys_read_secret_file(spath, secret, &len, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "mode 0644"));
	write_file(spath, "\n", 1, 0600);
	assert_int_equal(keys_read_secret_file(spath, secret, &len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty"));
	unlink(path);
	unlink(spath);
	rmdir(dir);
}

static void test_take_string(void **unused)
{
	char arg[] = "s3cret", empty[] = "", secret[KEYS_SECRET_MAX + 1];
	static char longer[KEYS_SECRET_MAX + 2];
	size_t len = 0;

	(void)unused;
	assert_int_equal(keys_take_string(arg, secret, &len), 0);
	assert_string_equal(secret, "s3cret");
	assert_int_equal(len, 6);
	for (size_t k = 0; k < sizeof(arg); k++)
		assert_int_equal(arg[k], 0);
	assert_int_equal(keys_take_string(empty, secret, &len), -EINVAL);
	memset(longer, 'x', sizeof(longer) - 1);
	assert_int_equal(keys_take_string(longer, secret, &len), -EINVAL);
	assert_int_equal(longer[0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_key),
		cmocka_unit_test(test_file_modes),
		cmocka_unit_test(test_take_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
