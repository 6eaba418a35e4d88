/*
 * libFuzzer target: the configuration loader (libconfig plus the option
 * table's checks), fed through a temporary file as effortd reads one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static char path[] = "/tmp/effortd-fuzz-config.XXXXXX";
	static int fd = -1;
	struct config cfg;
	char err[512];

	/* @include reads other files (even /dev/zero): configuration is
	 * trusted input, so the loader is fuzzed without it. */
	if (memmem(data, len, "@include", 8) != NULL)
		return 0;
	if (fd < 0 && (fd = mkstemp(path)) < 0)
		abort();
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, len, 0) != (ssize_t)len)
		abort();
	if (config_load(path, &cfg, err, sizeof err) == 0) {
		free(config_rules_json(&cfg));
		config_free(&cfg);
	}
	return 0;
}
