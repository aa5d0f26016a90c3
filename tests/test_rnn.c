/* Recurrent models: Keras parameter counts and output shapes of SimpleRNN, LSTM, GRU,
 * Bidirectional (every merge), TimeDistributed and RepeatVector; finite-difference
 * checks of every parameter's gradient through backpropagation through time (return
 * sequences or not, return_state, go_backwards, a state taken as input, stacked so that
 * each layer's input gradient is exercised too); what return_state and a state input
 * compute; the recurrent kernel's orthogonal initialisation; model files that
 * round-trip; and clear errors for shapes that do not fit. Runs on the backend named by
 * LATENT_DEVICE. */
#include "model.h"
#include "harness.h"

static lt_ctx *ctx;

/* Builds a model of up to four layers on a (steps, features) input; NULL on failure
 * (recorded). */
static lt_model *seq_model(const char *what, int steps, int features, lt_layer *l1, lt_layer *l2, lt_layer *l3,
                           lt_layer *l4)
{
    lt_model *m;
    lt_sequential(ctx, NULL, &m);
    lt_layer *ls[4] = {l1, l2, l3, l4};
    for (int i = 0; i < 4; i++)
        if (ls[i]) lt_add(m, ls[i]);
    int dims[2] = {steps, features};
    if (lt_build_shape(m, 2, dims, 5) != LT_OK) {
        CHECK(0, "%s: build: %s", what, lt_ctx_error(ctx));
        lt_model_free(m);
        return NULL;
    }
    return m;
}

