/* lib/backend/philox.h: Philox4x32-10 known-answer vectors (Random123), the stream
 * layout, the uniform and normal transforms (range and moments over 1e6 samples), the
 * accuracy of the libm-free log/sqrt/sincos helpers, and that the CPU backend's
 * random_uniform/random_normal/dropout_mask reproduce the philox.h functions bit for
 * bit at odd offsets, lengths and counters, with 1 and 2 threads. */
#include "harness.h"

/* A reference Philox4x32-10 with the full 4-word counter and 2-word key of Random123,
 * written from the paper: the known-answer vectors need counter words 2 and 3, which
 * lt_philox4x32_10 always sets to 0. */
static void philox_ref(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]}, k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c[0], p1 = (uint64_t)0xCD9E8D57u * c[2];
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k0, n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k1, n3 = (uint32_t)p0;
        c[0] = n0; c[1] = n1; c[2] = n2; c[3] = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    memcpy(out, c, sizeof c);
}

/* Random123's kat_vectors for philox4x32 with 10 rounds: counter, key, output. */
static void check_kat(void)
{
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
         0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
         0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int v = 0; v < 3; v++) {
        uint32_t out[4];
        philox_ref(kat[v], kat[v] + 4, out);
        CHECK(memcmp(out, kat[v] + 6, sizeof out) == 0,
              "reference Philox KAT %d: %08x %08x %08x %08x", v, out[0], out[1], out[2], out[3]);
    }
    /* the one vector with counter words 2 and 3 zero goes through philox.h itself */
    lt_philox_block b = lt_philox4x32_10(0, 0);
    CHECK(b.v[0] == 0x6627e8d5 && b.v[1] == 0xe169c58d && b.v[2] == 0xbc57ac4c &&
              b.v[3] == 0x9b00dbd8,
          "philox.h KAT key {0,0} ctr 0: %08x %08x %08x %08x", b.v[0], b.v[1], b.v[2], b.v[3]);
}

/* The state of the test inputs' generator (harness.h's splitmix64). */
static uint64_t sm_state = 12345;

/* philox.h agrees with the reference for arbitrary 64-bit seeds and block counters,
 * and lays words out as documented (element i: word i%4 of block counter + i/4). */
static void check_layout(void)
{
    int bad = 0;
    for (int t = 0; t < 2000; t++) {
        uint64_t seed = next_u64(&sm_state), block = t < 1000 ? next_u64(&sm_state) : (uint64_t)t;
        uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), 0, 0};
        uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)}, out[4];
        philox_ref(ctr, key, out);
        lt_philox_block b = lt_philox4x32_10(seed, block);
        bad += memcmp(out, b.v, sizeof out) != 0;
    }
    CHECK(bad == 0, "lt_philox4x32_10 differs from the reference in %d of 2000 blocks", bad);
    bad = 0;
    uint64_t seed = 0x0123456789abcdefull, counter = UINT64_MAX - 2; /* wraps past 2^64 */
    for (uint64_t i = 0; i < 64; i++)
        bad += lt_philox_u32(seed, counter, i) != lt_philox4x32_10(seed, counter + i / 4).v[i % 4];
    CHECK(bad == 0, "lt_philox_u32 stream layout wrong in %d places", bad);
}

/* The uniform transform: exact ends, range, and moments of 1e6 samples. */
static void check_uniform(void)
{
    CHECK(lt_philox_bits_to_unit(0) == 5.9604644775390625e-8f, "bits_to_unit(0) = 2^-24");
    CHECK(lt_philox_bits_to_unit(0xffffffffu) == 1.0f, "bits_to_unit(max) = 1");
    CHECK(lt_philox_bits_to_unit(0xffu) == lt_philox_bits_to_unit(0), "low 8 bits ignored");
    CHECK(lt_philox_uniform(1, 2, 3, 0.0f, 1.0f) < 1.0f, "uniform below hi");

    const float lo = -2.0f, hi = 3.0f;
    const size_t n = 1000000;
    double s = 0.0, s2 = 0.0;
    float mn = hi, mx = lo;
    for (size_t i = 0; i < n; i++) {
        float u = lt_philox_uniform(42, 7, i, lo, hi);
        mn = u < mn ? u : mn;
        mx = u > mx ? u : mx;
        s += u;
        s2 += (double)u * u;
    }
    double mean = s / (double)n, var = s2 / (double)n - mean * mean;
    CHECK(mn >= lo && mx < hi, "uniform outside [%g, %g): min %g max %g", lo, hi, mn, mx);
    CHECK(mn < lo + 1e-4 && mx > hi - 1e-4, "uniform does not reach its ends: %g %g", mn, mx);
    /* 5 standard errors: sd(mean) = 5/sqrt(12 n), sd(var) = 25 sqrt(1/80 - 1/144)/sqrt(n) */
    CHECK(fabs(mean - 0.5) < 5 * 1.4434e-3, "uniform mean %g", mean);
    CHECK(fabs(var - 25.0 / 12.0) < 5 * 1.863e-3, "uniform variance %g", var);
}

