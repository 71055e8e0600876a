/* The test drivers' one way to check: CHECK(cond, what) counts a check and, when cond is
 * false, counts a failure and prints "FAIL what (file:line)"; CHECK_IN(cond, what, name)
 * names the case it belongs to (a vector, a transcript): "FAIL name: what (file:line)".
 * Each driver prints `checks` and `failures` at the end and fails when any check did.
 *
 * Host test code: <stdio.h>, which the core itself never uses. */
#ifndef EA_TEST_CHECK_H
#define EA_TEST_CHECK_H

#include <stdio.h>

static int failures;
static int checks;

static void check_at(int ok, const char *name, const char *what, const char *file, int line)
{
    checks++;
    if (ok) {
        return;
    }
    failures++;
    if (name != NULL) {
        printf("FAIL %s: %s (%s:%d)\n", name, what, file, line);
    } else {
        printf("FAIL %s (%s:%d)\n", what, file, line);
    }
}

#define CHECK(cond, what) check_at((cond) != 0, NULL, (what), __FILE__, __LINE__)
#define CHECK_IN(cond, what, name) check_at((cond) != 0, (name), (what), __FILE__, __LINE__)

#endif
