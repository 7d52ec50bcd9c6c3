/* libFuzzer harness: the daemon's own parsers on arbitrary bytes. The bytes, split at NUL bytes,
 * are a command line for config_parse (a last piece "MPTUN_SECRET=..." is the environment's
 * secret instead); the same bytes are a key file's content for keys_parse_key. Neither may
 * exit, print, or read outside its input; each answers with a result and at most one line. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "daemon/keys.h"

#define MAX_ARGS 128
#define ENV_PREFIX "MPTUN_SECRET="

static void check_config(const uint8_t *data, size_t len)
{
	char out[8192];
	char *copy = malloc(len + 1), *argv[MAX_ARGS + 2], *env = NULL;
	uint8_t salt[AEAD_SALT_LEN];
	struct config c;
	int argc = 0;
	size_t start = 0;

	if (!copy)
		return;
	memcpy(copy, data, len);
	copy[len] = '\0';
	argv[argc++] = "mptun";
	for (size_t k = 0; k <= len && argc <= MAX_ARGS; k++)
		if (copy[k] == '\0') {
			argv[argc++] = copy + start;
			start = k + 1;
		}
	if (argc > 1 && !strncmp(argv[argc - 1], ENV_PREFIX, strlen(ENV_PREFIX)))
		env = argv[--argc] + strlen(ENV_PREFIX);
	argv[argc] = NULL;

	switch (config_parse(&c, argc, argv, env, out, sizeof(out))) {
	case CONFIG_OK:
		/* inner addresses: one pair per family given, never the same address twice */
		assert(c.port != 0 && (c.have_tun_addr || c.have_tun_addr6));
		assert(c.have_tun_addr == c.have_tun_peer && c.have_tun_addr6 == c.have_tun_peer6);
		assert(!c.have_tun_addr || c.tun_addr.s_addr != c.tun_peer.s_addr);
		assert(!c.have_tun_addr6 || memcmp(&c.tun_addr6, &c.tun_peer6, 16) != 0);
		assert(!c.have_tun_addr6 || !c.mtu || c.mtu >= 1280);
		assert(!!c.secret + !!c.key_file + !!c.secret_file + c.secret_env == 1);
		assert(c.nremote <= CONFIG_MAX_ADDR && c.nlocal <= CONFIG_MAX_ADDR);
		assert(config_default_mtu(&c) >= 576 && config_default_mtu(&c) <= 1500);
		config_secret_salt(&c, salt);
		break;
	case CONFIG_USAGE:
		/* one line naming the problem */
		assert(out[0] != '\0' && !strchr(out, '\n'));
		break;
	case CONFIG_EXIT:
		assert(out[0] != '\0');
		break;
	default:
		assert(0);
	}
	free(copy);
}

static void check_key(const uint8_t *data, size_t len)
{
	uint8_t key[AEAD_KEY_LEN];
	char err[256] = "";
	int rc = keys_parse_key(data, len, key, err, sizeof(err));

	assert(rc == 0 || rc == -EINVAL);
	if (rc < 0)
		assert(err[0] != '\0' && !strchr(err, '\n'));
	else
		assert(len >= AEAD_KEY_LEN);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return aead_global_init();	/* libsodium's base64 decoder wants it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	check_config(data, len);
	check_key(data, len);
	return 0;
}
