/* HDF5 through libhdf5 for the Keras reader, with libhdf5 kept at arm's length.
 *
 * Debian 12's libhdf5 (1.10.8) is not safe on hostile files: fuzz_keras made it loop
 * forever, copy past a buffer and dereference a wild pointer within minutes, all in
 * its global heap (where variable-length strings live). So latent never lets it parse
 * an untrusted file in the calling process: lt_h5_snapshot_image forks a child that
 * opens the file image with libhdf5, walks every object and writes what latent may
 * want — each float dataset (path, shape, values) and each string attribute (object,
 * name, strings) — into a pipe, then exits. The parent reads that stream, with a cap on
 * its size and a deadline, and checks the child's exit: a child that crashed, hung or
 * said too much makes a clear error, never a crash of the program. The readers below
 * then answer from the snapshot. A POSIX fork: the child closes the descriptors it
 * inherited, limits its memory, calls libhdf5 and write(), and leaves by _exit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <hdf5.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "keras_h5.h"

/* libhdf5 is one per process and, as Debian builds it, not thread-safe: latent's own
 * calls (export) hold this lock, and so does an import while it forks, so that no
 * child starts with libhdf5 half way through a call of another thread. The one piece
 * of process-wide state in latent, for a library that has its own. */
static pthread_mutex_t h5_lock = PTHREAD_MUTEX_INITIALIZER;

void lt_h5_lock(void) { pthread_mutex_lock(&h5_lock); }
void lt_h5_unlock(void) { pthread_mutex_unlock(&h5_lock); }

int lt_import_open_handles(void)
{
    ssize_t n = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
    return n < 0 ? -1 : (int)n;
}

