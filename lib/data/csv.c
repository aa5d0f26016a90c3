/* Numeric CSV tables: comma separated, an optional header row, every other cell a
 * finite number. Cells may be wrapped in double quotes ("" inside stands for ").
 * Blank lines are skipped and CRLF line ends are accepted. Errors name the file, the
 * line (1-based, as an editor shows it) and the column (1-based, with its header name).
 * Numbers are read with strtod, so the decimal point is the C locale's unless the
 * program has called setlocale. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#define CSV_MAX_LINE (1u << 20)        /* bytes per line, without the line end */
#define CSV_MAX_CELLS 100000000u       /* cells in the whole table             */

/* What read_line found. */
enum { LINE_OK, LINE_EOF, LINE_TOO_LONG, LINE_READ_ERROR, LINE_NOMEM };

/* The parser's state; everything here is freed by csv_free. */
typedef struct csv {
    lt_ctx *ctx;
    const char *path;
    FILE *f;
    char *line;              /* current line, NUL-terminated, cells cut in place */
    size_t line_cap, line_len;
    size_t line_no;          /* 1-based number of the current line          */
    char **cells;            /* the current line's cells                    */
    size_t ncells, cells_cap;
    char *header;            /* copy of the header line (NULL when none)     */
    char **names;            /* ncols pointers into header                  */
    size_t ncols;            /* 0 until the first non-blank line            */
    size_t first_line;       /* line that fixed ncols                       */
    float *x;                /* rows * ncols values                         */
    size_t nvals, vals_cap;
} csv;

/* Reads the next line, without its '\n', into c->line; embedded NULs are kept so
 * the caller can report them. */
static int read_line(csv *c)
{
    size_t len = 0;
    int ch;
    while ((ch = getc(c->f)) != EOF && ch != '\n') {
        if (len == CSV_MAX_LINE) return LINE_TOO_LONG;
        if (len + 1 >= c->line_cap) {
            size_t cap = c->line_cap ? c->line_cap * 2 : 256;
            if (cap > CSV_MAX_LINE + 1) cap = CSV_MAX_LINE + 1;
            char *p = realloc(c->line, cap);
            if (!p) return LINE_NOMEM;
            c->line = p;
            c->line_cap = cap;
        }
        c->line[len++] = (char)ch;
    }
    if (ferror(c->f)) return LINE_READ_ERROR;
    if (ch == EOF && len == 0) return LINE_EOF;
    if (!c->line) { /* an empty line before any allocation */
        c->line = malloc(256);
        if (!c->line) return LINE_NOMEM;
        c->line_cap = 256;
    }
    if (len > 0 && c->line[len - 1] == '\r') len--; /* CRLF */
    c->line[len] = '\0';
    c->line_len = len;
    return LINE_OK;
}

/* Cuts the next cell out of the line at *pos, in place: trims blanks and removes
 * enclosing quotes. Sets *pos to the following cell, or NULL after the last one.
 * Returns the cell, or NULL when a quote is not closed properly. */
static char *next_cell(char **pos)
{
    char *p = *pos, *cell, *end;
    while (*p == ' ' || *p == '\t') p++;
    cell = p;
    if (*p == '"') {
        char *w = p++; /* the unquoted text is written over the quoted text, behind p */
        for (;;) {
            if (!*p) return NULL;
            if (*p == '"' && p[1] != '"') break;
            if (*p == '"') p++; /* "" -> " */
            *w++ = *p++;
        }
        end = w;
        p++;
        while (*p == ' ' || *p == '\t') p++;
        if (*p && *p != ',') return NULL;
    } else {
        while (*p && *p != ',') p++;
        end = p;
        while (end > cell && (end[-1] == ' ' || end[-1] == '\t')) end--;
    }
    *pos = *p == ',' ? p + 1 : NULL; /* read *p before *end = 0 may overwrite it */
    *end = '\0';
    return cell;
}

/* Splits c->line into c->cells. */
static lt_status split_line(csv *c)
{
    c->ncells = 0;
    char *pos = c->line;
    while (pos) {
        if (c->ncells == c->cells_cap) {
            size_t cap = c->cells_cap ? c->cells_cap * 2 : 64; /* bounded by the line length */
            char **p = realloc(c->cells, cap * sizeof *p);
            if (!p) return lt_set_error(c->ctx, LT_ERR_NOMEM, "%s: out of memory on line %zu", c->path, c->line_no);
            c->cells = p;
            c->cells_cap = cap;
        }
        size_t col = c->ncells + 1;
        char *cell = next_cell(&pos);
        if (!cell)
            return lt_set_error(c->ctx, LT_ERR_FORMAT, "%s: line %zu, column %zu: unbalanced double quote",
                                c->path, c->line_no, col);
        c->cells[c->ncells++] = cell;
    }
    return LT_OK;
}

/* Parses a whole cell as a number (finite or not); returns 1 on success. */
static int parse_number(const char *s, double *v)
{
    if (!*s) return 0;
    char *end;
    *v = strtod(s, &end);
    return *end == '\0';
}

