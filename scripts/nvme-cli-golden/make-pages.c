/*
 * Writes the "every field set" pages of scripts/nvme-cli-golden.sh into the directory given:
 * each byte is a fixed function of its offset (so every field is non-zero and differs from its
 * neighbours, 128-bit and 32-bit fields get their high bits set), then the fields that must be
 * sane for a decoder to walk the page are set by hand (ASCII strings, NPSS, NLBAF, FLBAS, the
 * LBA formats, the error log's transport types).
 */
#include <stdio.h>
#include <string.h>

static unsigned char page[4096];

static void pattern(unsigned seed)
{
	for (unsigned i = 0; i < sizeof(page); i++)
		page[i] = (unsigned char)(i * 37u + seed * 101u + 11u);
}

static void text(unsigned offset, unsigned length, const char *value)
{
	memset(page + offset, ' ', length);
	memcpy(page + offset, value, strlen(value));
}

static int save(const char *dir, const char *name, unsigned length)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(page, 1, length, f) != length || fclose(f) != 0) {
		perror(path);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: make-pages DIR\n");
		return 2;
	}

	/* Identify Controller: ASCII identity, 4 power states with every scale and workload. */
	pattern(1);
	text(4, 20, "SYNTH-SN-0042");
	text(24, 40, "Synthetic controller, every field set");
	text(64, 8, "FW1.2.3");
	memset(page + 768, 0, 256);
	strcpy((char *)page + 768, "nqn.2026-01.io.polled-nvme:synthetic");
	page[263] = 3;
	failed |= save(argv[1], "identify-cns01.bin", 4096);

	/* Identify Namespace: 5 LBA formats, format 3 in use (extended), NPWG..NOWS valid. */
	pattern(2);
	page[24] = 0x1f;                 /* NSFEAT: every defined bit */
	page[25] = 4;                    /* NLBAF */
	page[26] = 0x13;                 /* FLBAS: format 3, extended */
	page[82] = 0;                    /* NULBAF */
	for (unsigned i = 0; i < 64; i++) {
		unsigned char *f = page + 128 + 4 * i;
		f[0] = (unsigned char)(i * 8);
		f[1] = 0;
		f[2] = (unsigned char)(9 + i % 4);
		f[3] = (unsigned char)(i % 4);
	}
	failed |= save(argv[1], "identify-cns00-nsid1.bin", 4096);

	/* NVM command set Identify Namespace (CNS 05h). */
	pattern(3);
	failed |= save(argv[1], "identify-cns05-nsid1.bin", 4096);

	/* SMART / Health: some temperature sensors absent (0). */
	pattern(4);
	page[202] = page[203] = 0;       /* sensor 2 */
	page[210] = page[211] = 0;       /* sensor 6 */
	failed |= save(argv[1], "log-02.bin", 512);

	/* Error Information: 4 entries, transport types 0..3. */
	pattern(5);
	for (unsigned i = 0; i < 4; i++)
		page[64 * i + 29] = (unsigned char)i;
	failed |= save(argv[1], "log-01.bin", 256);
	return failed;
}