/* The normal transform: moments and the 1-sigma mass of 1e6 samples. */
static void check_normal(void)
{
    const size_t n = 1000000;
    double s = 0.0, s2 = 0.0, s4 = 0.0, inside = 0.0;
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        double z = lt_philox_normal(99, 5, i);
        finite &= isfinite(z) != 0;
        s += z;
        s2 += z * z;
        s4 += z * z * z * z;
        inside += fabs(z) < 1.0;
    }
    double mean = s / (double)n, var = s2 / (double)n - mean * mean;
    CHECK(finite, "a normal sample is not finite");
    /* 5 standard errors: 1/sqrt(n), sqrt(2/n), sqrt(96/n), sqrt(p(1-p)/n) */
    CHECK(fabs(mean) < 5e-3, "normal mean %g", mean);
    CHECK(fabs(var - 1.0) < 5 * 1.4142e-3, "normal variance %g", var);
    CHECK(fabs(s4 / (double)n - 3.0) < 5 * 9.798e-3, "normal 4th moment %g", s4 / (double)n);
    CHECK(fabs(inside / (double)n - 0.682689) < 5 * 4.65e-4, "normal mass within 1 sd %g",
          inside / (double)n);
}

/* The libm-free helpers against libm in double. */
static void check_helpers(void)
{
    /* log on (0, 1], every input the uniform transform can produce (k * 2^-24); the
     * error is measured relative to max(1, |log x|): near x = 2^-24 the result is
     * about -16.6, where one float ulp alone is 1.9e-6 */
    double worst_log = 0.0;
    for (uint32_t k = 1; k <= (1u << 24); k++) {
        float x = (float)k * 5.9604644775390625e-8f;
        double r = log((double)x), err = fabs(lt_philox_log_unit(x) - r) / fmax(1.0, fabs(r));
        if (err > worst_log) worst_log = err;
    }
    CHECK(worst_log < 2e-7, "log_unit max error %g (relative to max(1, |log x|))", worst_log);
    CHECK(lt_philox_log_unit(1.0f) == 0.0f, "log_unit(1) = %g", (double)lt_philox_log_unit(1.0f));

    double worst_sqrt = 0.0;
    for (int i = 0; i < 200000; i++) {
        float x = (float)pow(10.0, -12.0 + 18.0 * i / 200000.0);
        double r = sqrt((double)x), err = fabs(lt_philox_sqrt(x) - r) / r;
        if (err > worst_sqrt) worst_sqrt = err;
    }
    CHECK(worst_sqrt < 3e-7, "sqrt max relative error %g", worst_sqrt);
    CHECK(lt_philox_sqrt(0.0f) == 0.0f, "sqrt(0) = 0");

    double worst_sc = 0.0;
    for (uint32_t k = 0; k < (1u << 24); k += 7) {
        float f = (float)k * 5.9604644775390625e-8f, s, c;
        lt_philox_sincos_turn(f, &s, &c);
        double a = 6.283185307179586 * f;
        double err = fmax(fabs(s - sin(a)), fabs(c - cos(a)));
        if (err > worst_sc) worst_sc = err;
    }
    CHECK(worst_sc < 5e-7, "sincos_turn max abs error %g", worst_sc);
    printf("helpers: log_unit %.3g, sqrt %.3g rel, sincos_turn %.3g abs (max errors)\n",
           worst_log, worst_sqrt, worst_sc);
}

