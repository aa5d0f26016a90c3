/* Numeric CSV tables: comma separated, an optional header row, every other cell a
 * finite number. Cells may be wrapped in double quotes ("" inside stands for ").
 * Blank lines are skipped and CRLF line ends are accepted. Errors name the file, the
 * line (1-based, as an editor shows it) and the column (1-based, with its header name).
 * Numbers are read with strtod, so the decimal point is the C locale's unless the
 * program has called setlocale.
 * A selection of columns (numbers, ranges, header names) reads only those, so other
 * columns may hold text such as dates. Empty cells are missing values: an error, or
 * filled by linear interpolation along the rows when asked. */
#include <ctype.h>
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

/* Most items a column selection may list. */
#define CSV_MAX_ITEMS 4096

/* What read_line found. */
enum { LINE_OK, LINE_EOF, LINE_TOO_LONG, LINE_READ_ERROR, LINE_NOMEM };

/* One item of a column selection: a 1-based range lo..hi (a single column when lo ==
 * hi), or a header name when name is set. */
typedef struct col_item {
    size_t lo, hi;
    const char *name;
} col_item;

/* The parser's state; everything here is freed by csv_free. */
typedef struct csv {
    lt_ctx *ctx;
    const char *path;
    int interpolate;         /* fill empty cells between values of their column   */
    char *spec;              /* copy of the selection text, items cut in place   */
    col_item *items;         /* the selection's items (NULL: every column)      */
    size_t nitems;
    int by_name;             /* some item is a header name                      */
    size_t *sel;             /* 0-based file columns read, in selection order    */
    size_t nsel;             /* values per row                                   */
    size_t *gap_line;        /* per selected column: line of the first empty cell
                                of the open run of empty cells, 0 when none     */
    unsigned char *seen;     /* per selected column: a value has been read       */
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
    float *x;                /* rows * nsel values (NaN: missing, filled later) */
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
    /* A UTF-8 byte-order mark (spreadsheets write one) is not part of the first cell. */
    if (c->line_no == 0 && len >= 3 && memcmp(c->line, "\xEF\xBB\xBF", 3) == 0) {
        memmove(c->line, c->line + 3, len - 2);
        len -= 3;
    }
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

/* Writes " (\"name\")" for 0-based file column j when the file has a header, else "". */
static const char *col_label(const csv *c, size_t j, char *buf, size_t len)
{
    buf[0] = '\0';
    if (c->names) snprintf(buf, len, " (\"%.120s\")", c->names[j]);
    return buf;
}

/* Parses a whole run of decimal digits as a positive number; 0 when it is not one. */
static size_t parse_position(const char *s, const char *end)
{
    size_t v = 0;
    if (s == end) return 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9' || v > ((size_t)1 << 40)) return 0;
        v = v * 10 + (size_t)(*s - '0');
    }
    return v;
}

/* Cuts the selection text into items: numbers and ranges A-B of digits are column
 * positions, anything else a header name. */
static lt_status parse_selection(csv *c, const char *columns)
{
    size_t n = 1;
    for (const char *p = columns; *p; p++) n += *p == ',';
    if (n > CSV_MAX_ITEMS)
        return lt_set_error(c->ctx, LT_ERR_ARG, "columns: more than %d items", CSV_MAX_ITEMS);
    c->spec = malloc(strlen(columns) + 1);
    c->items = calloc(n, sizeof *c->items);
    if (!c->spec || !c->items) return lt_set_error(c->ctx, LT_ERR_NOMEM, "out of memory for a column selection");
    strcpy(c->spec, columns);
    char *pos = c->spec;
    for (size_t i = 0; i < n; i++) {
        char *item = pos, *comma = strchr(pos, ',');
        if (comma) *comma = '\0';
        pos = comma ? comma + 1 : NULL;
        while (*item == ' ' || *item == '\t') item++;
        char *end = item + strlen(item);
        while (end > item && (end[-1] == ' ' || end[-1] == '\t')) *--end = '\0';
        if (!*item)
            return lt_set_error(c->ctx, LT_ERR_ARG, "columns \"%s\": item %zu is empty", columns, i + 1);
        col_item *it = &c->items[c->nitems++];
        char *dash = strchr(item, '-');
        size_t lo = parse_position(item, dash ? dash : end), hi = dash ? parse_position(dash + 1, end) : lo;
        int digits_only = item[strspn(item, "0123456789-")] == '\0';
        if (lo && hi) {
            if (hi < lo)
                return lt_set_error(c->ctx, LT_ERR_ARG, "columns \"%s\": range %s runs backwards", columns, item);
            it->lo = lo;
            it->hi = hi;
        } else if (digits_only) { /* "0", "3-", "-2": meant as positions, but not valid ones */
            return lt_set_error(c->ctx, LT_ERR_ARG, "columns \"%s\": '%s' is not a column number (1, 2, ...) or a "
                                "range like 2-13", columns, item);
        } else {
            it->name = item;
            c->by_name = 1;
        }
    }
    return LT_OK;
}

