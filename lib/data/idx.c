/* IDX files (LeCun's MNIST format), raw or gzip-compressed, and Fashion-MNIST.
 *
 * Layout: bytes 00 00 TT NN (TT type code, NN number of dimensions), NN big-endian
 * uint32 sizes, then the data. Only TT = 0x08 (unsigned byte) is supported: that is
 * what MNIST and Fashion-MNIST use. Everything a header claims is checked against
 * bounds before any allocation, and the payload must be exactly as long as claimed:
 * for a raw file that is checked against its size on disk up front, for a gzip file
 * while reading (its memory grows with the data, so a lying header cannot make a small
 * file claim gigabytes).
 *
 * gzip files are inflated here with zlib's inflate rather than read through gzread,
 * which silently skips whatever follows a gzip stream that is not another gzip member:
 * here bytes after the end of the stream (an appended or damaged file) are an error, as
 * is a stream cut off before its trailer (whose CRC32 and size check the data).
 * Concatenated gzip members are one stream, as gzip itself reads them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "internal.h"

/* Header bounds: far above any real image set, low enough that sizes cannot overflow. */
#define IDX_MAX_COUNT 100000000u
#define IDX_MAX_SIDE 4096u
#define IDX_CHUNK 16384u
/* First array size (floats) for gzip data, whose real length is known only at the end. */
#define IDX_GZ_FIRST_CAP ((size_t)1 << 22)
/* How far past the expected end we count trailing bytes before giving up counting. */
#define IDX_TRAILING_SCAN (1u << 20)
/* Bytes read from the file at a time. */
#define IDX_IN_BUF (1u << 17)

#define FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

/* An open IDX file and its checked header. */
typedef struct idx_file {
    const char *path;
    int fd;             /* the open file, while in is set */
    int gz;             /* 1: gzip, inflated through zs; 0: raw bytes */
    z_stream zs;        /* the inflater (gzip), or just next_in/avail_in over the buffer (raw) */
    int zs_live;        /* inflateInit2 succeeded: inflateEnd is due */
    int ended;          /* no more data: end of the raw file, or of the last gzip member */
    int cut;            /* gzip: the file ended inside a member (before its trailer) */
    unsigned char *in;  /* IDX_IN_BUF bytes read ahead from fd */
    uintmax_t in_total; /* bytes read from fd so far */
    int ndims;
    uint32_t dims[3];
    off_t file_size;    /* size on disk, or -1 when not a regular file (a pipe) */
} idx_file;

/* Reads from fd into the buffer after the avail_in bytes kept at its start (moved
 * there); *got is how many came (0 at end of file). */
static lt_status fill_input(lt_ctx *ctx, idx_file *f, size_t *got)
{
    if (f->zs.avail_in > 0 && f->zs.next_in != f->in) memmove(f->in, f->zs.next_in, f->zs.avail_in);
    f->zs.next_in = f->in;
    ssize_t r;
    do r = read(f->fd, f->in + f->zs.avail_in, IDX_IN_BUF - f->zs.avail_in);
    while (r < 0 && errno == EINTR);
    if (r < 0) return lt_set_error(ctx, LT_ERR_IO, "%s: read failed: %s", f->path, strerror(errno));
    f->zs.avail_in += (uInt)r;
    f->in_total += (uintmax_t)r;
    *got = (size_t)r;
    return LT_OK;
}

/* After the end of a gzip member: another member follows (its magic 1f 8b), nothing
 * does (the end of the data), or bytes that are not gzip, which is an error naming
 * how many there are and where the stream ended. */
static lt_status after_member(lt_ctx *ctx, idx_file *f)
{
    size_t got = 1;
    while (f->zs.avail_in < 2 && got > 0) {
        lt_status st = fill_input(ctx, f, &got);
        if (st != LT_OK) return st;
    }
    if (f->zs.avail_in == 0) {
        f->ended = 1;
        return LT_OK;
    }
    if (f->zs.avail_in >= 2 && f->zs.next_in[0] == 0x1f && f->zs.next_in[1] == 0x8b) {
        if (inflateReset(&f->zs) != Z_OK)
            return lt_set_error(ctx, LT_ERR_FORMAT, "%s: cannot restart the inflater for the next gzip member", f->path);
        return LT_OK;
    }
    uintmax_t end = f->in_total - f->zs.avail_in, extra = f->zs.avail_in;
    int more = 0;
    if (f->file_size >= 0 && (uintmax_t)f->file_size >= f->in_total) {
        extra = (uintmax_t)f->file_size - end;
    } else { /* a pipe: count what is left, up to a point */
        for (got = 1; got > 0 && extra < IDX_TRAILING_SCAN;) {
            f->zs.avail_in = 0;
            lt_status st = fill_input(ctx, f, &got);
            if (st != LT_OK) return st;
            extra += got;
        }
        more = got > 0;
    }
    return lt_set_error(ctx, LT_ERR_FORMAT, "%s: %s%ju byte%s after the end of the gzip stream (which ends at byte "
                        "%ju): the file holds more than its compressed data (appended to or damaged?)", f->path,
                        more ? "at least " : "", extra, extra == 1 ? "" : "s", end);
}