/* Keras's parameter counts and output shapes. */
static void test_shapes(void)
{
    struct {
        const char *what;
        lt_layer *l;
        size_t params;
        int rank, d0, d1;
        size_t tensors[7]; /* Keras's variables (what clipnorm clips one by one), 0-terminated */
    } cases[] = {
        {"SimpleRNN(128) on (28, 28)", lt_rnn(LT_SIMPLE_RNN, 128, LT_TANH, 0), 20096, 1, 128, 0, {3584, 16384, 128}},
        {"SimpleRNN(8, return_sequences)", lt_rnn(LT_SIMPLE_RNN, 8, LT_TANH, LT_RETURN_SEQUENCES), 28 * 8 + 64 + 8, 2, 28, 8,
         {224, 64, 8}},
        {"LSTM(64)", lt_rnn(LT_LSTM, 64, LT_TANH, 0), 23808, 1, 64, 0, {7168, 16384, 256}},
        {"GRU(64) (reset_after: two biases)", lt_rnn(LT_GRU, 64, LT_TANH, LT_RETURN_SEQUENCES), 18048, 2, 28, 64,
         {5376, 12288, 384}},
        {"Bidirectional(SimpleRNN(64)) concat", lt_bidirectional(LT_SIMPLE_RNN, 64, LT_TANH, LT_RETURN_SEQUENCES, LT_MERGE_CONCAT), 11904, 2, 28, 128,
         {1792, 4096, 64, 1792, 4096, 64}},
        {"Bidirectional(LSTM(16)) sum", lt_bidirectional(LT_LSTM, 16, LT_TANH, 0, LT_MERGE_SUM), 2 * 4 * (28 * 16 + 256 + 16), 1, 16, 0,
         {1792, 1024, 64, 1792, 1024, 64}},
        {"TimeDistributed(Dense(5))", lt_time_distributed(lt_dense(5, LT_LINEAR)), 28 * 5 + 5, 2, 28, 5, {140, 5}},
        {"LSTM(64, return_state): [h | c]", lt_rnn(LT_LSTM, 64, LT_TANH, LT_RETURN_STATE), 23808, 1, 128, 0,
         {7168, 16384, 256}},
        {"GRU(8, return_state): h", lt_rnn(LT_GRU, 8, LT_TANH, LT_RETURN_STATE), 2 * 3 * 8 + 28 * 24 + 8 * 24, 1, 8, 0,
         {672, 192, 48}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lt_model *m = seq_model(cases[i].what, 28, 28, cases[i].l, NULL, NULL, NULL);
        if (!m) continue;
        int out[3] = {0, 0, 0};
        int rank = lt_output_shape(m, out);
        CHECK(lt_param_count(m) == cases[i].params, "%s: %zu parameters, Keras has %zu", cases[i].what,
              lt_param_count(m), cases[i].params);
        CHECK(rank == cases[i].rank && out[0] == cases[i].d0 && (rank == 1 || out[1] == cases[i].d1),
              "%s: output rank %d (%d, %d)", cases[i].what, rank, out[0], out[1]);
        const lt_layer *l = m->flat[0];
        int nt = 0, same = 1;
        while (nt < 7 && cases[i].tensors[nt]) nt++;
        for (int k = 0; k < nt && k < l->n_tensors; k++) same &= l->tensor_size[k] == cases[i].tensors[k];
        CHECK(l->n_tensors == nt && same, "%s: %d parameter tensors (first %zu), Keras has %d (first %zu)", cases[i].what,
              l->n_tensors, l->tensor_size[0], nt, cases[i].tensors[0]);
        lt_model_free(m);
    }
    /* RepeatVector(5) on (7) -> (5, 7) */
    lt_model *m;
    lt_sequential(ctx, NULL, &m);
    lt_add(m, lt_repeat_vector(5));
    int out[3];
    CHECK(lt_build(m, 7, 1) == LT_OK && lt_output_shape(m, out) == 2 && out[0] == 5 && out[1] == 7,
          "RepeatVector(5) on (7): %s", lt_ctx_error(ctx));
    lt_model_free(m);
    /* state-input layers: no input kernel; (state) -> (steps, units) */
    struct { lt_rnn_cell cell; int in; size_t params; } from[] = {
        {LT_SIMPLE_RNN, 16, 16 * 16 + 16}, {LT_LSTM, 32, 16 * 64 + 64}, {LT_GRU, 16, 16 * 48 + 2 * 48}};
    for (size_t i = 0; i < 3; i++) {
        lt_sequential(ctx, NULL, &m);
        lt_add(m, lt_rnn_from_state(from[i].cell, 16, LT_TANH, LT_RETURN_SEQUENCES, 10));
        CHECK(lt_build(m, from[i].in, 1) == LT_OK && lt_output_shape(m, out) == 2 && out[0] == 10 && out[1] == 16 &&
                  lt_param_count(m) == from[i].params && m->flat[0]->n_tensors == 2,
              "state-input cell %d on (%d): %zu parameters (want %zu): %s", (int)from[i].cell, from[i].in,
              lt_param_count(m), from[i].params, lt_ctx_error(ctx));
        lt_model_free(m);
    }
    /* the built-ins */
    struct { const char *arch; size_t params; } b[] = {{"rnn-clf", 21386}, {"birnn-ae", 40220}, {"seq-ae", 58652}};
    for (size_t i = 0; i < 3; i++) {
        int dims[3] = {28, 28, 1};
        CHECK(lt_arch_build_shape(ctx, b[i].arch, 3, dims, 1, &m) == LT_OK && lt_param_count(m) == b[i].params,
              "%s on 28x28x1 images: %zu parameters (want %zu): %s", b[i].arch, m ? lt_param_count(m) : 0, b[i].params,
              lt_ctx_error(ctx));
        lt_model_free(m);
        m = NULL;
    }
}

/* Every parameter's gradient against finite differences. */
static void test_gradients(void)
{
    const unsigned SEQ = LT_RETURN_SEQUENCES, BACK = LT_GO_BACKWARDS, STATE = LT_RETURN_STATE;
    struct {
        const char *what;
        lt_layer *l1, *l2, *l3;
    } cases[] = {
        {"SimpleRNN last step", lt_rnn(LT_SIMPLE_RNN, 4, LT_TANH, 0), lt_dense(2, LT_LINEAR), NULL},
        {"SimpleRNN relu, sequences", lt_rnn(LT_SIMPLE_RNN, 4, LT_RELU, SEQ), NULL, NULL},
        {"SimpleRNN go_backwards into SimpleRNN", lt_rnn(LT_SIMPLE_RNN, 3, LT_TANH, SEQ | BACK),
         lt_rnn(LT_SIMPLE_RNN, 3, LT_TANH, 0), NULL},
        {"LSTM into LSTM", lt_rnn(LT_LSTM, 3, LT_TANH, SEQ), lt_rnn(LT_LSTM, 2, LT_TANH, 0), NULL},
        {"LSTM go_backwards, sequences", lt_rnn(LT_LSTM, 3, LT_TANH, SEQ | BACK), NULL, NULL},
        {"GRU into GRU", lt_rnn(LT_GRU, 3, LT_TANH, SEQ), lt_rnn(LT_GRU, 2, LT_TANH, 0), NULL},
        {"GRU sigmoid candidate", lt_rnn(LT_GRU, 3, LT_SIGMOID, SEQ | BACK), NULL, NULL},
        {"Bidirectional concat", lt_bidirectional(LT_SIMPLE_RNN, 3, LT_TANH, SEQ, LT_MERGE_CONCAT),
         lt_rnn(LT_SIMPLE_RNN, 2, LT_TANH, 0), NULL},
        {"Bidirectional LSTM sum", lt_bidirectional(LT_LSTM, 3, LT_TANH, SEQ, LT_MERGE_SUM),
         lt_rnn(LT_SIMPLE_RNN, 2, LT_TANH, 0), NULL},
        {"Bidirectional GRU ave", lt_bidirectional(LT_GRU, 3, LT_TANH, SEQ, LT_MERGE_AVE),
         lt_rnn(LT_SIMPLE_RNN, 2, LT_TANH, 0), NULL},
        {"Bidirectional mul, last step", lt_bidirectional(LT_SIMPLE_RNN, 3, LT_TANH, 0, LT_MERGE_MUL),
         lt_dense(2, LT_LINEAR), NULL},
        {"SimpleRNN into TimeDistributed Dense", lt_rnn(LT_SIMPLE_RNN, 4, LT_TANH, SEQ),
         lt_time_distributed(lt_dense(3, LT_SIGMOID)), NULL},
        {"LSTM, RepeatVector, LSTM (seq-ae)", lt_rnn(LT_LSTM, 3, LT_TANH, 0), lt_repeat_vector(4),
         lt_rnn(LT_LSTM, 2, LT_TANH, SEQ)},
        {"LSTM return_state ([h | c] as the output)", lt_rnn(LT_LSTM, 3, LT_TANH, STATE), NULL, NULL},
        {"LSTM return_state into Dense", lt_rnn(LT_LSTM, 3, LT_TANH, STATE | BACK), lt_dense(2, LT_LINEAR), NULL},
        {"LSTM state into an LSTM started from it (encoder-decoder)", lt_rnn(LT_LSTM, 3, LT_TANH, STATE),
         lt_rnn_from_state(LT_LSTM, 3, LT_TANH, SEQ, 4), lt_time_distributed(lt_dense(2, LT_LINEAR))},
        {"GRU state into a GRU started from it, returning its state", lt_rnn(LT_GRU, 3, LT_TANH, STATE),
         lt_rnn_from_state(LT_GRU, 3, LT_TANH, STATE, 3), lt_dense(2, LT_LINEAR)},
        {"SimpleRNN go_backwards state into a SimpleRNN started from it", lt_rnn(LT_SIMPLE_RNN, 3, LT_TANH, STATE | BACK),
         lt_rnn_from_state(LT_SIMPLE_RNN, 3, LT_TANH, SEQ, 5), NULL},
        {"LSTM state into TimeDistributed(LSTM started from it)", lt_rnn(LT_LSTM, 2, LT_TANH, STATE), lt_repeat_vector(3),
         lt_time_distributed(lt_rnn_from_state(LT_LSTM, 2, LT_TANH, 0, 2))},
        {"LSTM started from its state, last step", lt_rnn(LT_LSTM, 2, LT_TANH, STATE),
         lt_rnn_from_state(LT_LSTM, 2, LT_TANH, 0, 3), NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lt_model *m = seq_model(cases[i].what, 4, 3, cases[i].l1, cases[i].l2, cases[i].l3, NULL);
        if (m) grad_check(cases[i].what, m, LT_LOSS_MSE);
        lt_model_free(m);
    }
    lt_model *m = seq_model("rnn-clf shape", 5, 3, lt_rnn(LT_SIMPLE_RNN, 6, LT_TANH, 0), lt_dense(3, LT_SOFTMAX), NULL,
                            NULL);
    if (m) grad_check("SimpleRNN + softmax + cce", m, LT_LOSS_CCE);
    lt_model_free(m);
    /* one-to-many: a vector through Dense becomes the initial state of a generator */
    lt_sequential(ctx, NULL, &m);
    lt_add(m, lt_dense(3, LT_TANH));
    lt_add(m, lt_rnn_from_state(LT_SIMPLE_RNN, 3, LT_TANH, SEQ, 4));
    lt_add(m, lt_time_distributed(lt_dense(2, LT_LINEAR)));
    if (lt_build(m, 5, 7) == LT_OK) grad_check("Dense into a SimpleRNN started from it (one-to-many)", m, LT_LOSS_MSE);
    else CHECK(0, "one-to-many build: %s", lt_ctx_error(ctx));
    lt_model_free(m);
}

/* What return_state and a state input compute: the LSTM's state is [h | c] with h its
 * usual output; a linear SimpleRNN started from h0 with R = I and b = 0 repeats h0 at
 * every step, so the input really is the initial state. */
static void test_state(void)
{
    float x[2 * 4 * 3], y[2 * 3], ys[2 * 6];
    for (int i = 0; i < 24; i++) x[i] = lt_philox_uniform(9, 0, (uint64_t)i, -1, 1);
    lt_model *plain = seq_model("plain LSTM", 4, 3, lt_rnn(LT_LSTM, 3, LT_TANH, 0), NULL, NULL, NULL);
    lt_model *state = seq_model("LSTM state", 4, 3, lt_rnn(LT_LSTM, 3, LT_TANH, LT_RETURN_STATE), NULL, NULL, NULL);
    if (plain && state) { /* same seed, same layer name: same weights */
        CHECK(lt_predict(plain, x, 2, y) == LT_OK && lt_predict(state, x, 2, ys) == LT_OK, "predict: %s",
              lt_ctx_error(ctx));
        int same = 1, c_differs = 0;
        for (int b = 0; b < 2; b++)
            for (int u = 0; u < 3; u++) {
                same &= ys[b * 6 + u] == y[b * 3 + u];
                c_differs |= ys[b * 6 + 3 + u] != y[b * 3 + u];
            }
        CHECK(same && c_differs, "return_state's first half is the output h, its second half the cell state c");
    }
    lt_model_free(plain);
    lt_model_free(state);

    lt_model *m;
    lt_sequential(ctx, NULL, &m);
    lt_add(m, lt_rnn_from_state(LT_SIMPLE_RNN, 3, LT_LINEAR, LT_RETURN_SEQUENCES, 5));
    if (lt_build(m, 3, 1) == LT_OK) {
        float p[9 + 3] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}, h0[2 * 3] = {0.5f, -1, 2, 3, 0.25f, -0.75f}, seq[2 * 15];
        lt_be_upload(ctx->be, m->params, 0, p, 12);
        CHECK(lt_predict(m, h0, 2, seq) == LT_OK, "state-input predict: %s", lt_ctx_error(ctx));
        int ok = 1;
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 5; t++)
                for (int u = 0; u < 3; u++) ok &= seq[b * 15 + t * 3 + u] == h0[b * 3 + u];
        CHECK(ok, "a linear SimpleRNN with R = I started from h0 outputs h0 at every step");
    } else {
        CHECK(0, "state-input build: %s", lt_ctx_error(ctx));
    }
    lt_model_free(m);
}