/* Whether the first line is a header: some cell that will be read holds text. With
 * names in the selection the header is needed, so every cell counts; empty cells
 * (missing values) never make a header. */
static int looks_like_header(const csv *c)
{
    for (size_t j = 0; j < c->ncells; j++) {
        int selected = !c->items || c->by_name;
        for (size_t i = 0; !selected && i < c->nitems; i++) selected = j + 1 >= c->items[i].lo && j + 1 <= c->items[i].hi;
        double v;
        if (selected && c->cells[j][0] && !parse_number(c->cells[j], &v)) return 1;
    }
    return 0;
}

/* The 0-based column of header name `name`: the exact name, else the one name that
 * matches ignoring case; an error naming the header's columns when there is none. */
static lt_status find_name(csv *c, const char *name, size_t *col)
{
    if (!c->names)
        return lt_set_error(c->ctx, LT_ERR_ARG, "%s: column \"%s\": the file has no header row to find names in "
                            "(select its %zu columns by number)", c->path, name, c->ncols);
    size_t found = 0, match = 0;
    for (size_t j = 0; j < c->ncols; j++)
        if (strcmp(c->names[j], name) == 0) {
            *col = j;
            return LT_OK;
        }
    for (size_t j = 0; j < c->ncols; j++) {
        const char *a = c->names[j], *b = name;
        while (*a && tolower((unsigned char)*a) == tolower((unsigned char)*b)) a++, b++;
        if (!*a && !*b) { match = j; found++; }
    }
    if (found == 1) {
        *col = match;
        return LT_OK;
    }
    char list[400] = "";
    for (size_t j = 0; j < c->ncols && strlen(list) < sizeof list - 130; j++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%.60s\"", j ? ", " : "", c->names[j]);
    if (strlen(list) >= sizeof list - 130 && c->ncols > 1) strcat(list, ", ...");
    return lt_set_error(c->ctx, LT_ERR_ARG, "%s: no column named \"%s\"%s (the header has %s)", c->path, name,
                        found > 1 ? " (several differ from it only in case)" : "", list);
}

/* Resolves the selection against the first line: which file columns are read. Each
 * column is read at most once, so ncols entries suffice. */
static lt_status resolve_selection(csv *c)
{
    c->sel = malloc(c->ncols * sizeof *c->sel);
    c->gap_line = calloc(c->ncols, sizeof *c->gap_line);
    c->seen = calloc(c->ncols, 1);
    unsigned char *taken = calloc(c->ncols, 1);
    lt_status st = LT_OK;
    if (!c->sel || !c->gap_line || !c->seen || !taken) st = lt_set_error(c->ctx, LT_ERR_NOMEM, "%s: out of memory", c->path);
    for (size_t i = 0; st == LT_OK && i < (c->items ? c->nitems : 1); i++) {
        size_t lo = 1, hi = c->ncols; /* no selection: every column */
        if (c->items && c->items[i].name) {
            st = find_name(c, c->items[i].name, &lo);
            hi = ++lo;
        } else if (c->items) {
            lo = c->items[i].lo;
            hi = c->items[i].hi;
            if (hi > c->ncols)
                st = lt_set_error(c->ctx, LT_ERR_ARG, "%s: column %zu does not exist: the file has %zu column%s", c->path,
                                  hi, c->ncols, c->ncols == 1 ? "" : "s");
        }
        for (size_t j = lo - 1; st == LT_OK && j < hi; j++) {
            char label[160];
            if (taken[j]) {
                st = lt_set_error(c->ctx, LT_ERR_ARG, "%s: column %zu%s is selected twice", c->path, j + 1,
                                  col_label(c, j, label, sizeof label));
                break;
            }
            taken[j] = 1;
            c->sel[c->nsel++] = j;
        }
    }
    free(taken);
    return st;
}

/* Appends the current line's selected cells as a row of numbers; an empty cell is a
 * NaN placeholder when interpolating. */