/* Reads up to len bytes of data (inflated for gzip); *got is how many arrived (fewer
 * only at the end of the data). A damaged gzip stream is an error naming the file. */
static lt_status idx_read(lt_ctx *ctx, idx_file *f, void *buf, size_t len, size_t *got)
{
    unsigned char *p = buf;
    *got = 0;
    while (*got < len && !f->ended) {
        if (f->zs.avail_in == 0) {
            size_t n;
            lt_status st = fill_input(ctx, f, &n);
            if (st != LT_OK) return st;
            if (n == 0) {
                f->ended = 1;
                f->cut = f->gz;
                break;
            }
        }
        size_t want = len - *got < UINT_MAX ? len - *got : UINT_MAX;
        if (!f->gz) {
            size_t k = want < f->zs.avail_in ? want : f->zs.avail_in;
            memcpy(p + *got, f->zs.next_in, k);
            f->zs.next_in += k;
            f->zs.avail_in -= (uInt)k;
            *got += k;
            continue;
        }
        f->zs.next_out = p + *got;
        f->zs.avail_out = (uInt)want;
        int r = inflate(&f->zs, Z_NO_FLUSH);
        *got += want - f->zs.avail_out;
        if (r == Z_STREAM_END) {
            lt_status st = after_member(ctx, f);
            if (st != LT_OK) return st;
        } else if (r == Z_MEM_ERROR) {
            return lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory while decompressing", f->path);
        } else if (r != Z_OK && r != Z_BUF_ERROR) { /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
            return lt_set_error(ctx, LT_ERR_FORMAT, "%s: corrupt gzip data (%s)", f->path,
                                f->zs.msg ? f->zs.msg : "unknown zlib error");
        }
    }
    return LT_OK;
}

/* Explains a short read: a gzip stream that stops mid-way says so. */
static const char *short_read_note(const idx_file *f)
{
    return f->cut ? " (the gzip stream is cut off: an incomplete download?)" : "";
}

/* Fails unless the data end right here; what names the payload for the message. */
static lt_status expect_eof(lt_ctx *ctx, idx_file *f, size_t expected, const char *what)
{
    unsigned char tmp[4096];
    size_t extra = 0, got;
    do {
        lt_status st = idx_read(ctx, f, tmp, sizeof tmp, &got);
        if (st != LT_OK) return st;
        extra += got;
    } while (got == sizeof tmp && extra < IDX_TRAILING_SCAN);
    if (extra == 0 && f->cut) /* all data came, but not the gzip trailer that checks them */
        return lt_set_error(ctx, LT_ERR_FORMAT, "%s: the gzip stream is cut off before its end (its CRC32 and size "
                            "are missing, so the data cannot be trusted: an incomplete download?)", f->path);
    if (extra == 0) return LT_OK;
    return lt_set_error(ctx, LT_ERR_FORMAT, "%s: %s%zu bytes of trailing data after the expected %zu bytes of %s",
                        f->path, got == sizeof tmp ? "at least " : "", extra, expected, what);
}

/* Closes an idx_file opened by idx_open (or never opened, or zeroed: f->in is set
 * exactly while fd is open). */
static void idx_close(idx_file *f)
{
    if (!f->in) return;
    if (f->zs_live) inflateEnd(&f->zs);
    f->zs_live = 0;
    close(f->fd);
    free(f->in);
    f->in = NULL;
}

/* Opens path and checks its header: type code 0x08, ndims dimensions, sizes in bounds.
 * what ("images"/"labels") is used in messages. On failure nothing stays open. */
