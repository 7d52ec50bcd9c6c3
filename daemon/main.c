/* mptun: the daemon's entry point. Subcommands (genkey, status), the key, signals and the
 * privilege drop; everything else is the loop's. Exit status: 0 clean stop, 1 runtime error,
 * 2 usage error. Every error is one line on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/aead.h"
#include "daemon/config.h"
#include "daemon/loop.h"
#include "daemon/status.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int die(int code, const char *fmt, const char *arg)
{
	fputs("mptun: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return code;
}

/* `mptun genkey [FILE]`: 32 random bytes, base64, mode 0600. */
static int genkey(int argc, char **argv)
{
	uint8_t key[AEAD_KEY_LEN];
	char b64[sodium_base64_ENCODED_LEN(AEAD_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];
	FILE *fp = stdout;
	int fd;

	if (argc > 3)
		return die(2, "genkey: one FILE at most (%s)", "usage: mptun genkey [FILE]");
	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key, sizeof(key));
	if (argc == 3) {
		fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return die(1, "genkey: %s", errno == EEXIST ?
				   "the file exists (remove it first: a key is never overwritten)" :
				   strerror(errno));
		fp = fdopen(fd, "w");
		if (!fp) {
			close(fd);
			return die(1, "genkey: %s", strerror(errno));
		}
	}
	fprintf(fp, "%s\n", b64);
	sodium_memzero(b64, sizeof(b64));
	if (fp != stdout && fclose(fp) != 0)
		return die(1, "genkey: %s", strerror(errno));
	return 0;
}

/* A key file holds the key as base64 (what genkey writes) or as 32 raw bytes. */
static int read_key_file(const char *path, uint8_t key[AEAD_KEY_LEN], char *err, size_t errlen)
{
	uint8_t buf[128];
	size_t n = 0, keylen = 0;
	struct stat sb;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "-K %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		close(fd);
		snprintf(err, errlen, "-K %s: not a regular file", path);
		return -1;
	}
	while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (n == AEAD_KEY_LEN) {
		memcpy(key, buf, AEAD_KEY_LEN);
		sodium_memzero(buf, sizeof(buf));
		return 0;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	if (n < sizeof(buf) &&
	    sodium_base642bin(key, AEAD_KEY_LEN, (const char *)buf, n, NULL, &keylen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) == 0 && keylen == AEAD_KEY_LEN) {
		sodium_memzero(buf, sizeof(buf));
		return 0;
	}
	sodium_memzero(buf, sizeof(buf));
	snprintf(err, errlen, "-K %s: not a 32-byte key (base64 from `mptun genkey`, or 32 raw "
		 "bytes)", path);
	return -1;
}

static int drop_privileges(const char *user, const char *status_path, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		snprintf(err, errlen, "--user %s: no such user", user);
		return -1;
	}
	if (status_path && chown(status_path, pw->pw_uid, pw->pw_gid) < 0) {
		snprintf(err, errlen, "--status %s: chown: %s", status_path, strerror(errno));
		return -1;
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		snprintf(err, errlen, "--user %s: cannot drop privileges: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errlen, "--user %s: privileges could be regained; refusing to run", user);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char out[8192];
	char err[512];
	uint8_t key[AEAD_KEY_LEN];
	struct sigaction sa = { .sa_handler = on_signal };
	struct config cfg;
	struct loop *l;
	sigset_t block;
	int rc;

	if (aead_global_init() < 0)
		return die(1, "%s", "libsodium failed to initialise");
	if (argc >= 2 && !strcmp(argv[1], "genkey"))
		return genkey(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "status")) {
		if (argc != 3)
			return die(2, "%s", "usage: mptun status PATH");
		return status_query(argv[2], err, sizeof(err)) < 0 ? die(1, "%s", err) : 0;
	}
	switch (config_parse(&cfg, argc, argv, out, sizeof(out))) {
	case CONFIG_EXIT:
		fputs(out, stdout);
		return 0;
	case CONFIG_USAGE:
		return die(2, "%s", out);
	case CONFIG_OK:
		break;
	}
	if (cfg.key_file) {
		if (read_key_file(cfg.key_file, key, err, sizeof(err)) < 0)
			return die(1, "%s", err);
	} else if (aead_key_from_secret(cfg.secret, strlen(cfg.secret), key) < 0) {
		return die(1, "%s", "-k: cannot stretch the secret (out of memory?)");
	}
	/* SIGINT/SIGTERM only stop the loop, and only arrive while it waits */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	l = loop_new(&cfg, key, err, sizeof(err));
	sodium_memzero(key, sizeof(key));
	if (!l)
		return die(1, "%s", err);
	if (cfg.user && drop_privileges(cfg.user, cfg.status_path, err, sizeof(err)) < 0) {
		loop_free(l);
		return die(1, "%s", err);
	}
	rc = loop_run(l, &stop_requested, err, sizeof(err));
	loop_free(l);
	if (rc < 0)
		return die(1, "%s", err);
	return 0;
}
