/* A model's notes: key=value text that travels with it in its file (the META
 * section), so a program can record how the model was trained (its task, its data's
 * preprocessing) and apply the same when it loads the model again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

/* Whether key is 1..LT_META_KEY_MAX of [A-Za-z0-9_.-]. */
static int key_ok(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > LT_META_KEY_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = key[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == '.' || c == '-';
        if (!ok) return 0;
    }
    return 1;
}

/* Whether value has at most LT_META_VALUE_MAX bytes and no control characters (so
 * no newline: a note is one line of the section). */
static int value_ok(const char *value, size_t n)
{
    if (n > LT_META_VALUE_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f) return 0;
    return 1;
}

/* The index of key among m's notes, or -1. */
static int find(const lt_model *m, const char *key)
{
    for (int i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta[i].key, key) == 0) return i;
    return -1;
}

lt_status lt_model_set_meta(lt_model *m, const char *key, const char *value)
{
    if (!m || !key) return m ? lt_set_error(m->ctx, LT_ERR_ARG, "lt_model_set_meta: NULL key") : LT_ERR_ARG;
    if (!key_ok(key))
        return lt_set_error(m->ctx, LT_ERR_ARG, "model note key '%.80s': expected 1 to %d letters, digits, '_', '.' or '-'",
                            key, LT_META_KEY_MAX);
    int at = find(m, key);
    if (!value) { /* removal */
        if (at < 0) return LT_OK;
        free(m->meta[at].key);
        free(m->meta[at].value);
        m->meta[at] = m->meta[--m->n_meta];
        return LT_OK;
    }
    size_t n = strlen(value);
    if (!value_ok(value, n))
        return lt_set_error(m->ctx, LT_ERR_ARG, "model note '%s': the value must be at most %d bytes with no control "
                            "characters", key, LT_META_VALUE_MAX);
    char *v = malloc(n + 1);
    if (!v) return lt_set_error(m->ctx, LT_ERR_NOMEM, "out of host memory");
    memcpy(v, value, n + 1);
    if (at >= 0) {
        free(m->meta[at].value);
        m->meta[at].value = v;
        return LT_OK;
    }
    if (m->n_meta == LT_META_MAX) {
        free(v);
        return lt_set_error(m->ctx, LT_ERR_ARG, "model note '%s': a model holds at most %d notes", key, LT_META_MAX);
    }
    char *k = malloc(strlen(key) + 1);
    if (!k) { free(v); return lt_set_error(m->ctx, LT_ERR_NOMEM, "out of host memory"); }
    strcpy(k, key);
    if (!m->meta && !(m->meta = calloc(LT_META_MAX, sizeof *m->meta))) {
        free(k);
        free(v);
        return lt_set_error(m->ctx, LT_ERR_NOMEM, "out of host memory");
    }
    m->meta[m->n_meta].key = k;
    m->meta[m->n_meta].value = v;
    m->n_meta++;
    return LT_OK;
}

const char *lt_model_meta(const lt_model *m, const char *key)
{
    int at = m && key ? find(m, key) : -1;
    return at >= 0 ? m->meta[at].value : NULL;
}

int lt_model_meta_count(const lt_model *m) { return m ? m->n_meta : 0; }

const char *lt_model_meta_key(const lt_model *m, int i)
{
    return m && i >= 0 && i < m->n_meta ? m->meta[i].key : NULL;
}

void lt_meta_free(lt_model *m)
{
    for (int i = 0; i < m->n_meta; i++) {
        free(m->meta[i].key);
        free(m->meta[i].value);
    }
    free(m->meta);
    m->meta = NULL;
    m->n_meta = 0;
}

size_t lt_meta_text_size(const lt_model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->n_meta; i++) n += strlen(m->meta[i].key) + 1 + strlen(m->meta[i].value) + 1;
    return n;
}

void lt_meta_write_text(const lt_model *m, char *out)
{
    for (int i = 0; i < m->n_meta; i++) {
        size_t k = strlen(m->meta[i].key), v = strlen(m->meta[i].value);
        memcpy(out, m->meta[i].key, k);
        out[k] = '=';
        memcpy(out + k + 1, m->meta[i].value, v);
        out[k + 1 + v] = '\n';
        out += k + v + 2;
    }
}

lt_status lt_meta_read_text(lt_model *m, const char *text, size_t n, char *why, size_t why_size)
{
    size_t pos = 0;
    int line = 0;
    char key[LT_META_KEY_MAX + 1];
    while (pos < n) {
        line++;
        const char *nl = memchr(text + pos, '\n', n - pos), *eq = memchr(text + pos, '=', n - pos);
        if (!nl) { snprintf(why, why_size, "note %d does not end with a newline", line); return LT_ERR_FORMAT; }
        size_t klen = eq && eq < nl ? (size_t)(eq - (text + pos)) : 0;
        if (klen == 0 || klen > LT_META_KEY_MAX) { snprintf(why, why_size, "note %d: bad key", line); return LT_ERR_FORMAT; }
        memcpy(key, text + pos, klen);
        key[klen] = 0;
        size_t vlen = (size_t)(nl - eq - 1);
        if (!key_ok(key) || !value_ok(eq + 1, vlen)) {
            snprintf(why, why_size, "note %d ('%.64s'): bad key or value", line, key);
            return LT_ERR_FORMAT;
        }
        if (find(m, key) >= 0) { snprintf(why, why_size, "note '%s' appears twice", key); return LT_ERR_FORMAT; }
        char *value = malloc(vlen + 1);
        if (!value) { snprintf(why, why_size, "out of host memory"); return LT_ERR_NOMEM; }
        memcpy(value, eq + 1, vlen);
        value[vlen] = 0;
        lt_status st = lt_model_set_meta(m, key, value);
        free(value);
        if (st != LT_OK) { snprintf(why, why_size, "note %d: %s", line, lt_ctx_error(m->ctx)); return st; }
        pos = (size_t)(nl - text) + 1;
    }
    return LT_OK;
}