static lt_status idx_open(lt_ctx *ctx, const char *path, int ndims, const char *what, idx_file *f)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return lt_set_error(ctx, LT_ERR_IO, "%s: cannot open %s file: %s", path, what, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return lt_set_error(ctx, LT_ERR_IO, "%s: cannot stat %s file: %s", path, what, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return lt_set_error(ctx, LT_ERR_IO, "%s: cannot read %s file: it is a directory", path, what);
    }
    f->file_size = S_ISREG(sb.st_mode) ? sb.st_size : -1; /* a pipe has no size to check */
    f->in = malloc(IDX_IN_BUF);
    if (!f->in) {
        close(fd);
        return lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory opening the file", path);
    }
    f->fd = fd;
    /* gzip's magic 1f 8b, else raw bytes (an IDX file starts 00 00) */
    size_t got = 1;
    lt_status st = LT_OK;
    while (st == LT_OK && f->zs.avail_in < 2 && got > 0) st = fill_input(ctx, f, &got);
    if (st != LT_OK) goto fail;
    if (f->zs.avail_in >= 2 && f->in[0] == 0x1f && f->in[1] == 0x8b) {
        f->gz = 1;
        if (inflateInit2(&f->zs, 16 + MAX_WBITS) != Z_OK) { /* 16: a gzip wrapper, checked */
            st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory for the gzip inflater", path);
            goto fail;
        }
        f->zs_live = 1;
    }

    unsigned char hdr[4 + 4 * 3];
    size_t hlen = 4 + 4 * (size_t)ndims;
    st = idx_read(ctx, f, hdr, hlen, &got);
    if (st != LT_OK) goto fail;
    st = LT_ERR_FORMAT;
    if (got < 4) {
        lt_set_error(ctx, st, "%s: only %zu bytes, too short for an IDX header", path, got);
        goto fail;
    }
    uint32_t magic = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (hdr[0] != 0 || hdr[1] != 0) {
        lt_set_error(ctx, st, "%s: not an IDX file (magic 0x%08x; expected 0x000008%02x for %s)", path,
                     (unsigned)magic, (unsigned)ndims, what);
        goto fail;
    }
    if (hdr[2] != 0x08) {
        lt_set_error(ctx, st, "%s: IDX type code 0x%02x is not supported (only 0x08, unsigned bytes; "
                     "magic 0x%08x)", path, (unsigned)hdr[2], (unsigned)magic);
        goto fail;
    }
    if (hdr[3] != ndims) {
        lt_set_error(ctx, st, "%s: IDX %s must have %d dimension%s, the file has %u (magic 0x%08x)", path, what,
                     ndims, ndims == 1 ? "" : "s", (unsigned)hdr[3], (unsigned)magic);
        goto fail;
    }
    if (got < hlen) {
        lt_set_error(ctx, st, "%s: header truncated (%zu of %zu bytes)", path, got, hlen);
        goto fail;
    }
    f->ndims = ndims;
    for (int d = 0; d < ndims; d++) {
        const unsigned char *b = hdr + 4 + 4 * d;
        f->dims[d] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        uint32_t max = d == 0 ? IDX_MAX_COUNT : IDX_MAX_SIDE;
        if (f->dims[d] == 0 || f->dims[d] > max) {
            static const char *const names[3] = {"count", "rows", "columns"};
            lt_set_error(ctx, st, "%s: dimension %d (%s) of the %s is %u (must be 1..%u)", path, d, names[d],
                         what, (unsigned)f->dims[d], (unsigned)max);
            goto fail;
        }
    }
    return LT_OK;
fail:
    idx_close(f);
    return st;
}

/* For an uncompressed file the size on disk is known: check that the payload is
 * exactly payload bytes before anything is allocated. gzip files are checked while
 * reading, since their uncompressed size is not known up front. */
static lt_status check_raw_size(lt_ctx *ctx, const idx_file *f, size_t payload, const char *what)
{
    if (f->file_size < 0 || f->gz) return LT_OK;
    uintmax_t hlen = 4 + 4 * (uintmax_t)f->ndims, size = (uintmax_t)f->file_size;
    uintmax_t have = size > hlen ? size - hlen : 0;
    if (have < payload)
        return lt_set_error(ctx, LT_ERR_FORMAT, "%s: expected %zu bytes of %s, found %ju", f->path, payload, what,
                            have);
    if (have > payload)
        return lt_set_error(ctx, LT_ERR_FORMAT, "%s: %ju bytes of trailing data after the expected %zu bytes of %s",
                            f->path, have - payload, payload, what);
    return LT_OK;
}

