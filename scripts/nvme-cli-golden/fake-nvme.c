/*
 * LD_PRELOAD shim for scripts/nvme-cli-golden.sh: answers nvme-cli's admin ioctls from page
 * files, so the real nvme-cli decodes pages that pnvme decodes too (tests/data/nvme-cli).
 *
 *   Identify CNS c, NSID n  -> $FAKE_NVME_DIR/identify-cns<cc>-nsid<n>.bin, else identify-cns<cc>.bin
 *   Get Log Page LID l      -> $FAKE_NVME_DIR/log-<ll>.bin, from the command's offset (LPO)
 *   anything else           -> Invalid Command Opcode; a missing file -> Invalid Field
 *
 * The device given to nvme is a symlink to /dev/null (a character device, which nvme-cli checks);
 * NVME_IOCTL_ID fails with ENOTTY as on a controller node, every other ioctl goes to libc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/nvme_ioctl.h>

#define SC_INVALID_OPCODE 0x4001
#define SC_INVALID_FIELD 0x4002

static int load(const char *name, void *dst, unsigned len, unsigned long long offset)
{
	const char *dir = getenv("FAKE_NVME_DIR");
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : ".", name);
	f = fopen(path, "rb");
	if (!f)
		return -1;
	memset(dst, 0, len);
	if (fseek(f, (long)offset, SEEK_SET) == 0 && fread(dst, 1, len, f) == 0 && ferror(f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static int admin(struct nvme_passthru_cmd64 *c)
{
	void *data = (void *)(uintptr_t)c->addr;
	char name[128];

	switch (c->opcode) {
	case 0x06:
		snprintf(name, sizeof(name), "identify-cns%02x-nsid%u.bin", c->cdw10 & 0xff, c->nsid);
		if (load(name, data, c->data_len, 0) == 0)
			return 0;
		snprintf(name, sizeof(name), "identify-cns%02x.bin", c->cdw10 & 0xff);
		return load(name, data, c->data_len, 0) == 0 ? 0 : SC_INVALID_FIELD;
	case 0x02:
		snprintf(name, sizeof(name), "log-%02x.bin", c->cdw10 & 0xff);
		return load(name, data, c->data_len, c->cdw12 | (unsigned long long)c->cdw13 << 32) == 0 ? 0 : SC_INVALID_FIELD;
	default:
		fprintf(stderr, "fake-nvme: admin opcode %02x is not answered\n", c->opcode);
		return SC_INVALID_OPCODE;
	}
}

int ioctl(int fd, unsigned long request, ...)
{
	int (*real)(int, unsigned long, ...);
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (request == NVME_IOCTL_ADMIN_CMD) {
		struct nvme_passthru_cmd *c = arg;
		struct nvme_passthru_cmd64 c64 = { 0 };
		int status;

		memcpy(&c64, c, offsetof(struct nvme_passthru_cmd, result));
		status = admin(&c64);
		c->result = 0;
		return status;
	}
	if (request == NVME_IOCTL_ADMIN64_CMD) {
		struct nvme_passthru_cmd64 *c = arg;

		c->result = 0;
		return admin(c);
	}
	if (request == NVME_IOCTL_ID) {
		errno = ENOTTY;
		return -1;
	}
	real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	return real(fd, request, arg);
}
