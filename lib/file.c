/* Opening input files safely: only regular files are read, so a named pipe with no
 * writer (or a device) given as a model, image or CSV path cannot hang or flood us. */
#define _POSIX_C_SOURCE 200809L /* fdopen, O_NONBLOCK */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

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
