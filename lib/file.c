/* Opening input files safely: only regular files are read, so a named pipe with no
 * writer (or a device) given as a model, image or CSV path cannot hang or flood us. */
#define _POSIX_C_SOURCE 200809L /* fdopen, O_NONBLOCK */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "interop.h"

FILE *lt_fopen_regular(lt_ctx *ctx, const char *path, lt_status *st)
{
    /* O_NONBLOCK so the open itself cannot wait for a pipe's writer; the type is then
     * checked on the open descriptor, not on the name, so it cannot change between. */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        *st = lt_set_error(ctx, LT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int dir = S_ISDIR(sb.st_mode);
        close(fd);
        *st = lt_set_error(ctx, LT_ERR_IO, "%s: cannot read: %s", path,
                           dir ? "it is a folder" : "not a regular file (a pipe or a device)");
        return NULL;
    }
    int flags = fcntl(fd, F_GETFL);
    FILE *f = flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ? NULL : fdopen(fd, "rb");
    if (!f) {
        *st = lt_set_error(ctx, LT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    *st = LT_OK;
    return f;
}

lt_status lt_read_file(lt_ctx *ctx, const char *path, size_t max, lt_bytes *b)
{
    lt_status st = LT_OK;
    b->data = NULL;
    b->len = 0;
    FILE *f = lt_fopen_regular(ctx, path, &st);
    if (!f) return st;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        fclose(f);
        return lt_set_error(ctx, LT_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    }
    if ((unsigned long long)sb.st_size > max) {
        fclose(f);
        return lt_set_error(ctx, LT_ERR_FORMAT, "%s: %lld bytes, more than the %zu this reader takes", path,
                            (long long)sb.st_size, max);
    }
    size_t n = (size_t)sb.st_size;
    b->data = malloc(n ? n : 1);
    if (!b->data) {
        fclose(f);
        return lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of host memory for its %zu bytes", path, n);
    }
    size_t got = fread(b->data, 1, n, f);
    int err = ferror(f);
    fclose(f);
    if (got != n || err) {
        free(b->data);
        b->data = NULL;
        return lt_set_error(ctx, LT_ERR_IO, "%s: read %zu of its %zu bytes", path, got, n);
    }
    b->len = n;
    return LT_OK;
}
