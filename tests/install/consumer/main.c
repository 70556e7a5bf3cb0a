/*
 * A program outside the tree that uses an installed Casty: built by
 * tests/install/run_install_test.cmake once through find_package(Casty) and
 * once through pkg-config. Prints "consumer ok <version>" on success and exits
 * 77 when io_uring is unavailable (the install is fine, the kernel is not).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <casty/casty.h>

int main(void)
{
    const char *version = casty_version();
    if (strcmp(version, CASTY_VERSION_STRING) != 0) {
        fprintf(stderr, "header version %s, library version %s\n", CASTY_VERSION_STRING, version);
        return 1;
    }
    if (strcmp(casty_strerror(-ETIMEDOUT), "timed out") != 0) {
        fprintf(stderr, "casty_strerror(-ETIMEDOUT) = \"%s\"\n", casty_strerror(-ETIMEDOUT));
        return 1;
    }

    casty_config cfg;
    casty_config_init(&cfg);
    cfg.shards = 1;
    casty_system *sys = NULL;
    int rc = casty_system_start(&sys, &cfg);
    if (rc == -ENOSYS) {
        printf("consumer skip: io_uring unavailable (%s)\n", casty_strerror(rc));
        return 77;
    }
    if (rc != 0) {
        fprintf(stderr, "casty_system_start: %s (%s)\n", casty_strerror(rc), casty_err_name(rc));
        return 1;
    }
    rc = casty_system_stop(sys);
    if (rc != 0) {
        fprintf(stderr, "casty_system_stop: %s (%s)\n", casty_strerror(rc), casty_err_name(rc));
        return 1;
    }

    printf("consumer ok %s\n", version);
    return 0;
}