/* Reads total pixel bytes as floats in [0,1] into a new array *out, then checks the
 * file ends. The array starts at cap floats and grows with the data up to total, so a
 * gzip header that claims more than the stream holds costs only what is really there. */
static lt_status read_pixels(lt_ctx *ctx, idx_file *f, size_t cap, size_t total, float **out)
{
    float scale[256]; /* exact x/255 for every byte value */
    for (int v = 0; v < 256; v++) scale[v] = (float)v / 255.0f;
    unsigned char buf[IDX_CHUNK];
    float *dst = malloc(cap * sizeof *dst);
    if (!dst) goto nomem;
    size_t done = 0;
    while (done < total) {
        size_t want = total - done < IDX_CHUNK ? total - done : IDX_CHUNK, got;
        if (done + want > cap) { /* cap <= total <= SIZE_MAX / 4 (checked): cannot wrap */
            cap = cap > total / 2 ? total : 2 * cap;
            float *p = realloc(dst, cap * sizeof *dst);
            if (!p) goto nomem;
            dst = p;
        }
        lt_status st = idx_read(ctx, f, buf, want, &got);
        if (st != LT_OK) {
            free(dst);
            return st;
        }
        for (size_t i = 0; i < got; i++) dst[done + i] = scale[buf[i]];
        done += got;
        if (got < want) {
            free(dst);
            return lt_set_error(ctx, LT_ERR_FORMAT, "%s: expected %zu bytes of pixels, found %zu%s", f->path,
                                total, done, short_read_note(f));
        }
    }
    lt_status st = expect_eof(ctx, f, total, "pixels");
    if (st != LT_OK) {
        free(dst);
        return st;
    }
    *out = dst;
    return LT_OK;
nomem:
    free(dst);
    return lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of host memory for %zu pixels", f->path, total);
}

/* Reads n label bytes into dst, then checks the file ends. */
static lt_status read_labels(lt_ctx *ctx, idx_file *f, int32_t *dst, size_t n)
{
    unsigned char buf[IDX_CHUNK];
    size_t done = 0;
    while (done < n) {
        size_t want = n - done < IDX_CHUNK ? n - done : IDX_CHUNK, got;
        lt_status st = idx_read(ctx, f, buf, want, &got);
        if (st != LT_OK) return st;
        for (size_t i = 0; i < got; i++) dst[done + i] = buf[i];
        done += got;
        if (got < want)
            return lt_set_error(ctx, LT_ERR_FORMAT, "%s: expected %zu bytes of labels, found %zu%s", f->path, n,
                                done, short_read_note(f));
    }
    return expect_eof(ctx, f, n, "labels");
}

/* Loads an image file and an optional label file; both headers are checked and
 * matched before the dataset is allocated. */
lt_status lt_dataset_load_idx(lt_ctx *ctx, const char *images_path, const char *labels_path,
                              lt_dataset **out)
{
    if (!out) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_load_idx: out is NULL");
    *out = NULL;
    if (!images_path) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_load_idx: images_path is NULL");
    idx_file img, lab;
    memset(&lab, 0, sizeof lab);
    lt_dataset *ds = NULL;
    lt_status st = idx_open(ctx, images_path, 3, "images", &img);
    if (st != LT_OK) return st;
    if (labels_path) {
        st = idx_open(ctx, labels_path, 1, "labels", &lab);
        if (st != LT_OK) goto done;
        if (lab.dims[0] != img.dims[0]) {
            st = lt_set_error(ctx, LT_ERR_SHAPE, "%s has %u images but %s has %u labels", images_path,
                              (unsigned)img.dims[0], labels_path, (unsigned)lab.dims[0]);
            goto done;
        }
    }
    /* bounded by 1e8 * 4096 * 4096 bytes: check against this platform's size_t, for floats */
    size_t n = img.dims[0], dim = (size_t)img.dims[1] * img.dims[2];
    if (n > SIZE_MAX / sizeof(float) / dim) {
        st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: %zu images of %zu pixels do not fit in memory", images_path,
                          n, dim);
        goto done;
    }
    st = check_raw_size(ctx, &img, n * dim, "pixels");
    if (st == LT_OK && labels_path) st = check_raw_size(ctx, &lab, n, "labels");
    if (st != LT_OK) goto done;
    /* A raw file's size is checked, so its array is allocated whole at once; a gzip
     * file's array grows as its data arrive. */
    size_t cap = !img.gz || n * dim < IDX_GZ_FIRST_CAP ? n * dim : IDX_GZ_FIRST_CAP;
    float *px = NULL;
    st = read_pixels(ctx, &img, cap, n * dim, &px);
    if (st != LT_OK) goto done;
    ds = calloc(1, sizeof *ds);
    if (!ds) {
        free(px);
        st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of host memory", images_path);
        goto done;
    }
    ds->x = px;
    ds->n = n;
    ds->dim = dim;
    if (labels_path) {
        ds->labels = malloc(n * sizeof *ds->labels); /* n <= the pixel count read: bounded by real data */
        if (!ds->labels) {
            st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of host memory for %zu labels", labels_path, n);
            goto done;
        }
        st = read_labels(ctx, &lab, ds->labels, n);
        if (st != LT_OK) goto done;
    }
    ds->h = (int)img.dims[1];
    ds->w = (int)img.dims[2];
    ds->c = 1;
    *out = ds;
    ds = NULL;
