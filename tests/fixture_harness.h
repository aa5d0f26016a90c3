/* The fixture-test harness of tests/test_image.c and tests/test_data.c: check counters,
 * a temporary fixture folder and a context, with CHECK and EXPECT that print one line
 * per failed check (file and line). Include after internal.h. */
#ifndef LT_FIXTURE_HARNESS_H
#define LT_FIXTURE_HARNESS_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The test run: counters, the fixture directory and the context. */
typedef struct T {
    int checks, failed;
    char dir[512];
    lt_ctx *ctx;
} T;

/* Records one check; prints a line when it failed. */
static int check_(T *t, int ok, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static int check_(T *t, int ok, const char *file, int line, const char *fmt, ...)
{
    t->checks++;
    if (ok) return 1;
    t->failed++;
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s:%d: ", file, line);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    return 0;
}
#define CHECK(t, cond, ...) check_((t), (cond), __FILE__, __LINE__, __VA_ARGS__)

/* Checks status and that the context's message contains needle (may be NULL). */
static void expect_(T *t, const char *file, int line, lt_status got, lt_status want, const char *needle,
                    const char *what)
{
    check_(t, got == want, file, line, "%s: status %s, expected %s (message: %s)", what, lt_status_name(got),
           lt_status_name(want), lt_ctx_error(t->ctx));
    if (needle)
        check_(t, strstr(lt_ctx_error(t->ctx), needle) != NULL, file, line, "%s: message \"%s\" does not contain \"%s\"",
               what, lt_ctx_error(t->ctx), needle);
}
#define EXPECT(t, got, want, needle, what) expect_((t), __FILE__, __LINE__, (got), (want), (needle), (what))

/* Fixture path: dir/name into buf. */
static const char *fx(const T *t, char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", t->dir, name);
    return buf;
}

#endif