void lt_h5_quiet(lt_h5_errors *saved)
{
    H5Eget_auto2(H5E_DEFAULT, &saved->fn, &saved->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void lt_h5_restore(const lt_h5_errors *saved)
{
    H5Eset_auto2(H5E_DEFAULT, saved->fn, saved->data);
}

/* A little-endian integer of n bytes. */
static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    while (n-- > 0) v = v << 8 | p[n];
    return v;
}

/* libhdf5 1.10 (Debian 12's) reads a global heap collection (where variable-length
 * strings live) object by object, each header giving the object's size and so the
 * next one's distance, and trusts those sizes: an object 0 (free space) of size 0 is
 * a distance of 0, where it loops forever, and an object larger than its collection
 * is copied out past the collection's buffer (fuzzed legacy .h5 files found both). So
 * each collection in the image ("GCOL", version 1) is walked the same way first, and
 * one whose objects do not advance, or do not fit in it, or that does not fit in the
 * file, is refused. The walk reads only; a "GCOL" in data that is not a collection is
 * walked too, which at worst refuses a file whose bytes happen to spell a broken
 * collection. */
static long broken_heap(const unsigned char *img, size_t len)
{
    for (size_t off = 0; off + 16 <= len; off++) {
        if (img[off] != 'G' || memcmp(img + off, "GCOL", 4) != 0 || img[off + 4] != 1) continue;
        uint64_t size = le(img + off + 8, 8);
        if (size < 16 || size > len - off) return (long)off;
        uint64_t end = off + size, p = off + 16;
        while (p + 16 <= end) {
            unsigned idx = (unsigned)le(img + p, 2);
            uint64_t obj = le(img + p + 8, 8);
            /* an object's size counts its data; the free space's (object 0) its header too */
            if (obj > end - p - (idx ? 16 : 0)) return (long)p;
            uint64_t need = idx ? 16 + ((obj + 7) & ~(uint64_t)7) : obj;
            if (need == 0 || need > end - p) return (long)p;
            p += need;
        }
    }
    return -1;
}

/* Opens an image in memory, read-only, through the core driver (no backing store). */
static hid_t open_image(const void *data, size_t len)
{
    if (broken_heap(data, len) >= 0) return -1; /* refused before libhdf5 sees it (cheap, and says why sooner) */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return -1;
    hid_t f = -1;
    if (H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0 && H5Pset_file_image(fapl, (void *)data, len) >= 0)
        f = H5Fopen("latent-import.h5", H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    return f;
}

/* Reads the strings of attribute a (count of them, fixed-length or variable) into one
 * malloc'd block of NUL-terminated strings; the block, or NULL. */
static char *read_strings(hid_t a, size_t max_bytes, size_t *count)
{
    hid_t type = H5Aget_type(a), space = H5Aget_space(a);
    char *out = NULL;
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    if (type < 0 || H5Tget_class(type) != H5T_STRING || n < 1 || n > 1 << 20) goto done;
    if (H5Tis_variable_str(type) > 0) {
        hid_t mem = H5Tcopy(H5T_C_S1);
        char **s = calloc((size_t)n, sizeof *s);
        int read = mem >= 0 && s && H5Tset_size(mem, H5T_VARIABLE) >= 0 ? H5Aread(a, mem, s) : -2;
        if (read >= 0) {
            size_t total = 0;
            int ok = 1;
            for (hssize_t i = 0; i < n; i++) {
                if (!s[i]) { ok = 0; break; }
                total += strlen(s[i]) + 1;
                if (total > max_bytes) { ok = 0; break; }
            }
            if (ok && (out = malloc(total ? total : 1))) {
                char *p = out;
                for (hssize_t i = 0; i < n; i++) {
                    size_t l = strlen(s[i]) + 1;
                    memcpy(p, s[i], l);
                    p += l;
                }
            }
        }
        /* also after a failed read: libhdf5 may have allocated some strings before it failed */
        if (read != -2) H5Dvlen_reclaim(mem, space, H5P_DEFAULT, s);
        free(s);
        if (mem >= 0) H5Tclose(mem);
    } else {
        size_t w = H5Tget_size(type);
        if (w == 0 || w > max_bytes || (size_t)n > max_bytes / (w + 1)) goto done;
        char *raw = malloc((size_t)n * w);
        hid_t mem = H5Tcopy(H5T_C_S1);
        if (raw && mem >= 0 && H5Tset_size(mem, w) >= 0 && H5Tset_strpad(mem, H5T_STR_NULLPAD) >= 0 && H5Aread(a, mem, raw) >= 0 &&
            (out = malloc((size_t)n * (w + 1)))) {
            char *p = out;
            for (hssize_t i = 0; i < n; i++) {
                size_t l = strnlen(raw + (size_t)i * w, w);
                memcpy(p, raw + (size_t)i * w, l);
                p[l] = 0;
                p += l + 1;
            }
        }
        free(raw);
        if (mem >= 0) H5Tclose(mem);
    }
    if (out) *count = (size_t)n;
done:
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    return out;
}

/* ----------------------------------------------------------------- the child */

/* Record kinds of the stream from the child. */
enum { REC_END = 0, REC_OBJECT = 1, REC_FLOATS = 2, REC_STRINGS = 3, REC_OTHER_DATA = 4 };

/* The child's stream: a pipe, and whether a write failed. */
typedef struct dump {
    int fd;
    int failed;
    int over;      /* the file holds more than the budget */
    size_t budget; /* bytes of floats and strings it may still send */
} dump;

/* Takes n bytes from the budget; 0, or -1 (and d->over) when they are not there. */
static int spend(dump *d, size_t n)
{
    if (n > d->budget) {
        d->over = d->failed = 1;
        return -1;
    }
    d->budget -= n;
    return 0;
}

static void put(dump *d, const void *p, size_t n)
{
    const char *c = p;
    while (!d->failed && n) {
        ssize_t w = write(d->fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { d->failed = 1; return; }
        c += w;
        n -= (size_t)w;
    }
}

static void put_u32(dump *d, uint32_t v) { put(d, &v, 4); }

static void put_str(dump *d, const char *s)
{
    size_t n = strlen(s);
    put_u32(d, (uint32_t)n);
    put(d, s, n);
}

/* The object's string attributes, one record each. */
static herr_t dump_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    dump *d = ((void **)data)[0];
    const char *obj = ((void **)data)[1];
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return 0;
    size_t count = 0;
    size_t cap = d->budget < ((size_t)1 << 26) ? d->budget : (size_t)1 << 26;
    char *s = read_strings(a, cap, &count);
    H5Aclose(a);
    if (s) {
        size_t bytes = 0;
        for (size_t i = 0; i < count; i++) bytes += strlen(s + bytes) + 1;
        if (spend(d, bytes) != 0) { free(s); return -1; }
        put(d, (unsigned char[]){REC_STRINGS}, 1);
        put_str(d, obj);
        put_str(d, name);
        put_u32(d, (uint32_t)count);
        put_u32(d, (uint32_t)bytes);
        put(d, s, bytes);
        free(s);
    }
    return d->failed ? -1 : 0;
}

/* One object: a record for it, its floats when a float dataset, its attributes. */
static int dump_object(dump *d, hid_t o, const char *path)
{
    put(d, (unsigned char[]){REC_OBJECT}, 1);
    put_str(d, path);
    if (H5Iget_type(o) == H5I_DATASET) {
        hid_t space = H5Dget_space(o), type = H5Dget_type(o);
        int r = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
        hsize_t hd[LT_H5_MAX_RANK];
        size_t count = 1;
        int ok = r >= 0 && r <= LT_H5_MAX_RANK && type >= 0 && H5Tget_class(type) == H5T_FLOAT &&
                 H5Sget_simple_extent_type(space) != H5S_NULL && H5Sget_simple_extent_dims(space, hd, NULL) == r;
        for (int i = 0; ok && i < r; i++) {
            if (hd[i] && count > ((size_t)1 << 32) / hd[i]) ok = 0;
            else count *= (size_t)hd[i];
        }
        if (ok && spend(d, count * sizeof(float)) != 0) { /* before libhdf5 fills it: a dataset of fill values costs no file */
            if (type >= 0) H5Tclose(type);
            if (space >= 0) H5Sclose(space);
            return -1;
        }
        float *v = ok ? malloc((count ? count : 1) * sizeof *v) : NULL;
        if (v && H5Dread(o, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0) {
            put(d, (unsigned char[]){REC_FLOATS}, 1);
            put_str(d, path);
            put_u32(d, (uint32_t)r);
            for (int i = 0; i < r; i++) put(d, &(uint64_t){hd[i]}, 8);
            put(d, v, count * sizeof *v);
        } else {
            put(d, (unsigned char[]){REC_OTHER_DATA}, 1);
            put_str(d, path);
        }
        free(v);
        if (type >= 0) H5Tclose(type);
        if (space >= 0) H5Sclose(space);
    }
    void *ad[2] = {d, (void *)path};
    hsize_t at = 0;
    H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_NATIVE, &at, dump_attr, ad);
    return d->failed ? -1 : 0;
}

/* Every object reached by hard links from the root (soft and external links are not
 * followed: an external link would have libhdf5 open another file). */
static herr_t dump_link(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    if (info->type != H5L_TYPE_HARD) return 0;
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0) return 0;
    int rc = dump_object(data, o, name);
    H5Oclose(o);
    return rc;
}

/* The child: the whole snapshot of the image into fd; its exit status. */
static int child_dump(const void *data, size_t len, size_t budget, int fd)
{
    lt_h5_errors saved;
    lt_h5_quiet(&saved);
    hid_t f = open_image(data, len);
    if (f < 0) return 2;
    dump d = {fd, 0, 0, budget};
    hid_t root = H5Oopen(f, "/", H5P_DEFAULT);
    if (root < 0 || dump_object(&d, root, "/") != 0 || H5Lvisit(f, H5_INDEX_NAME, H5_ITER_NATIVE, dump_link, &d) < 0 || d.failed)
        return d.over ? 4 : 3;
    put(&d, (unsigned char[]){REC_END}, 1);
    return d.failed ? 3 : 0;
}

/* In the child: closes every descriptor but 0-2 and keep (another thread's pipe would
 * otherwise stay open here, and its reader wait for this child's end). */
static void close_others(int keep)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir) {
        int own = dirfd(dir);
        for (struct dirent *e; (e = readdir(dir));) {
            int fd = atoi(e->d_name);
            if (fd > 2 && fd != keep && fd != own) close(fd);
        }
        closedir(dir);
        return;
    }
    for (int fd = 3; fd < 4096; fd++) /* no /proc: the usual range */
        if (fd != keep) close(fd);
}