/* The recurrent kernel starts orthogonal: R R^T = I for SimpleRNN (square) and the
 * LSTM's U x 4U kernel (orthonormal rows), as Keras's Orthogonal initializer. */
static void test_orthogonal(void)
{
    for (int cell = 0; cell < 2; cell++) {
        int U = 6, F = 3, G = cell ? 4 * U : U;
        lt_model *m = seq_model("orthogonal", 2, F, lt_rnn(cell ? LT_LSTM : LT_SIMPLE_RNN, U, LT_TANH, 0), NULL, NULL,
                                NULL);
        if (!m) continue;
        float *p = malloc(lt_param_count(m) * sizeof *p);
        lt_be_download(ctx->be, m->params, 0, p, lt_param_count(m));
        const float *r = p + F * G;
        double worst = 0;
        for (int a = 0; a < U; a++)
            for (int b = 0; b < U; b++) {
                double dot = 0;
                for (int g = 0; g < G; g++) dot += (double)r[a * G + g] * r[b * G + g];
                double e = fabs(dot - (a == b));
                if (e > worst) worst = e;
            }
        CHECK(worst < 1e-5, "%s recurrent kernel: R R^T differs from I by %.3g", cell ? "LSTM" : "SimpleRNN", worst);
        if (cell) { /* unit_forget_bias: the forget gate's bias starts at 1 */
            const float *bias = r + U * G;
            CHECK(bias[0] == 0.0f && bias[U] == 1.0f && bias[2 * U - 1] == 1.0f && bias[2 * U] == 0.0f,
                  "LSTM bias starts [0 | 1 | 0 | 0]");
        }
        free(p);
        lt_model_free(m);
    }
}

