/*
 * Replays fuzz inputs through a target's LLVMFuzzerTestOneInput without
 * libFuzzer, so that the committed corpora run in ordinary ctest under any
 * compiler (label fuzz_replay), and so that a reproducer can be run under gdb.
 *
 *   replay PATH...   each PATH is a file, or a directory whose regular files
 *                    are replayed in name order. Exit 0 if every input ran
 *                    (a failed check aborts), 1 on a usage or I/O error.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define INPUT_MAX (1u << 20) /* larger than any target's -max_len */

static int replay_file(const char *path, uint8_t *buf)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t n = fread(buf, 1, INPUT_MAX, f);
    int err = ferror(f);
    fclose(f);
    if (err) {
        perror(path);
        return -1;
    }
    /* An exact-size copy, so that ASan sees a read past the end of the input. */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact)
        return -1;
    memcpy(exact, buf, n);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_dir(const char *dir, uint8_t *buf, unsigned *count)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, by_name);
    if (n < 0) {
        perror(dir);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            rc = replay_file(path, buf);
            (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 1;
    }
    uint8_t *buf = malloc(INPUT_MAX);
    if (!buf)
        return 1;
    unsigned count = 0;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            rc = replay_dir(argv[i], buf, &count);
        } else {
            rc = replay_file(argv[i], buf);
            count++;
        }
    }
    free(buf);
    if (rc == 0 && count == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        return 1;
    }
    printf("replay: %u inputs ran\n", count);
    return rc == 0 ? 0 : 1;
}