/* In the child: caps its address space at what it has now and room for the snapshot,
 * so that a file making libhdf5 allocate without bound (strings repeated from one heap
 * object) fails here instead of taking the machine's memory. Not under
 * AddressSanitizer, whose shadow reservations count against the cap. */
static void limit_memory(size_t budget)
{
#ifndef LT_ASAN
    char text[64] = "";
    int fd = open("/proc/self/statm", O_RDONLY);
    if (fd < 0) return;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return;
    text[n] = 0;
    unsigned long long pages = strtoull(text, NULL, 10);
    long page = sysconf(_SC_PAGESIZE);
    if (!pages || page <= 0) return;
    unsigned long long now = pages * (unsigned long long)page, room = 3ull * budget + (512ull << 20);
    struct rlimit as = {(rlim_t)(now + room), (rlim_t)(now + room)};
    setrlimit(RLIMIT_AS, &as);
#else
    (void)budget;
#endif
}

/* ----------------------------------------------------------------- the snapshot */

/* One record kept: an object (kind REC_OBJECT), its floats, or a string attribute. */
typedef struct h5_item {
    int kind;
    char *path, *name;          /* object path; attribute name (REC_STRINGS)        */
    int rank;
    uint64_t dims[LT_H5_MAX_RANK];
    void *data;                 /* floats, or the NUL-separated strings            */
    size_t n;                   /* floats, or strings                              */
    size_t bytes;
    size_t order;               /* place in the child's stream                     */
} h5_item;

