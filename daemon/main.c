/* mptun: the daemon's entry point. Subcommands (genkey, status, check), the process's hardening at
 * start (no-new-privs, inherited descriptors closed), the key, signals and the privilege drop;
 * everything else is the loop's. Exit status: 0 clean stop, 1 runtime error, 2 usage error.
 * Every error is one line on stderr. */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/aead.h"
#include "core/session.h"
#include "daemon/conffile.h"
#include "daemon/config.h"
#include "daemon/keys.h"
#include "daemon/loop.h"
#include "daemon/status.h"

static volatile sig_atomic_t stop_requested, reload_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
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

/* `mptun pubkey FILE`: the public X25519 key of a hub's static key file (HubKeyFile), base64,
 * for its sites' HubPublicKey. */
static int pubkey(int argc, char **argv)
{
	uint8_t sk[AEAD_KEY_LEN], pk[32];
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	char err[512];

	if (argc != 3)
		return die(2, "%s", "usage: mptun pubkey FILE (a hub's HubKeyFile)");
	if (keys_read_key_file(argv[2], sk, err, sizeof(err)) < 0)
		return die(1, "pubkey: %s", err);
	if (session_hub_public(sk, pk) < 0) {
		sodium_memzero(sk, sizeof(sk));
		return die(1, "pubkey: %s: not a usable X25519 key", argv[2]);
	}
	sodium_memzero(sk, sizeof(sk));
	sodium_bin2base64(b64, sizeof(b64), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
	printf("%s\n", b64);
	return 0;
}

/* Descriptors inherited from whoever started us (a shell's, a supervisor's) are not ours to
 * hold on to; 0-2 stay, and are opened on /dev/null when closed, so that no socket of ours
 * ever becomes stdout. */
static void close_inherited(void)
{
	struct dirent *d;
	DIR *dir;

	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			return;
	if (close_range(3, ~0u, 0) == 0)
		return;
	/* kernels before 5.9: walk /proc/self/fd, sparing the walk's own descriptor */
	dir = opendir("/proc/self/fd");
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		int fd = d->d_name[0] >= '0' && d->d_name[0] <= '9' ? atoi(d->d_name) : -1;

		if (fd > 2 && fd != dirfd(dir))
			close(fd);
	}
	closedir(dir);
}

/* The master key from whichever source the command line names. A secret is taken out of
 * argv or the environment first (so that /proc/PID/cmdline and environ stop showing it), then
 * stretched. key and secret are the caller's (locked) buffers. */
static int load_key(const struct config *cfg, char *env_secret, uint8_t key[AEAD_KEY_LEN],
		    char secret[KEYS_SECRET_MAX + 1], char *err, size_t errlen)
{
	uint8_t salt[AEAD_SALT_LEN];
	size_t len = 0;
	int rc;

	if (cfg->key_file)
		return keys_read_key_file(cfg->key_file, key, err, errlen);
	if (cfg->key_text)
		return keys_parse_key((const uint8_t *)cfg->key_text, strlen(cfg->key_text), key,
				      err, errlen);
	if (cfg->secret_file)
		rc = keys_read_secret_file(cfg->secret_file, secret, &len, err, errlen);
	else
		rc = keys_take_string(cfg->secret_env ? env_secret : cfg->secret, secret,
				      &len);
	if (rc < 0) {
		if (!cfg->secret_file)
			snprintf(err, errlen, "%s: no usable secret", cfg->secret_env ?
				 "MPTUN_SECRET" : "-k");
		return rc;
	}
	config_secret_salt(cfg, salt);
	if (aead_key_from_secret(secret, len, salt, key) < 0) {
		snprintf(err, errlen, "cannot stretch the secret: Argon2id needs %u MiB (out of "
			 "memory?)", AEAD_PWHASH_MEMLIMIT >> 20);
		return -ENOMEM;
	}
	return 0;
}

/* `mptun check [--no-keys] -c FILE`: the file as the daemon would take it, key files opened
 * and read (not with --no-keys), nothing started. */
