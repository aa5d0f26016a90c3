/* Model files. Layout (all integers little-endian):
 *   "LATENTMD"  u32 version  u32 section count
 *   per section: 4-byte tag, u32 reserved (0), u64 payload length, payload, u32 CRC32(payload)
 * Sections: ARCH (text: input width, nested models and layer settings, loss, optimizer),
 * WGHT (float32 parameters), OPTS (u64 step count, then float32 optimizer moments),
 * META (the model's notes, "key=value\n" lines; only when it has any, so files of
 * models without notes are byte for byte what they were before notes existed), and
 * with the optimizer state of a model that lt_fit trained: PROG (its training run's
 * record, lib/fit_run.c's text) and, while a run that restores its best weights is
 * under way, BEST (those weights, float32).
 * Saving writes a temporary file beside the target, fsyncs it and renames it over the
 * target, so a crash leaves either the old file or the new one. Loading checks every
 * length against the file size before allocating, and every CRC before using a byte. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "model.h"

#define MAGIC "LATENTMD"
#define VERSION 1u
#define MAX_ARCH_BYTES (1u << 20)
#define MAX_DEPTH LT_MAX_NESTING

/* ---------------------------------------------------------------- writing */

/* A growable byte buffer for building the file in memory. */
typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
    int oom;
} bytes;

/* Appends raw bytes. */
static void put(bytes *b, const void *src, size_t n)
{
    if (b->oom || n == 0) return; /* n == 0: src may be NULL (an empty section), no memcpy */
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q) { b->oom = 1; return; }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

