/* SPDX-License-Identifier: MIT */
/* replay_main.c: a main for the fuzz targets when they are built without libFuzzer (gcc, the ordinary build):
 * runs LLVMFuzzerTestOneInput once on every file named on the command line and on every file of every
 * directory named (sorted by name, hidden files skipped, not recursive), so the seed corpora and the crash
 * regressions run as CTests (fuzz-replay.<target>), under ASan+UBSan in the sanitizer build.
 * Exit status: 0 when at least one input ran, 1 when none did or an input could not be read. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* run_file reads path whole into an exact-size buffer (so ASan sees any read past the input) and runs it. */
static int run_file(const char *path, size_t *num_run)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    int read_error = ferror(f);
    fclose(f);
    if (buf == NULL || read_error) {
        fprintf(stderr, "replay: %s: cannot read it\n", path);
        free(buf);
        return 1;
    }
    uint8_t *exact = malloc(len > 0 ? len : 1);
    if (exact == NULL) {
        free(buf);
        return 1;
    }
    memcpy(exact, buf, len);
    free(buf);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    (void)LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    (*num_run)++;
    return 0;
}

static int select_visible(const struct dirent *de)
{
    return de->d_name[0] != '.';
}

static int run_dir(const char *dir, size_t *num_run)
{
    struct dirent **entries;
    int num = scandir(dir, &entries, select_visible, alphasort);
    if (num < 0) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    int failures = 0;
    for (int i = 0; i < num; i++) {
        char path[4096];
        int w = snprintf(path, sizeof(path), "%s/%s", dir, entries[i]->d_name);
        struct stat sb;
        if (w > 0 && (size_t)w < sizeof(path) && stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
            failures += run_file(path, num_run);
        }
        free(entries[i]);
    }
    free(entries);
    return failures;
}

int main(int argc, char **argv)
{
    size_t num_run = 0;
    int failures = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            failures += run_dir(argv[i], &num_run);
        } else {
            failures += run_file(argv[i], &num_run);
        }
    }
    printf("replay: %zu inputs run, %d unreadable\n", num_run, failures);
    return num_run > 0 && failures == 0 ? 0 : 1;
}