static int item_order(const void *a, const void *b);

struct lt_h5_snapshot {
    h5_item *items;
    size_t n, cap;
};

void lt_h5_snapshot_free(lt_h5_snapshot *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].path);
        free(s->items[i].name);
        free(s->items[i].data);
    }
    free(s->items);
    free(s);
}

/* The parent's reading of the stream: a buffer and its cursor. */
typedef struct cursor {
    const unsigned char *p, *end;
} cursor;

static int take(cursor *c, void *out, size_t n)
{
    if ((size_t)(c->end - c->p) < n) return -1;
    memcpy(out, c->p, n);
    c->p += n;
    return 0;
}

static char *take_str(cursor *c)
{
    uint32_t n;
    if (take(c, &n, 4) != 0 || n > (uint32_t)(c->end - c->p) || n > (1u << 20)) return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    memcpy(s, c->p, n);
    s[n] = 0;
    c->p += n;
    return s;
}

/* Parses the child's whole stream into s; 0 when it is complete and well formed. */
static int parse_stream(lt_h5_snapshot *s, const unsigned char *buf, size_t len)
{
    cursor c = {buf, buf + len};
    for (;;) {
        unsigned char kind;
        if (take(&c, &kind, 1) != 0) return -1;
        if (kind == REC_END) return c.p == c.end ? 0 : -1;
        if (kind > REC_OTHER_DATA) return -1;
        if (s->n == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 64;
            h5_item *p = realloc(s->items, cap * sizeof *p);
            if (!p) return -1;
            s->items = p;
            s->cap = cap;
        }
        h5_item *it = &s->items[s->n];
        memset(it, 0, sizeof *it);
        it->kind = kind;
        it->order = s->n++;
        if (!(it->path = take_str(&c))) return -1;
        if (kind == REC_STRINGS) {
            uint32_t count, bytes;
            if (!(it->name = take_str(&c)) || take(&c, &count, 4) || take(&c, &bytes, 4) || bytes > (size_t)(c.end - c.p)) return -1;
            if (!(it->data = malloc(bytes ? bytes : 1))) return -1;
            take(&c, it->data, bytes);
            it->n = count;
            it->bytes = bytes;
            size_t nul = 0; /* the child's count must match the strings sent */
            for (uint32_t i = 0; i < bytes; i++) nul += ((char *)it->data)[i] == 0;
            if (nul != count || (bytes && ((char *)it->data)[bytes - 1] != 0)) return -1;
        } else if (kind == REC_FLOATS) {
            uint32_t r;
            if (take(&c, &r, 4) || r > LT_H5_MAX_RANK) return -1;
            it->rank = (int)r;
            size_t count = 1;
            for (uint32_t i = 0; i < r; i++) {
                if (take(&c, &it->dims[i], 8)) return -1;
                if (it->dims[i] && count > ((size_t)1 << 32) / it->dims[i]) return -1;
                count *= (size_t)it->dims[i];
            }
            if (count * sizeof(float) > (size_t)(c.end - c.p) || !(it->data = malloc(count ? count * sizeof(float) : 1))) return -1;
            take(&c, it->data, count * sizeof(float));
            it->n = count;
        }
    }
}

