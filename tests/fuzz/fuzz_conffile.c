/* libFuzzer harness: the configuration file's parser (daemon/conffile.c) on arbitrary bytes,
 * then its mapping onto struct config. Neither may exit, print or read outside its input;
 * each answers 0, or -errno with one line that names the file and a line of it. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "daemon/conffile.h"
#include "daemon/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return aead_global_init();	/* libsodium's base64 decoder wants it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct conffile cf;
	struct config c;
	char err[1024];
	int rc = conffile_parse(&cf, "f.conf", (const char *)data, len, err, sizeof(err));

	if (rc == 0) {
		assert(cf.npeer <= CONFFILE_MAX_PEERS && cf.nprefix <= CONFFILE_MAX_PREFIXES);
		for (unsigned k = 0; k < cf.npeer; k++)
			assert(cf.peer[k].key[CF_NAME].text != NULL);
		rc = conffile_apply(&cf, &c, err, sizeof(err));
		if (rc == 0) {
			assert(cf.npeer == 1);
			assert(c.port != 0 && c.have_tun_addr && c.have_tun_peer);
			assert(!!c.key_file + !!c.secret_file + !!c.key_text == 1);
			assert(c.nremote <= CONFIG_MAX_ADDR && c.nlocal <= CONFIG_MAX_ADDR);
		}
	}
	assert(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (rc < 0)
		assert(!strncmp(err, "f.conf:", 7) && !strchr(err, '\n'));
	conffile_free(&cf);
	return 0;
}