/* A model with every recurrent layer saves and loads to the same predictions. */
static void test_modelfile(void)
{
    lt_layer *ls[] = {lt_bidirectional(LT_GRU, 4, LT_TANH, LT_RETURN_SEQUENCES, LT_MERGE_AVE),
                      lt_rnn(LT_LSTM, 3, LT_TANH, LT_RETURN_SEQUENCES | LT_GO_BACKWARDS),
                      lt_time_distributed(lt_dense(2, LT_ELU)), lt_rnn(LT_LSTM, 2, LT_RELU, LT_RETURN_STATE),
                      lt_rnn_from_state(LT_LSTM, 2, LT_TANH, 0, 3)};
    lt_model *m;
    lt_sequential(ctx, NULL, &m);
    for (size_t i = 0; i < sizeof ls / sizeof *ls; i++) lt_add(m, ls[i]);
    if (lt_build_shape(m, 2, (int[]){5, 3}, 5) != LT_OK) {
        CHECK(0, "file model: %s", lt_ctx_error(ctx));
        lt_model_free(m);
        return;
    }
    char path[] = "/tmp/latent_test_rnn_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    float x[2 * 15], y1[2 * 2], y2[2 * 2];
    for (int i = 0; i < 30; i++) x[i] = lt_philox_uniform(3, 0, (uint64_t)i, -1, 1);
    lt_model *back = NULL;
    CHECK(lt_predict(m, x, 2, y1) == LT_OK && lt_save(m, path, 0) == LT_OK && lt_load(ctx, path, &back) == LT_OK,
          "save and load: %s", lt_ctx_error(ctx));
    if (back) {
        CHECK(lt_predict(back, x, 2, y2) == LT_OK && memcmp(y1, y2, sizeof y1) == 0, "loaded model predicts the same");
        char a[4096], b[4096];
        FILE *f = fmemopen(a, sizeof a, "w");
        lt_summary(m, f);
        fclose(f);
        f = fmemopen(b, sizeof b, "w");
        lt_summary(back, f);
        fclose(f);
        CHECK(strcmp(a, b) == 0, "same summary:\n%s\n%s", a, b);
    }
    lt_model_free(back);
    lt_model_free(m);
    unlink(path);
}

