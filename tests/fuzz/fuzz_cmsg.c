/* libFuzzer harness: the control data of a received datagram (daemon/udp.c udp_cmsg_dst and
 * udp_cmsg_stamp), the one part of udp_recv that parses bytes. The kernel writes them, but a
 * parser is checked on any bytes: it must not read outside msg_control (ASan watches an
 * exact-size copy), at the alignment the kernel gives and one byte off it, and what it returns
 * must be consistent. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/udp.h"

static void parse(const uint8_t *data, size_t len, size_t shift)
{
	uint8_t *ctl = malloc(len + shift + 1);
	struct msghdr mh = { 0 };
	struct udp_dst dst;
	int rc;

	assert(ctl);
	memcpy(ctl + shift, data, len);
	mh.msg_control = len ? ctl + shift : NULL;
	mh.msg_controllen = len;
	rc = udp_cmsg_dst(&mh, &dst);
	assert(rc == 0 || rc == -ENOENT || rc == -EBADMSG);
	if (rc == 0)
		assert(dst.family == AF_INET || dst.family == AF_INET6);
	else
		assert(dst.family == 0);
	(void)udp_cmsg_stamp(&mh);
	free(ctl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	parse(data, len, 0);
	parse(data, len, 1);
	return 0;
}