/* Appends a little-endian u32. */
static void put_u32(bytes *b, uint32_t v)
{
    unsigned char s[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    put(b, s, 4);
}

/* Appends a little-endian u64. */
static void put_u64(bytes *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

/* Appends floats as little-endian u32 words. */
static void put_floats(bytes *b, const float *x, size_t n)
{
    for (size_t i = 0; i < n && !b->oom; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        put_u32(b, u);
    }
}

/* Appends a section: tag, reserved, length, payload, CRC32. */
static void put_section(bytes *b, const char tag[4], const unsigned char *payload, size_t n)
{
    put(b, tag, 4);
    put_u32(b, 0);
    put_u64(b, n);
    put(b, payload, n);
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < n;) { /* zlib takes uInt lengths */
        uInt chunk = n - off > (1u << 30) ? (1u << 30) : (uInt)(n - off);
        crc = crc32(crc, payload + off, chunk);
        off += chunk;
    }
    put_u32(b, (uint32_t)crc);
}

/* Writes the architecture text of m (as an outermost model) into b. */
static void write_model_text(bytes *b, const lt_model *m)
{
    char line[512];
    int n = snprintf(line, sizeof line, "model %s\n", m->name);
    put(b, line, (size_t)n);
    for (int i = 0; i < m->n_items; i++) {
        if (m->items[i].model) { write_model_text(b, m->items[i].model); continue; }
        const lt_layer *l = m->items[i].layer;
        char cfg[256];
        l->ops->write_config(l, cfg, sizeof cfg);
        n = snprintf(line, sizeof line, "layer %s %s %s\n", l->ops->file_tag, l->name, cfg);
        put(b, line, (size_t)n);
    }
    put(b, "end\n", 4);
}

static const char *const loss_names[] = {"mse", "bce", "bce_logits", "cce", "mse_sum", "bce_sum"};
static const char *const optim_names[] = {"sgd", "rmsprop", "adam"};

/* Writes the whole ARCH text. */
static void write_arch(bytes *b, const lt_model *m)
{
    char line[512];
    int n = snprintf(line, sizeof line, "latent-arch 1\ninput");
    for (int i = 0; i < m->in_shape.rank; i++) n += snprintf(line + n, sizeof line - (size_t)n, " %d", m->in_shape.d[i]);
    line[n++] = '\n';
    put(b, line, (size_t)n);
    write_model_text(b, m);
    if (m->train.compiled) {
        const lt_optimizer *o = &m->train.opt;
        n = snprintf(line, sizeof line, "loss %s\noptimizer %s lr=%.9g momentum=%.9g nesterov=%d rho=%.9g beta1=%.9g beta2=%.9g epsilon=%.9g",
                     loss_names[m->train.loss], optim_names[o->kind], (double)o->lr, (double)o->momentum, o->nesterov,
                     (double)o->rho, (double)o->beta1, (double)o->beta2, (double)o->epsilon);
        /* clipping only when on (at most one of the two): files without it read as before */
        if (o->clipnorm > 0.0f) n += snprintf(line + n, sizeof line - (size_t)n, " clipnorm=%.9g", (double)o->clipnorm);
        if (o->global_clipnorm > 0.0f)
            n += snprintf(line + n, sizeof line - (size_t)n, " global_clipnorm=%.9g", (double)o->global_clipnorm);
        line[n++] = '\n';
        put(b, line, (size_t)n);
    }
}

/* Writes all of buf to fd. */
static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The crash tests' hook (tests/test_crash.sh): LATENT_TEST_SAVE_PAUSE_MS=N waits N ms
 * between the complete temporary file and the rename, so that a kill can land there. */
static void save_test_pause(void)
{
    const char *env = getenv("LATENT_TEST_SAVE_PAUSE_MS");
    long ms = env ? strtol(env, NULL, 10) : 0;
    if (ms <= 0 || ms > 10000) return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

lt_status lt_save(lt_model *m, const char *path, int with_optimizer)
{
    if (!m || !path || !*path) return m ? lt_set_error(m->ctx, LT_ERR_ARG, "lt_save: no path") : LT_ERR_ARG;
    lt_ctx *ctx = m->ctx;
    lt_backend *be = ctx->be;
    if (!m->built) return lt_set_error(ctx, LT_ERR_ARG, "%s: build the model before saving it", m->name);
    bytes file = {0}, arch = {0}, wts = {0}, opts = {0}, meta = {0}, prog = {0}, best = {0};
    lt_status st = LT_OK;
    float *host = NULL;
    int moments = m->train.compiled ? lt_optim_moments(&m->train.opt) : 0;
    size_t nstate = with_optimizer && m->train.compiled ? (size_t)moments * m->n_params : 0;
    size_t nhost = m->n_params > nstate ? m->n_params : nstate;
    host = malloc((nhost ? nhost : 1) * sizeof *host);
    if (!host) { st = lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory"); goto done; }
    write_arch(&arch, m);
    if (m->n_params) st = lt_be_download(be, m->params, m->poff, host, m->n_params);
    if (st != LT_OK) goto done;
    for (size_t i = 0; i < m->n_params; i++)
        if (!isfinite(host[i])) { st = lt_set_error(ctx, LT_ERR_NONFINITE, "%s: parameter %zu is not finite; not saving", m->name, i); goto done; }
    put_floats(&wts, host, m->n_params);
    int nsec = 2;
    if (with_optimizer && m->train.compiled) {
        put_u64(&opts, m->train.steps);
        if (nstate) st = lt_be_download(be, m->train.state, 0, host, nstate);
        if (st != LT_OK) goto done;
        put_floats(&opts, host, nstate);
        nsec++;
        if (m->train.run.active) { /* the run, so lt_fit can resume it */
            size_t n = lt_fit_run_text(&m->train.run, NULL, 0);
            char *text = malloc(n);
            if (!text) { st = lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory"); goto done; }
            lt_fit_run_text(&m->train.run, text, n);
            put(&prog, text, n);
            free(text);
            nsec++;
        }
        if (m->train.run.active && m->train.best && isfinite(m->train.run.best) && m->n_params) { /* once there is a best */
            if ((st = lt_be_download(be, m->train.best, 0, host, m->n_params)) != LT_OK) goto done;
            put_floats(&best, host, m->n_params);
            nsec++;
        }
    }
    if (m->n_meta) {
        size_t n = lt_meta_text_size(m);
        char *text = malloc(n);
        if (!text) { st = lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory"); goto done; }
        lt_meta_write_text(m, text);
        put(&meta, text, n);
        free(text);
        nsec++;
    }
    put(&file, MAGIC, 8);
    put_u32(&file, VERSION);
    put_u32(&file, (uint32_t)nsec);
    put_section(&file, "ARCH", arch.p, arch.n);
    put_section(&file, "WGHT", wts.p, wts.n);
    if (opts.n) put_section(&file, "OPTS", opts.p, opts.n);
    if (prog.n) put_section(&file, "PROG", prog.p, prog.n);
    if (best.n) put_section(&file, "BEST", best.p, best.n);
    if (meta.n) put_section(&file, "META", meta.p, meta.n);
    if (file.oom || arch.oom || wts.oom || opts.oom || meta.oom || prog.oom || best.oom) { st = lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory"); goto done; }

    /* Temporary file in the target's folder, so the rename is atomic; created with mode
     * 0666 so the user's umask applies, as for any file they write (mkstemp gives 0600). */
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 48);
    if (!tmp) { st = lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory"); goto done; }
    int fd = -1;
    for (unsigned attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(tmp, plen + 48, "%s.tmp.%ld.%u", path, (long)getpid(), attempt);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        st = lt_set_error(ctx, LT_ERR_IO, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        free(tmp);
        goto done;
    }
    int bad = write_all(fd, file.p, file.n) != 0 || fsync(fd) != 0;
    int err = errno;
    if (close(fd) != 0 && !bad) { bad = 1; err = errno; }
    save_test_pause();
    if (!bad && rename(tmp, path) != 0) { bad = 1; err = errno; }
    if (bad) {
        unlink(tmp);
        st = lt_set_error(ctx, LT_ERR_IO, "%s: cannot write the model: %s (any existing file is unchanged)", path, strerror(err));
    } else {
        /* Make the rename itself durable. */
        char *dircopy = strdup(path);
        if (dircopy) {
            int dfd = open(dirname(dircopy), O_RDONLY);
            if (dfd >= 0) { fsync(dfd); close(dfd); }
            free(dircopy);
        }
    }
    free(tmp);
done:
    free(host);
    free(file.p);
    free(arch.p);
    free(wts.p);
    free(opts.p);
    free(meta.p);
    free(prog.p);
    free(best.p);
    return st;
}

/* ---------------------------------------------------------------- reading */

/* Reads a little-endian u32 / u64 from p. */
static uint32_t get_u32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get_u64(const unsigned char *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

/* Parses "k=v k=v ..." tokens (strtok state in save) into kv. */
static int parse_kv(char **save, lt_kv *kv)
{
    return lt_kv_parse(*save, kv);
}

/* Rebuilds the model tree from ARCH text; returns the outermost model. */
static lt_status parse_arch(lt_ctx *ctx, const char *path, char *text, lt_model **out, lt_shape *input, lt_loss *loss, lt_optimizer *opt, int *has_train)
{
    lt_model *stack[MAX_DEPTH], *root = NULL;
    int depth = 0, lineno = 0, closed = 0;
    char *save_line, *line;
    input->rank = 0;
    *has_train = 0;
    int have_loss = 0, have_opt = 0;
    lt_status st = LT_OK;
    char err[256] = "";
    for (line = strtok_r(text, "\n", &save_line); line; line = strtok_r(NULL, "\n", &save_line)) {
        lineno++;
        char *save, *word = strtok_r(line, " \t", &save);
        if (!word) continue;
        if (lineno == 1) {
            if (strcmp(word, "latent-arch") != 0) { snprintf(err, sizeof err, "architecture does not start with 'latent-arch'"); break; }
            continue;
        }
        if (strcmp(word, "input") == 0) {
            char *v, *end;
            input->rank = 0;
            while ((v = strtok_r(NULL, " \t", &save)) && input->rank < 4) {
                long d = strtol(v, &end, 10);
                if (*end || d <= 0 || d > (1 << 24) || input->rank == 3) { input->rank = -1; break; }
                input->d[input->rank++] = (int)d;
            }
            if (lt_shape_check(input) != 0) { snprintf(err, sizeof err, "line %d: bad input shape", lineno); break; }
        } else if (strcmp(word, "model") == 0) {
            char *name = strtok_r(NULL, " \t", &save);
            if (!name || depth == MAX_DEPTH || closed) { snprintf(err, sizeof err, "line %d: bad model line", lineno); break; }
            lt_model *m;
            if ((st = lt_sequential(ctx, name, &m)) != LT_OK) break;
            if (depth == 0) root = m;
            else if ((st = lt_add_model(stack[depth - 1], m)) != LT_OK) { lt_model_free(m); break; }
            stack[depth++] = m;
        } else if (strcmp(word, "end") == 0) {
            if (depth == 0) { snprintf(err, sizeof err, "line %d: 'end' without 'model'", lineno); break; }
            if (--depth == 0) closed = 1;
        } else if (strcmp(word, "layer") == 0) {
            char *tag = strtok_r(NULL, " \t", &save), *name = strtok_r(NULL, " \t", &save);
            lt_kv kv;
            if (!tag || !name || depth == 0 || parse_kv(&save, &kv) != 0) { snprintf(err, sizeof err, "line %d: bad layer line", lineno); break; }
            char lerr[200];
            lt_layer *l = lt_layer_from_config(tag, &kv, lerr, sizeof lerr);
            if (!l) { snprintf(err, sizeof err, "line %d: %s", lineno, lerr); break; }
            if (strlen(name) >= sizeof l->name) { lt_layer_free(l); snprintf(err, sizeof err, "line %d: layer name too long", lineno); break; }
            if ((st = lt_add(stack[depth - 1], l)) != LT_OK) break;
            snprintf(l->name, sizeof l->name, "%s", name);
        } else if (strcmp(word, "loss") == 0) {
            char *v = strtok_r(NULL, " \t", &save);
            int k = -1;
            for (int i = 0; v && i < (int)(sizeof loss_names / sizeof loss_names[0]); i++)
                if (strcmp(v, loss_names[i]) == 0) k = i;
            if (k < 0) { snprintf(err, sizeof err, "line %d: unknown loss", lineno); break; }
            *loss = (lt_loss)k;
            have_loss = 1;
        } else if (strcmp(word, "optimizer") == 0) {
            char *v = strtok_r(NULL, " \t", &save);
            int k = -1;
            for (int i = 0; v && i < 3; i++) if (strcmp(v, optim_names[i]) == 0) k = i;
            lt_kv kv;
            if (k < 0 || parse_kv(&save, &kv) != 0) { snprintf(err, sizeof err, "line %d: bad optimizer line", lineno); break; }
            *opt = lt_optimizer_defaults((lt_optim_kind)k);
            float *fields[] = {&opt->lr, &opt->momentum, &opt->rho, &opt->beta1, &opt->beta2, &opt->epsilon,
                               &opt->clipnorm, &opt->global_clipnorm};
            const char *names[] = {"lr", "momentum", "rho", "beta1", "beta2", "epsilon", "clipnorm", "global_clipnorm"};
            int badnum = 0;
            for (int i = 0; i < 8; i++) {
                const char *s = lt_kv_get(&kv, names[i]);
                char *end;
                if (s) { *fields[i] = strtof(s, &end); badnum |= *end != 0 || end == s; }
            }
            if (badnum) { snprintf(err, sizeof err, "line %d: bad number in optimizer line", lineno); break; }
            const char *nv = lt_kv_get(&kv, "nesterov");
            opt->nesterov = nv && strcmp(nv, "1") == 0;
            have_opt = 1;
        } else {
            snprintf(err, sizeof err, "line %d: unknown keyword '%.40s'", lineno, word);
            break;
        }
    }
    if (st == LT_OK && !err[0] && (!root || depth != 0 || input->rank == 0))
        snprintf(err, sizeof err, "architecture is incomplete");
    if (st != LT_OK || err[0]) {
        lt_model_free(root);
        if (err[0]) return lt_set_error(ctx, LT_ERR_FORMAT, "%s: %s", path, err);
        return st;
    }
    *has_train = have_loss && have_opt;
    *out = root;
    return LT_OK;
}

/* Converts little-endian float32 words into host floats, rejecting non-finite. */
static int get_floats(const unsigned char *p, size_t n, float *x)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = get_u32(p + 4 * i);
        memcpy(&x[i], &u, 4);
        if (!isfinite(x[i])) return -1;
    }
    return 0;
}

int lt_file_is_model(const char *path)
{
    lt_status st;
    FILE *f = path ? lt_fopen_regular(NULL, path, &st) : NULL;
    if (!f) return 0;
    char head[8];
    int is_model = fread(head, 1, 8, f) == 8 && memcmp(head, MAGIC, 8) == 0;
    fclose(f);
    return is_model;
}

/* The sections of a model file, by kind. */
enum { ARCH, WGHT, OPTS, META, PROG, BEST, NSEC };
static const char section_tags[NSEC][4] = {{'A', 'R', 'C', 'H'}, {'W', 'G', 'H', 'T'}, {'O', 'P', 'T', 'S'},
                                           {'M', 'E', 'T', 'A'}, {'P', 'R', 'O', 'G'}, {'B', 'E', 'S', 'T'}};

/* Reads the sections of the model file at path into sec[] (malloc'ed, NUL-terminated)
 * and their lengths into seclen[], checking the header, every length against the file
 * size and every CRC32 read. With notes_only, only META is read and checked; the other
 * payloads are skipped. On failure, frees what it read. */
static lt_status read_sections(lt_ctx *ctx, const char *path, int notes_only, unsigned char *sec[NSEC], uint64_t seclen[NSEC])
{
    for (int k = 0; k < NSEC; k++) { sec[k] = NULL; seclen[k] = 0; }
    lt_status st;
    FILE *f = lt_fopen_regular(ctx, path, &st);
    if (!f) return st;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) { fclose(f); return lt_set_error(ctx, LT_ERR_IO, "%s: cannot stat: %s", path, strerror(errno)); }
    uint64_t size = (uint64_t)sb.st_size;
    unsigned char head[16];
    if (size < 16 || fread(head, 1, 16, f) != 16 || memcmp(head, MAGIC, 8) != 0) {
        fclose(f);
        return lt_set_error(ctx, LT_ERR_FORMAT, "%s: not a latent model file (bad magic)", path);
    }
    uint32_t version = get_u32(head + 8), nsec = get_u32(head + 12);
    if (version != VERSION) { fclose(f); return lt_set_error(ctx, LT_ERR_FORMAT, "%s: model file version %u, this latent reads version %u", path, version, VERSION); }
    if (nsec < 2 || nsec > NSEC) { fclose(f); return lt_set_error(ctx, LT_ERR_FORMAT, "%s: %u sections (expected 2 to %d)", path, nsec, NSEC); }
    int seen[NSEC] = {0};
    uint64_t pos = 16;
    for (uint32_t s = 0; s < nsec && st == LT_OK; s++) {
        unsigned char sh[16];
        if (size - pos < 16 || fread(sh, 1, 16, f) != 16) { st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: truncated (section %u header)", path, s + 1); break; }
        pos += 16;
        uint64_t len = get_u64(sh + 8);
        if (get_u32(sh + 4) != 0) { st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: section %u has unknown flags", path, s + 1); break; }
        if (len > size - pos || size - pos - len < 4) { st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: truncated (section '%.4s' claims %llu bytes, %llu left)", path, (const char *)sh, (unsigned long long)len, (unsigned long long)(size - pos)); break; }
        int k = -1;
        for (int t = 0; t < NSEC; t++)
            if (memcmp(sh, section_tags[t], 4) == 0) k = t;
        if (k < 0 || seen[k]) { st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: unexpected section '%.4s'", path, (const char *)sh); break; }
        seen[k] = 1;
        if ((k == ARCH || k == META || k == PROG) && len > MAX_ARCH_BYTES) { st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: section '%.4s' too large", path, (const char *)sh); break; }
        if (notes_only && k != META) { /* skip the payload and its CRC */
            if (fseeko(f, (off_t)(len + 4), SEEK_CUR) != 0) { st = lt_set_error(ctx, LT_ERR_IO, "%s: cannot seek: %s", path, strerror(errno)); break; }
            pos += len + 4;
            continue;
        }
        sec[k] = malloc(len + 1);
        if (!sec[k]) { st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of host memory for %llu bytes", path, (unsigned long long)len); break; }
        unsigned char crcb[4];
        if (fread(sec[k], 1, len, f) != len || fread(crcb, 1, 4, f) != 4) { st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: truncated", path); break; }
        pos += len + 4;
        sec[k][len] = 0;
        seclen[k] = len;
        uLong crc = crc32(0L, Z_NULL, 0);
        for (uint64_t off = 0; off < len;) {
            uInt chunk = len - off > (1u << 30) ? (1u << 30) : (uInt)(len - off);
            crc = crc32(crc, sec[k] + off, chunk);
            off += chunk;
        }
        if ((uint32_t)crc != get_u32(crcb)) st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: section '%.4s' is corrupted (CRC32 mismatch)", path, (const char *)sh);
        /* notes are text: a NUL would cut a key short in lt_load and end lt_file_meta's scan */
        else if (k == META && memchr(sec[k], 0, len)) st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: the notes section contains a NUL byte", path);
    }
    if (st == LT_OK && pos != size) st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: %llu unexpected bytes after the last section", path, (unsigned long long)(size - pos));
    if (st == LT_OK && (!seen[ARCH] || !seen[WGHT])) st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: missing architecture or weights section", path);
    fclose(f);
    if (st != LT_OK)
        for (int k = 0; k < NSEC; k++) { free(sec[k]); sec[k] = NULL; }
    return st;
}

lt_status lt_load(lt_ctx *ctx, const char *path, lt_model **out)
{
    if (!ctx || !path || !out) return lt_set_error(ctx, LT_ERR_ARG, "lt_load: NULL argument");
    *out = NULL;
    unsigned char *sec[NSEC];
    uint64_t seclen[NSEC];
    lt_model *m = NULL;
    lt_status st = read_sections(ctx, path, 0, sec, seclen);
    lt_shape input = {0, {0, 0, 0}};
    int has_train = 0;
    lt_loss loss = LT_LOSS_MSE;
    lt_optimizer opt = lt_optimizer_defaults(LT_ADAM);
    if (st == LT_OK && memchr(sec[ARCH], 0, seclen[ARCH])) st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: architecture text contains a NUL byte", path);
    if (st == LT_OK) st = parse_arch(ctx, path, (char *)sec[ARCH], &m, &input, &loss, &opt, &has_train);
    /* Shapes, and so the parameter count, come first; the weights section must hold
     * exactly that many floats before any device memory is allocated, so a small file
     * cannot make us allocate more than it carries. */
    size_t np = 0;
    char why[1024];
    if (st == LT_OK && lt_build_shapes_only(m, &input) != LT_OK) {
        snprintf(why, sizeof why, "%s", lt_ctx_error(ctx)); /* ctx->error is rewritten below */
        st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: inconsistent architecture: %.900s", path, why);
    }
    if (st == LT_OK) {
        np = m->n_params;
        if (seclen[WGHT] != 4 * (uint64_t)np)
            st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: weights section has %llu bytes, the architecture needs %zu parameters (%zu bytes)", path,
                              (unsigned long long)seclen[WGHT], np, 4 * np);
    }
    if (st == LT_OK) st = lt_build_from_shape(m, &input, 0, 0);
    float *host = NULL;
    if (st == LT_OK && np) {
        host = malloc(np * sizeof *host);
        if (!host) st = lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
        else if (get_floats(sec[WGHT], np, host) != 0) st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: non-finite weight", path);
        else st = lt_be_upload(ctx->be, m->params, 0, host, np);
    }
    if (st == LT_OK && has_train && lt_compile(m, loss, &opt) != LT_OK) {
        snprintf(why, sizeof why, "%s", lt_ctx_error(ctx));
        st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: bad training settings: %.900s", path, why);
    }
    if (st == LT_OK && sec[OPTS]) {
        size_t ns = (size_t)lt_optim_moments(&m->train.opt) * np;
        if (!has_train || seclen[OPTS] != 8 + 4 * (uint64_t)ns) {
            st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: optimizer state has %llu bytes, expected %zu", path, (unsigned long long)seclen[OPTS], 8 + 4 * ns);
        } else if (ns) {
            float *state = malloc(ns * sizeof *state);
            if (!state) st = lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
            else if (get_floats(sec[OPTS] + 8, ns, state) != 0) st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: non-finite optimizer state", path);
            else st = lt_be_upload(ctx->be, m->train.state, 0, state, ns);
            free(state);
        }
        if (st == LT_OK && get_u64(sec[OPTS]) > ((uint64_t)1 << 53))
            st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: implausible optimizer step count %llu", path, (unsigned long long)get_u64(sec[OPTS]));
        if (st == LT_OK) m->train.steps = get_u64(sec[OPTS]);
    }
    if (st == LT_OK && (sec[PROG] || sec[BEST]) && !sec[OPTS])
        st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: a training run's record without the optimizer state", path);
    if (st == LT_OK && sec[PROG] && lt_fit_run_parse(&m->train.run, (const char *)sec[PROG], seclen[PROG], why, sizeof why) != 0)
        st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: bad training run record: %s", path, why);
    if (st == LT_OK && sec[BEST]) {
        if (!sec[PROG] || !m->train.run.restore_best || seclen[BEST] != 4 * (uint64_t)np || !np)
            st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: a best-weights section of %llu bytes that the run does not explain", path,
                              (unsigned long long)seclen[BEST]);
        else if (get_floats(sec[BEST], np, host) != 0) st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: non-finite best weight", path);
        else if ((st = lt_alloc_named(ctx, np, "the best weights' copy", &m->train.best)) == LT_OK)
            st = lt_be_upload(ctx->be, m->train.best, 0, host, np);
    }
    free(host);
    if (st == LT_OK && sec[META]) {
        if (lt_meta_read_text(m, (const char *)sec[META], seclen[META], why, sizeof why) != LT_OK)
            st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: bad notes section: %s", path, why);
    }
    for (int k = 0; k < NSEC; k++) free(sec[k]);
    if (st != LT_OK) { lt_model_free(m); return st; }
    *out = m;
    return LT_OK;
}

int lt_file_meta(const char *path, const char *key, char *value, size_t size)
{
    unsigned char *sec[NSEC];
    uint64_t seclen[NSEC];
    if (!path || !key || !value || !size || read_sections(NULL, path, 1, sec, seclen) != LT_OK) return -1;
    int found = 0;
    size_t klen = strlen(key);
    for (const char *line = (const char *)sec[META]; line && *line && !found;) {
        const char *nl = strchr(line, '\n');
        if (!nl) break;
        if ((size_t)(nl - line) > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
            size_t vlen = (size_t)(nl - line) - klen - 1;
            found = vlen < size ? 1 : -1;
            if (found == 1) {
                memcpy(value, line + klen + 1, vlen);
                value[vlen] = 0;
            }
        }
        line = nl + 1;
    }
    free(sec[META]);
    return found;
}

lt_loss lt_model_loss(const lt_model *m) { return m ? m->train.loss : LT_LOSS_MSE; }
