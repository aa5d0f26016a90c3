/* IDX files (LeCun's MNIST format), raw or gzip-compressed, and Fashion-MNIST.
 *
 * Layout: bytes 00 00 TT NN (TT type code, NN number of dimensions), NN big-endian
 * uint32 sizes, then the data. Only TT = 0x08 (unsigned byte) is supported: that is
 * what MNIST and Fashion-MNIST use. Everything a header claims is checked against
 * bounds before any allocation, and the payload must be exactly as long as claimed:
 * for a raw file that is checked against its size on disk up front, for a gzip file
 * while reading (its memory grows with the data, so a lying header cannot make a small
 * file claim gigabytes). */
#include <errno.h>
#include <fcntl.h>
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

#define FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

/* An open IDX file and its checked header. */
typedef struct idx_file {
    const char *path;
    gzFile gz;
    int ndims;
    uint32_t dims[3];
    off_t file_size;    /* size on disk, or -1 when not a regular file (a pipe) */
} idx_file;

/* Turns a failed gzread (-1) into a status and message naming the file. */
static lt_status gz_fail(lt_ctx *ctx, const idx_file *f)
{
    int errnum = 0;
    const char *msg = gzerror(f->gz, &errnum);
    if (errnum == Z_ERRNO) return lt_set_error(ctx, LT_ERR_IO, "%s: read failed: %s", f->path, strerror(errno));
    if (errnum == Z_MEM_ERROR) return lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory while decompressing", f->path);
    /* zlib names a gzdopen'ed file "<fd:N>"; the path is named already */
    const char *colon = msg && strncmp(msg, "<fd:", 4) == 0 ? strstr(msg, ": ") : NULL;
    if (colon) msg = colon + 2;
    return lt_set_error(ctx, LT_ERR_FORMAT, "%s: corrupt gzip data (%s)", f->path, msg ? msg : "unknown zlib error");
}

/* Reads up to len bytes; *got is how many arrived (fewer only at end of data). */
static lt_status gz_read_full(lt_ctx *ctx, const idx_file *f, void *buf, size_t len, size_t *got)
{
    unsigned char *p = buf;
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > (1u << 30)) want = 1u << 30; /* gzread takes unsigned and returns int */
        int r = gzread(f->gz, p + *got, (unsigned)want);
        if (r < 0) return gz_fail(ctx, f);
        if (r == 0) break;
        *got += (size_t)r;
    }
    return LT_OK;
}

/* Explains a short read: a gzip stream that stops mid-way says so. */
static const char *short_read_note(const idx_file *f)
{
    int errnum = 0;
    gzerror(f->gz, &errnum);
    return errnum == Z_BUF_ERROR ? " (the gzip stream is cut off: an incomplete download?)" : "";
}

/* Fails unless the file ends right here; what names the payload for the message. */
static lt_status expect_eof(lt_ctx *ctx, const idx_file *f, size_t expected, const char *what)
{
    unsigned char tmp[4096];
    size_t extra = 0, got;
    do {
        lt_status st = gz_read_full(ctx, f, tmp, sizeof tmp, &got);
        if (st != LT_OK) return st;
        extra += got;
    } while (got == sizeof tmp && extra < IDX_TRAILING_SCAN);
    int errnum = 0;
    gzerror(f->gz, &errnum);
    if (extra == 0 && errnum == Z_BUF_ERROR) /* all data came, but not the gzip trailer that checks them */
        return lt_set_error(ctx, LT_ERR_FORMAT, "%s: the gzip stream is cut off before its end (its CRC32 and size "
                            "are missing, so the data cannot be trusted: an incomplete download?)", f->path);
    if (extra == 0) return LT_OK;
    return lt_set_error(ctx, LT_ERR_FORMAT, "%s: %s%zu bytes of trailing data after the expected %zu bytes of %s",
                        f->path, got == sizeof tmp ? "at least " : "", extra, expected, what);
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
    f->gz = gzdopen(fd, "rb"); /* reads raw files transparently */
    if (!f->gz) {
        close(fd);
        return lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory opening the file", path);
    }
    gzbuffer(f->gz, 1u << 17);

    unsigned char hdr[4 + 4 * 3];
    size_t hlen = 4 + 4 * (size_t)ndims, got;
    lt_status st = gz_read_full(ctx, f, hdr, hlen, &got);
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
    gzclose(f->gz);
    f->gz = NULL;
    return st;
}

/* For an uncompressed file the size on disk is known: check that the payload is
 * exactly payload bytes before anything is allocated. gzip files are checked while
 * reading, since their uncompressed size is not known up front. */
static lt_status check_raw_size(lt_ctx *ctx, const idx_file *f, size_t payload, const char *what)
{
    if (f->file_size < 0 || !gzdirect(f->gz)) return LT_OK;
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

/* Closes an idx_file opened by idx_open (or never opened). */
static void idx_close(idx_file *f)
{
    if (f->gz) gzclose(f->gz);
    f->gz = NULL;
}

/* Reads total pixel bytes as floats in [0,1] into a new array *out, then checks the
 * file ends. The array starts at cap floats and grows with the data up to total, so a
 * gzip header that claims more than the stream holds costs only what is really there. */
static lt_status read_pixels(lt_ctx *ctx, const idx_file *f, size_t cap, size_t total, float **out)
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
        lt_status st = gz_read_full(ctx, f, buf, want, &got);
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
static lt_status read_labels(lt_ctx *ctx, const idx_file *f, int32_t *dst, size_t n)
{
    unsigned char buf[IDX_CHUNK];
    size_t done = 0;
    while (done < n) {
        size_t want = n - done < IDX_CHUNK ? n - done : IDX_CHUNK, got;
        lt_status st = gz_read_full(ctx, f, buf, want, &got);
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
    size_t cap = gzdirect(img.gz) || n * dim < IDX_GZ_FIRST_CAP ? n * dim : IDX_GZ_FIRST_CAP;
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
