/* latent import: a model from another framework's file (lt_import) saved as a latent
 * model file. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "latent.h"

/* latent import FILE OUT.lt: reads FILE (its format from its first bytes) and saves
 * the model; OUT.lt must be a new file or a latent model file already. */
int cli_cmd_import(const cli_opts *o)
{
    if (o->npositional != 2) return cli_usage_error(o, "give the file to import and the model file to write (OUT.lt)");
    const char *in = o->positional[0], *out = o->positional[1];
    struct stat sb;
    if (stat(out, &sb) == 0 && !S_ISDIR(sb.st_mode) && !lt_file_is_model(out))
        return cli_fail(o, "'%s' exists and is not a latent model file; refusing to write over it (choose another name)", out);
    int rc = cli_check_output_path(o, "OUT.lt", out, CLI_OUT_MODEL);
    if (rc == CLI_OK) rc = cli_check_distinct_outputs(o, "FILE", in, "OUT.lt", out);
    if (rc != CLI_OK) return rc;
    lt_import_opts io = {0};
    io.seed = o->seed;
    io.arch = o->arch;
    if (o->arch) io.input_rank = cli_input_shape(NULL, cli_given(o, OPT_INPUT) ? o->input : 784, io.input_dims);
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    rc = cli_open_ctx(o, &ctx);
    lt_status st = LT_OK;
    if (rc == CLI_OK && (st = lt_import(ctx, in, &io, &m)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "import");
    if (rc == CLI_OK && (st = lt_save(m, out, 0)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "save");
    if (rc == CLI_OK && !o->quiet) {
        (void)lt_summary(m, stderr);
        cli_note(o, "wrote %s", out);
    }
    return cli_close(ctx, m, rc);
}

/* latent export MODEL OUT.keras: the model as a Keras 3 file. */
int cli_cmd_export(const cli_opts *o)
{
    if (o->npositional != 2) return cli_usage_error(o, "give the model file and the .keras file to write");
    const char *out = o->positional[1], *dot = strrchr(out, '.');
    if (!dot || strcmp(dot, ".keras") != 0)
        return cli_usage_error(o, "'%s': name it .keras (keras.models.load_model reads only that name for this format)", out);
    if (lt_file_is_model(out)) return cli_fail(o, "'%s' is a latent model file; refusing to write over it (choose another name)", out);
    int rc = cli_check_output_path(o, "OUT.keras", out, CLI_OUT_MODEL);
    if (rc == CLI_OK) rc = cli_check_distinct_outputs(o, "MODEL", o->positional[0], "OUT.keras", out);
    if (rc != CLI_OK) return rc;
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    lt_status st;
    rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK) rc = cli_load_model(o, ctx, &m);
    if (rc == CLI_OK && (st = lt_export_keras(m, out)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "export");
    if (rc == CLI_OK) cli_note(o, "wrote %s", out);
    return cli_close(ctx, m, rc);
}