/* The CPU backend's fills equal the philox.h functions bit for bit, touching only
 * buf[off, off+n). */
static void check_backend(int threads)
{
    lt_backend *be = open_cpu(&harness_host, threads);
    if (!be) return;
    static const size_t lens[] = {1, 2, 3, 5, 7, 1001, 50003};
    static const size_t offs[] = {0, 1, 3};
    static const uint64_t counters[] = {0, 7, 0x00000001fffffffdull, UINT64_MAX - 1};
    /* stream elements the fill starts at: a slice of a larger fill (another process's rows) */
    static const uint64_t firsts[] = {0, 1, 6, 4099};
    const size_t cap = 50003 + 3 + 8;
    float *got = malloc(cap * 4), *want = malloc(cap * 4), *fill = malloc(cap * 4);
    for (size_t i = 0; i < cap; i++) fill[i] = -12345.0f;
    lt_buf *buf = NULL;
    CHECK(lt_be_buf_alloc(be, cap, &buf) == LT_OK, "alloc");
    int bad[3] = {0, 0, 0};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (size_t oi = 0; oi < sizeof offs / sizeof offs[0]; oi++)
            for (size_t ci = 0; ci < sizeof counters / sizeof counters[0]; ci++)
                for (int kind = 0; kind < 3; kind++) {
                    size_t n = lens[li], off = offs[oi];
                    uint64_t seed = next_u64(&sm_state), counter = counters[ci];
                    uint64_t first = firsts[(li + oi + ci + (size_t)kind) % 4];
                    const float rate = 0.37f, scale = 1.0f / (1.0f - rate);
                    memcpy(want, fill, cap * 4);
                    for (size_t i = 0; i < n; i++) {
                        if (kind == 0) {
                            want[off + i] = lt_philox_uniform(seed, counter, first + i, -0.5f, 2.5f);
                        } else if (kind == 1) {
                            want[off + i] = 0.3f + 1.7f * lt_philox_normal(seed, counter, first + i);
                        } else {
                            float u = lt_philox_uniform(seed, counter, first + i, 0.0f, 1.0f);
                            want[off + i] = u >= rate ? scale : 0.0f;
                        }
                    }
                    lt_be_upload(be, buf, 0, fill, cap);
                    lt_status st;
                    if (kind == 0)
                        st = lt_be_random_uniform(be, buf, off, n, -0.5f, 2.5f, seed, counter, first);
                    else if (kind == 1)
                        st = lt_be_random_normal(be, buf, off, n, 0.3f, 1.7f, seed, counter, first);
                    else
                        st = lt_be_dropout_mask(be, buf, off, n, rate, seed, counter, first);
                    lt_be_download(be, buf, 0, got, cap);
                    bad[kind] += st != LT_OK || memcmp(got, want, cap * 4) != 0;
                }
    CHECK(bad[0] == 0, "random_uniform (%d threads) differs from lt_philox_uniform in %d fills",
          threads, bad[0]);
    CHECK(bad[1] == 0, "random_normal (%d threads) differs from lt_philox_normal in %d fills",
          threads, bad[1]);
    CHECK(bad[2] == 0, "dropout_mask (%d threads) differs from the uniform stream in %d fills",
          threads, bad[2]);
    /* the boundary: an element whose uniform equals the rate is kept (u >= rate) */
    float rate = lt_philox_uniform(77, 3, 17, 0.0f, 1.0f);
    lt_be_dropout_mask(be, buf, 0, 64, rate, 77, 3, 0);
    lt_be_download(be, buf, 0, got, 64);
    CHECK(got[17] == 1.0f / (1.0f - rate), "dropout keeps an element whose uniform equals the rate");
    CHECK(lt_be_dropout_mask(be, buf, 0, 4, 1.0f, 1, 0, 0) == LT_ERR_ARG, "dropout rate 1 refused");
    lt_be_buf_free(be, buf);
    lt_be_destroy(be);
    FREE_ALL(got, want, fill);
}

/* Runs every group of checks. */
int main(void)
{
    check_kat();
    check_layout();
    check_uniform();
    check_normal();
    check_helpers();
    check_backend(1);
    check_backend(2);
    return DONE();
}