static lt_status add_row(csv *c)
{
    if (c->ncells != c->ncols)
        return lt_set_error(c->ctx, LT_ERR_FORMAT, "%s: line %zu has %zu column%s, expected %zu (as on line %zu)",
                            c->path, c->line_no, c->ncells, c->ncells == 1 ? "" : "s", c->ncols, c->first_line);
    if (c->nvals + c->nsel > CSV_MAX_CELLS)
        return lt_set_error(c->ctx, LT_ERR_FORMAT, "%s: line %zu: more than %u cells in the table", c->path,
                            c->line_no, CSV_MAX_CELLS);
    if (c->nvals + c->nsel > c->vals_cap) {
        size_t cap = c->vals_cap ? c->vals_cap * 2 : 1024; /* <= 2 * CSV_MAX_CELLS: no overflow */
        while (cap < c->nvals + c->nsel) cap *= 2;
        float *p = realloc(c->x, cap * sizeof *p);
        if (!p) return lt_set_error(c->ctx, LT_ERR_NOMEM, "%s: out of memory at line %zu", c->path, c->line_no);
        c->x = p;
        c->vals_cap = cap;
    }
    for (size_t k = 0; k < c->nsel; k++) {
        size_t j = c->sel[k];
        const char *s = c->cells[j];
        char label[160];
        if (!*s) {
            const char *why = !c->interpolate ? "empty cell (a missing value)"
                            : !c->seen[k]     ? "empty cell before the column's first value: nothing to interpolate from"
                                              : NULL;
            if (why)
                return lt_set_error(c->ctx, LT_ERR_FORMAT, "%s: line %zu, column %zu%s: %s", c->path, c->line_no, j + 1,
                                    col_label(c, j, label, sizeof label), why);
            if (!c->gap_line[k]) c->gap_line[k] = c->line_no;
            c->x[c->nvals++] = NAN;
            continue;
        }
        double v;
        const char *why = NULL;
        if (!parse_number(s, &v)) why = "is not a number";
        else if (!isfinite(v)) why = "is not finite";
        else if (fabs(v) > FLT_MAX) why = "is out of float range";
        if (why)
            return lt_set_error(c->ctx, LT_ERR_FORMAT, "%s: line %zu, column %zu%s: cell \"%.60s%s\" %s", c->path,
                                c->line_no, j + 1, col_label(c, j, label, sizeof label), s, strlen(s) > 60 ? "..." : "",
                                why);
        c->seen[k] = 1;
        c->gap_line[k] = 0;
        c->x[c->nvals++] = (float)v;
    }
    return LT_OK;
}

/* Fills each run of missing values (NaN) with the straight line between the values
 * around it, by row position; a run reaching the end of the file is an error. */
static lt_status fill_gaps(csv *c)
{
    size_t rows = c->nvals / c->nsel;
    for (size_t k = 0; k < c->nsel; k++) {
        char label[160];
        if (c->gap_line[k])
            return lt_set_error(c->ctx, LT_ERR_FORMAT, "%s: line %zu, column %zu%s: empty cells from here to the end of "
                                "the file: nothing to interpolate to", c->path, c->gap_line[k], c->sel[k] + 1,
                                col_label(c, c->sel[k], label, sizeof label));
        float *col = c->x + k;
        size_t last = 0; /* the row of the last value; row 0 has one (a leading gap fails in add_row) */
        for (size_t i = 1; i < rows; i++) {
            if (isnan(col[i * c->nsel])) continue;
            for (size_t g = last + 1; g < i; g++) {
                double t = (double)(g - last) / (double)(i - last);
                col[g * c->nsel] = (float)((1.0 - t) * col[last * c->nsel] + t * col[i * c->nsel]);
            }
            last = i;
        }
    }
    return LT_OK;
}

/* Handles one non-blank line: the first decides header, width and the columns read. */
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
        int header = looks_like_header(c);
        if (header && (st = keep_header(c)) != LT_OK) return st;
        if ((st = resolve_selection(c)) != LT_OK || header) return st;
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
    free(c->spec);
    free(c->items);
    free(c->sel);
    free(c->gap_line);
    free(c->seen);
}

lt_status lt_dataset_load_csv(lt_ctx *ctx, const char *path, lt_dataset **out)
{
    return lt_dataset_load_csv_opts(ctx, path, NULL, out);
}

/* Reads the whole table, then moves its values into a new dataset. */
lt_status lt_dataset_load_csv_opts(lt_ctx *ctx, const char *path, const lt_csv_opts *opts, lt_dataset **out)
{
    if (!out) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_load_csv: out is NULL");
    *out = NULL;
    if (!path) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_load_csv: path is NULL");
    csv c;
    memset(&c, 0, sizeof c);
    c.ctx = ctx;
    c.path = path;
    c.interpolate = opts && opts->interpolate;
    lt_status st = LT_OK;
    if (opts && opts->columns && *opts->columns && (st = parse_selection(&c, opts->columns)) != LT_OK) {
        csv_free(&c);
        return st;
    }
    c.f = lt_fopen_regular(ctx, path, &st);
    if (!c.f) {
        csv_free(&c);
        return st;
    }
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
    if (st == LT_OK && c.interpolate) st = fill_gaps(&c);
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
        ds->n = c.nvals / c.nsel;
        ds->dim = c.nsel;
        *out = ds;
    }
    csv_free(&c);
    return st;
}