/* Shapes that do not fit: clear errors, no crash. */
static void test_bad(void)
{
    lt_model *m;
    lt_sequential(ctx, NULL, &m);
    lt_add(m, lt_rnn(LT_SIMPLE_RNN, 4, LT_TANH, 0));
    int dims[3] = {8, 8, 3};
    CHECK(lt_build_shape(m, 3, dims, 1) == LT_ERR_SHAPE && strstr(lt_ctx_error(ctx), "steps, features"),
          "an image into SimpleRNN: %s", lt_ctx_error(ctx));
    lt_model_free(m);
    lt_sequential(ctx, NULL, &m);
    lt_add(m, lt_repeat_vector(3));
    int d2[2] = {4, 5};
    CHECK(lt_build_shape(m, 2, d2, 1) == LT_ERR_SHAPE && strstr(lt_ctx_error(ctx), "RepeatVector"),
          "a sequence into RepeatVector: %s", lt_ctx_error(ctx));
    lt_model_free(m);
    CHECK(lt_rnn(LT_LSTM, 0, LT_TANH, 0) == NULL, "zero units refused");
    CHECK(lt_rnn(LT_LSTM, 4, LT_SOFTMAX, 0) == NULL, "softmax candidate refused");
    CHECK(lt_bidirectional(LT_GRU, 4, LT_TANH, LT_GO_BACKWARDS, LT_MERGE_SUM) == NULL,
          "go_backwards inside Bidirectional refused");
    CHECK(lt_bidirectional(LT_GRU, 4, LT_TANH, LT_RETURN_STATE, LT_MERGE_SUM) == NULL,
          "return_state inside Bidirectional refused");
    CHECK(lt_rnn(LT_LSTM, 4, LT_TANH, LT_RETURN_STATE | LT_RETURN_SEQUENCES) == NULL,
          "return_state with return_sequences refused");
    CHECK(lt_rnn_from_state(LT_LSTM, 4, LT_TANH, 0, 0) == NULL, "a state-input layer of zero steps refused");
    CHECK(lt_rnn_from_state(LT_LSTM, 4, LT_TANH, LT_GO_BACKWARDS, 3) == NULL,
          "go_backwards in a state-input layer (no input steps) refused");
    static const char *const bad_specs[][2] = {
        {"bilstm:4:seq:init", "not supported inside Bidirectional"}, {"bilstm:4:state", "not supported inside"},
        {"lstm:4:init+3", "1 to 1048576"}, {"lstm:4:init0", "1 to 1048576"}, {"lstm:4:seq:init:back", "'back'"}};
    for (size_t i = 0; i < sizeof bad_specs / sizeof *bad_specs; i++)
        CHECK(lt_arch_build_shape(ctx, bad_specs[i][0], 2, (int[]){6, 4}, 1, &m) == LT_ERR_ARG &&
                  strstr(lt_ctx_error(ctx), bad_specs[i][1]),
              "spec %s: %s", bad_specs[i][0], lt_ctx_error(ctx));
    /* model-file lines a reader must refuse with a message, not build */
    static const char *const bad_lines[][2] = {
        {"units=4 activation=tanh return_state=1 return_sequences=1", "does not go with"},
        {"units=4 activation=tanh state_steps=3 go_backwards=1", "does not go with"},
        {"units=4 activation=tanh return_state=2", "return_state is 0 or 1"},
        {"units=4 activation=tanh state_steps=-1", "state_steps"}};
    for (size_t i = 0; i < sizeof bad_lines / sizeof *bad_lines; i++) {
        lt_kv kv = {0};
        char line[128], *save = NULL, err[256] = "";
        snprintf(line, sizeof line, "%s", bad_lines[i][0]);
        for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save), kv.n++) {
            char *eq = strchr(t, '=');
            *eq = '\0';
            snprintf(kv.key[kv.n], sizeof kv.key[0], "%s", t);
            snprintf(kv.val[kv.n], sizeof kv.val[0], "%s", eq + 1);
        }
        lt_layer *l = lt_layer_from_config("lstm", &kv, err, sizeof err);
        CHECK(!l && strstr(err, bad_lines[i][1]), "model-file line '%s': %s", bad_lines[i][0], err);
        if (l) l->ops->destroy(l);
    }
    lt_kv kv = {4, {"cell", "units", "activation", "return_state"}, {"lstm", "4", "tanh", "1"}};
    char err[256] = "";
    lt_layer *l = lt_layer_from_config("bidirectional", &kv, err, sizeof err);
    CHECK(!l && strstr(err, "not supported"), "a Bidirectional line with return_state: %s", err);
    if (l) l->ops->destroy(l);
    lt_sequential(ctx, NULL, &m);
    lt_add(m, lt_rnn_from_state(LT_LSTM, 4, LT_TANH, 0, 5));
    CHECK(lt_build(m, 4, 1) == LT_ERR_SHAPE && strstr(lt_ctx_error(ctx), "initial state") &&
              strstr(lt_ctx_error(ctx), "(None, 8)"),
          "an LSTM state of the wrong width: %s", lt_ctx_error(ctx));
    lt_model_free(m);
    int d3[2] = {6, 4};
    CHECK(lt_arch_build_shape(ctx, "lstm:4:seq:state", 2, d3, 1, &m) == LT_ERR_ARG && strstr(lt_ctx_error(ctx), "seq"),
          "spec 'state' with 'seq': %s", lt_ctx_error(ctx));
    CHECK(lt_arch_build_shape(ctx, "dense:4,rnn:4:seq:init", 1, d3, 1, &m) == LT_ERR_ARG &&
              strstr(lt_ctx_error(ctx), "init28"),
          "spec 'init' without steps on a vector input: %s", lt_ctx_error(ctx));
    CHECK(lt_arch_build_shape(ctx, "lstm:4:state|lstm:4:seq:init,td:c", 2, d3, 1, &m) == LT_OK &&
              lt_output_shape(m, (int[3]){0}) == 2,
          "spec of an encoder-decoder passing its state: %s", lt_ctx_error(ctx));
    lt_model_free(m);
    CHECK(lt_time_distributed(NULL) == NULL, "TimeDistributed of nothing refused");
    int dims3[3] = {28, 28, 1};
    CHECK(lt_arch_build_shape(ctx, "rnn:8,repeat:x", 3, dims3, 1, &m) == LT_ERR_ARG && strstr(lt_ctx_error(ctx), "repeat"),
          "bad repeat count: %s", lt_ctx_error(ctx));
}

/* Runs every group of checks on the backend LATENT_DEVICE names. */
int main(void)
{
    if (!(ctx = harness_ctx(NULL))) return DONE();
    test_shapes();
    test_gradients();
    test_state();
    test_orthogonal();
    test_modelfile();
    test_bad();
    lt_ctx_close(ctx);
    return DONE();
}
