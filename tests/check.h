/* A minimal test harness: CHECK counts and reports, DONE prints the tally and gives the
 * exit code. Every test program runs its checks and ends with `return DONE();`. */
#ifndef LT_CHECK_H
#define LT_CHECK_H
#include <stdio.h>

static int check_pass_, check_fail_;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (cond) {                                                           \
            check_pass_++;                                                    \
        } else {                                                              \
            check_fail_++;                                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                       \
            printf(__VA_ARGS__);                                              \
            printf("\n");                                                     \
        }                                                                     \
    } while (0)

#define DONE() (printf("%d checks passed, %d failed\n", check_pass_, check_fail_), check_fail_ ? 1 : 0)
#endif