/* Keeps the current line's cells as the header's column names. */
static lt_status keep_header(csv *c)
{
    c->header = malloc(c->line_len + 1);
    c->names = malloc(c->ncells * sizeof *c->names);
    if (!c->header || !c->names)
        return lt_set_error(c->ctx, LT_ERR_NOMEM, "%s: out of memory for the header", c->path);
    memcpy(c->header, c->line, c->line_len + 1);
    for (size_t i = 0; i < c->ncells; i++) c->names[i] = c->header + (c->cells[i] - c->line);
    return LT_OK;
}

/* Appends the current line's cells as a row of numbers. */
static lt_status add_row(csv *c)
{
    if (c->ncells != c->ncols)
        return lt_set_error(c->ctx, LT_ERR_FORMAT, "%s: line %zu has %zu column%s, expected %zu (as on line %zu)",
                            c->path, c->line_no, c->ncells, c->ncells == 1 ? "" : "s", c->ncols, c->first_line);
    if (c->nvals + c->ncols > CSV_MAX_CELLS)
        return lt_set_error(c->ctx, LT_ERR_FORMAT, "%s: line %zu: more than %u cells in the table", c->path,
                            c->line_no, CSV_MAX_CELLS);
    if (c->nvals + c->ncols > c->vals_cap) {
        size_t cap = c->vals_cap ? c->vals_cap * 2 : 1024; /* <= 2 * CSV_MAX_CELLS: no overflow */
        while (cap < c->nvals + c->ncols) cap *= 2;
        float *p = realloc(c->x, cap * sizeof *p);
        if (!p) return lt_set_error(c->ctx, LT_ERR_NOMEM, "%s: out of memory at line %zu", c->path, c->line_no);
        c->x = p;
        c->vals_cap = cap;
    }
    for (size_t j = 0; j < c->ncols; j++) {
        const char *s = c->cells[j];
        double v;
        const char *why = NULL;
        if (!parse_number(s, &v)) why = "is not a number";
        else if (!isfinite(v)) why = "is not finite";
        else if (fabs(v) > FLT_MAX) why = "is out of float range";
        if (why) {
            char col[160] = "";
            if (c->names) snprintf(col, sizeof col, " (\"%.120s\")", c->names[j]);
            return lt_set_error(c->ctx, LT_ERR_FORMAT, "%s: line %zu, column %zu%s: cell \"%.60s%s\" %s", c->path,
                                c->line_no, j + 1, col, s, strlen(s) > 60 ? "..." : "", why);
        }
        c->x[c->nvals++] = (float)v;
    }
    return LT_OK;
}

/* Handles one non-blank line: the first decides header and width. */
static lt_status take_line(csv *c)
{
    if (strlen(c->line) != c->line_len)
        return lt_set_error(c->ctx, LT_ERR_FORMAT, "%s: line %zu contains a NUL byte (not a text file?)", c->path,
                            c->line_no);
    lt_status st = split_line(c);
    if (st != LT_OK) return st;
    if (c->ncols == 0) {
        c->ncols = c->ncells;
        c->first_line = c->line_no;
        for (size_t j = 0; j < c->ncells; j++) {
            double v;
            if (!parse_number(c->cells[j], &v)) return keep_header(c); /* any text cell: a header */
        }
    }
    return add_row(c);
}

/* True when a line holds only blanks. */
static int is_blank(const char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    return *s == '\0';
}

/* Frees everything the parser holds except a dataset it handed out. */
static void csv_free(csv *c)
{
    if (c->f) fclose(c->f);
    free(c->line);
    free(c->cells);
    free(c->header);
    free(c->names);
    free(c->x);
}

/* Reads the whole table, then moves its values into a new dataset. */
lt_status lt_dataset_load_csv(lt_ctx *ctx, const char *path, lt_dataset **out)
{
    if (!out) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_load_csv: out is NULL");
    *out = NULL;
    if (!path) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_load_csv: path is NULL");
    csv c;
    memset(&c, 0, sizeof c);
    c.ctx = ctx;
    c.path = path;
    c.f = fopen(path, "rb");
    if (!c.f) return lt_set_error(ctx, LT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    lt_status st = LT_OK;
    for (;;) {
        int r = read_line(&c);
        if (r == LINE_EOF) break;
        c.line_no++;
        if (r == LINE_TOO_LONG)
            st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: line %zu is longer than %u bytes", path, c.line_no,
                              CSV_MAX_LINE);
        else if (r == LINE_READ_ERROR)
            st = lt_set_error(ctx, LT_ERR_IO, "%s: read failed at line %zu: %s", path, c.line_no, strerror(errno));
        else if (r == LINE_NOMEM)
            st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory at line %zu", path, c.line_no);
        else if (!is_blank(c.line))
            st = take_line(&c);
        if (st != LT_OK) break;
    }
    if (st == LT_OK && c.nvals == 0)
        st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: %s", path,
                          c.line_no == 0 ? "empty file" : c.header ? "a header but no data rows" : "no data rows");
    lt_dataset *ds = NULL;
    if (st == LT_OK) {
        ds = calloc(1, sizeof *ds);
        if (!ds) st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == LT_OK) {
        /* hand the value array over instead of copying it; shrinking cannot fail badly */
        float *x = realloc(c.x, c.nvals * sizeof *x);
        ds->x = x ? x : c.x;
        c.x = NULL;
        ds->n = c.nvals / c.ncols;
        ds->dim = c.ncols;
        *out = ds;
    }
    csv_free(&c);
    return st;
}