done:
    lt_dataset_free(ds);
    idx_close(&img);
    idx_close(&lab);
    return st;
}

/* Writes dir/name.gz or dir/name (the first that is a regular file) into path;
 * returns 1 when found. */
static int find_file(const char *dir, const char *name, char *path, size_t len)
{
    static const char *const suffixes[] = {".gz", ""};
    for (int i = 0; i < 2; i++) {
        int r = snprintf(path, len, "%s/%s%s", dir, name, suffixes[i]);
        if (r < 0 || (size_t)r >= len) return 0;
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) return 1;
    }
    return 0;
}

/* Finds both files of a split in dir. */
static int find_split(const char *dir, const char *img_name, const char *lab_name, char *img, char *lab,
                      size_t len)
{
    return find_file(dir, img_name, img, len) && find_file(dir, lab_name, lab, len);
}

/* Loads a Fashion-MNIST split from dir, or searches the documented places. */
lt_status lt_dataset_fashion_mnist(lt_ctx *ctx, const char *dir, int train, lt_dataset **out)
{
    if (!out) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_fashion_mnist: out is NULL");
    *out = NULL;
    const char *img_name = train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte";
    const char *lab_name = train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte";
    char img[4096], lab[4096];
    if (dir) {
        if (find_split(dir, img_name, lab_name, img, lab, sizeof img))
            return lt_dataset_load_idx(ctx, img, lab, out);
        return lt_set_error(ctx, LT_ERR_IO, "Fashion-MNIST: %s does not hold %s[.gz] and %s[.gz]", dir, img_name,
                            lab_name);
    }
    const char *env = getenv("LATENT_DATA_DIR");
    struct stat env_st;
    if (env && *env && (stat(env, &env_st) != 0 || !S_ISDIR(env_st.st_mode))) /* a typo, not a data folder */
        return lt_set_error(ctx, LT_ERR_IO, "Fashion-MNIST: $LATENT_DATA_DIR is '%s', which is not a folder; unset it "
                            "to read %s", env, FMNIST_DEFAULT_DIR);
    if (env && *env) {
        char sub[4096];
        if (find_split(env, img_name, lab_name, img, lab, sizeof img))
            return lt_dataset_load_idx(ctx, img, lab, out);
        int r = snprintf(sub, sizeof sub, "%s/fashion-mnist", env);
        if (r > 0 && (size_t)r < sizeof sub && find_split(sub, img_name, lab_name, img, lab, sizeof img))
            return lt_dataset_load_idx(ctx, img, lab, out);
    }
    if (find_split(FMNIST_DEFAULT_DIR, img_name, lab_name, img, lab, sizeof img))
        return lt_dataset_load_idx(ctx, img, lab, out);
    char looked[4200];
    if (env && *env)
        snprintf(looked, sizeof looked, "$LATENT_DATA_DIR (%s), %s/fashion-mnist and %s", env, env,
                 FMNIST_DEFAULT_DIR);
    else
        snprintf(looked, sizeof looked, "%s ($LATENT_DATA_DIR is not set)", FMNIST_DEFAULT_DIR);
    return lt_set_error(ctx, LT_ERR_IO,
                        "Fashion-MNIST %s split not found: looked for %s[.gz] and %s[.gz] in %s; "
                        "install it with `apt-get install dataset-fashion-mnist` or set LATENT_DATA_DIR "
                        "to a directory holding the files", train ? "train" : "test", img_name, lab_name,
                        looked);
}