/* Seconds since an arbitrary start. */
static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

lt_h5_snapshot *lt_h5_snapshot_image(const void *data, size_t len, size_t max_bytes, char *err, size_t errlen)
{
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(err, errlen, "cannot start the HDF5 reader: %s", strerror(errno));
        return NULL;
    }
    /* programs another thread starts need neither end (the child leaves by _exit, so
     * nothing buffered in stdio is written twice, and nothing needs flushing first) */
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    lt_h5_lock();
    pid_t pid = fork();
    if (pid != 0) lt_h5_unlock();
    if (pid < 0) {
        snprintf(err, errlen, "cannot start the HDF5 reader: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return NULL;
    }
    if (pid == 0) {
        close(fds[0]);
        /* a crash of libhdf5 ends the child by its signal, not in a handler of the
         * program's (a crash reporter's, a sanitizer's, a fuzzer's, which would report
         * or save it as the program's own) */
        static const int fatal[] = {SIGPIPE, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
        for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) signal(fatal[i], SIG_DFL);
        /* quiet: the parent says what went wrong, once */
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) dup2(nul, 2);
        close_others(fds[1]);
        /* a loop in libhdf5 ends by this CPU limit if the parent's deadline does not */
        struct rlimit cpu = {120 + len / ((size_t)8 << 20), 130 + len / ((size_t)8 << 20)};
        setrlimit(RLIMIT_CPU, &cpu);
        limit_memory(max_bytes);
        _exit(child_dump(data, len, max_bytes, fds[1]));
    }
    close(fds[1]);
    /* a few seconds, and one more for every 8 MB: far more than libhdf5 needs */
    double allowed = 5.0 + (double)(len >> 23), deadline = seconds() + allowed;
    char late[160];
    snprintf(late, sizeof late, "libhdf5 did not finish reading it in %.0f s (a hang on a damaged file, or a machine too busy)", allowed);
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    const char *why = NULL;
    for (;;) {
        double left = deadline - seconds();
        if (left <= 0) { why = late; break; }
        struct pollfd p = {fds[0], POLLIN, 0};
        int pr = poll(&p, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) continue;
        if (n == cap) {
            if (cap >= max_bytes) { why = "it holds more than latent reads"; break; }
            size_t nc = cap ? 2 * cap : 1 << 16;
            if (nc > max_bytes) nc = max_bytes;
            unsigned char *nb = realloc(buf, nc);
            if (!nb) { why = "out of host memory"; break; }
            buf = nb;
            cap = nc;
        }
        ssize_t r = read(fds[0], buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break; /* EOF: the child is done */
        n += (size_t)r;
    }
    close(fds[0]);
    if (why) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    lt_h5_snapshot *s = calloc(1, sizeof *s);
    if (!why && WIFSIGNALED(status)) why = "libhdf5 crashed reading it (a damaged file)";
    else if (!why && (!WIFEXITED(status) || WEXITSTATUS(status) == 2)) why = "not a readable HDF5 file";
    else if (!why && WEXITSTATUS(status) == 4) why = "it holds more than latent reads";
    else if (!why && WEXITSTATUS(status) != 0) why = "libhdf5 could not read all of it (a damaged file)";
    else if (!why && !s) why = "out of host memory";
    else if (!why && parse_stream(s, buf, n) != 0) why = "the HDF5 reader's output was incomplete";
    if (!why) qsort(s->items, s->n, sizeof *s->items, item_order);
    free(buf);
    if (why) {
        snprintf(err, errlen, "%s", why);
        lt_h5_snapshot_free(s);
        return NULL;
    }
    return s;
}