static int check(int argc, char **argv)
{
	const char *path = NULL;
	bool with_keys = true;
	struct conffile cf;
	struct config cfg;
	char err[1024];

	for (int k = 2; k < argc; k++) {
		if (!strcmp(argv[k], "--no-keys") && with_keys)
			with_keys = false;
		else if ((!strcmp(argv[k], "-c") || !strcmp(argv[k], "--config")) && !path &&
			 k + 1 < argc)
			path = argv[++k];
		else
			return die(2, "%s", "usage: mptun check [--no-keys] -c FILE");
	}
	if (!path)
		return die(2, "%s", "usage: mptun check [--no-keys] -c FILE");
	if (conffile_load(&cf, path, &cfg, with_keys, err, sizeof(err)) < 0)
		return die(2, "%s", err);
	printf("%s: ok (%u peer%s)\n", path, cf.npeer, cf.npeer == 1 ? "" : "s");
	conffile_free(&cf);
	return 0;
}

static int drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		snprintf(err, errlen, "--user %s: no such user", user);
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
	char secret[KEYS_SECRET_MAX + 1];
	uint8_t key[AEAD_KEY_LEN];
	struct sigaction sa = { .sa_handler = on_signal };
	char *env_secret;
	struct conffile cf = { 0 };
	struct config cfg;
	struct loop *l;
	sigset_t block;
	bool locked;
	int rc;

	/* every large block (an engine, a peer's buffers) straight from mmap: its pages are
	 * resident only once written, so a hub's idle peers cost little; glibc's sliding
	 * threshold would otherwise serve them from the heap, whose growth it zeroes */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	/* no exec of ours may ever gain privileges; nothing inherited stays open */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return die(1, "cannot set no-new-privs: %s", strerror(errno));
	close_inherited();
	if (aead_global_init() < 0)
		return die(1, "%s", "libsodium failed to initialise");
	if (argc >= 2 && !strcmp(argv[1], "genkey"))
		return genkey(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "pubkey"))
		return pubkey(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "check"))
		return check(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "status")) {
		bool json = argc == 4 && !strcmp(argv[2], "--json");

		if (argc != 3 + json || argv[2 + json][0] == '-')
			return die(2, "%s", "usage: mptun status [--json] PATH (a table, or the JSON "
				   "document)");
		return status_query(argv[2 + json], json, err, sizeof(err)) < 0 ?
		       die(1, "%s", err) : 0;
	}
	env_secret = getenv("MPTUN_SECRET");
	switch (config_parse(&cfg, argc, argv, env_secret, out, sizeof(out))) {
	case CONFIG_EXIT:
		fputs(out, stdout);
		return 0;
	case CONFIG_USAGE:
		return die(2, "%s", out);
	case CONFIG_OK:
		break;
	}
	/* -c FILE: every option from the file; its mistakes are usage errors, key files too */
	if (cfg.conf_file && conffile_load(&cf, cfg.conf_file, &cfg, true, err, sizeof(err)) < 0)
		return die(2, "%s", err);
	/* keys stay out of swap and core dumps where the system allows; not fatal elsewhere */
	locked = sodium_mlock(key, sizeof(key)) == 0 && sodium_mlock(secret, sizeof(secret)) == 0;
	/* a hub: its static key here, its peers' keys when the loop opens them */
	if (cfg.hub_key_file)
		rc = keys_read_key_file(cfg.hub_key_file, key, err, sizeof(err));
	else
		rc = load_key(&cfg, env_secret, key, secret, err, sizeof(err));
	sodium_munlock(secret, sizeof(secret));	/* wipes it */
	if (cfg.key_text)	/* a file's Key = : its text is read */
		sodium_memzero((char *)cfg.key_text, strlen(cfg.key_text));
	if (env_secret) {
		sodium_memzero(env_secret, strlen(env_secret));
		unsetenv("MPTUN_SECRET");
	}
	if (rc < 0) {
		sodium_munlock(key, sizeof(key));
		return die(1, "%s", err);
	}
	if (!locked && cfg.verbosity > 1)
		fputs("mptun: cannot lock the key in memory (RLIMIT_MEMLOCK?); going on\n", stderr);

	/* SIGINT/SIGTERM only stop the loop, SIGHUP asks a hub to reload its file; they only
	 * arrive while it waits */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	l = loop_new(&cfg, key, err, sizeof(err));
	sodium_munlock(key, sizeof(key));	/* wipes it */
	if (!l)
		return die(1, "%s", err);
	if (cfg.user && drop_privileges(cfg.user, err, sizeof(err)) < 0) {
		loop_free(l);
		return die(1, "%s", err);
	}
	rc = loop_run(l, &stop_requested, &reload_requested, err, sizeof(err));
	loop_free(l);
	conffile_free(&cf);	/* after the loop: cfg's strings point into it */
	if (rc < 0)
		return die(1, "%s", err);
	return 0;
}