/* Orders items by kind, path and attribute name (none first), then stream order. */
static int key_order(int kind, const char *path, const char *name, const h5_item *it)
{
    if (kind != it->kind) return kind < it->kind ? -1 : 1;
    int c = strcmp(path, it->path);
    if (c || !name) return c; /* no name: the first item at path */
    return it->name ? strcmp(name, it->name) : 1;
}

static int item_order(const void *a, const void *b)
{
    const h5_item *x = a, *y = b;
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    int c = strcmp(x->path, y->path);
    if (!c) c = !x->name ? (y->name ? -1 : 0) : !y->name ? 1 : strcmp(x->name, y->name);
    return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

/* The item of kind at path (and attribute name), the first the child sent, or NULL: a
 * binary search of the sorted items (a hostile file may hold millions). */
static const h5_item *find(const lt_h5_snapshot *s, int kind, const char *path, const char *name)
{
    if (strcmp(path, ".") == 0) path = "/";
    size_t lo = 0, hi = s->n;
    while (lo < hi) { /* the first item not ordered before the key */
        size_t mid = lo + (hi - lo) / 2;
        if (key_order(kind, path, name, &s->items[mid]) > 0) lo = mid + 1;
        else hi = mid;
    }
    return lo < s->n && key_order(kind, path, name, &s->items[lo]) == 0 ? &s->items[lo] : NULL;
}

int lt_h5_exists(const lt_h5_snapshot *s, const char *path)
{
    return find(s, REC_OBJECT, path, NULL) != NULL;
}

int lt_h5_read_floats(const lt_h5_snapshot *s, const char *path, int *rank, uint64_t dims[LT_H5_MAX_RANK], size_t max, float **out)
{
    *out = NULL;
    const h5_item *it = find(s, REC_FLOATS, path, NULL);
    if (!it) return lt_h5_exists(s, path) ? -2 : -1;
    *rank = it->rank;
    memcpy(dims, it->dims, sizeof it->dims);
    if (it->n > max) return -3;
    float *v = malloc((it->n ? it->n : 1) * sizeof *v);
    if (!v) return -4;
    memcpy(v, it->data, it->n * sizeof *v);
    *out = v;
    return 0;
}

char *lt_h5_attr_strings(const lt_h5_snapshot *s, const char *obj, const char *name, size_t max_bytes, size_t *count)
{
    *count = 0;
    const h5_item *it = find(s, REC_STRINGS, obj, name);
    if (!it || it->bytes > max_bytes) return NULL;
    char *out = malloc(it->bytes ? it->bytes : 1);
    if (!out) return NULL;
    memcpy(out, it->data, it->bytes);
    *count = it->n;
    return out;
}
