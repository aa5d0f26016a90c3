/* Helpers shared by every kernel of the latent program.
 *
 * Conventions: sizes and offsets are ulong element counts (buffers may exceed 2^32
 * elements); 1-D kernels walk their range with a grid-stride loop, so the host may cap
 * the number of work-groups; work-group sizes are powers of two chosen by the host. */

/* Activation codes; the host maps lt_backend_act onto these. */
#define LT_ACT_LINEAR 0
#define LT_ACT_RELU 1
#define LT_ACT_LEAKY_RELU 2
#define LT_ACT_ELU 3
#define LT_ACT_SIGMOID 4
#define LT_ACT_TANH 5

/* Loss codes; the host maps lt_backend_loss onto these. */
#define LT_LOSS_MSE 0
#define LT_LOSS_BCE_LOGITS 1
#define LT_LOSS_BCE_PROBS 2
#define LT_LOSS_CCE_PROBS 3

/* Grid-stride loop over [0, n) for 1-D launches. */
#define LT_FOR_EACH(i, n) for (ulong i = get_global_id(0); i < (n); i += get_global_size(0))

/* Defines T NAME(__local T *s, T v): v combined over a 1-D work-group (power-of-two
 * size) by COMBINE(a, b), in a fixed tree order; every work-item gets the result and the
 * scratch may be reused afterwards. */
#define LT_GROUP_REDUCE(NAME, T, COMBINE)                        \
    T NAME(__local T *s, T v)                                    \
    {                                                            \
        uint lid = get_local_id(0);                              \
        s[lid] = v;                                              \
        barrier(CLK_LOCAL_MEM_FENCE);                            \
        for (uint h = get_local_size(0) >> 1; h > 0; h >>= 1) {  \
            if (lid < h) s[lid] = COMBINE(s[lid], s[lid + h]);   \
            barrier(CLK_LOCAL_MEM_FENCE);                        \
        }                                                        \
        T r = s[0];                                              \
        barrier(CLK_LOCAL_MEM_FENCE);                            \
        return r;                                                \
    }

/* The sum a + b, as a function-like macro for LT_GROUP_REDUCE. */
#define LT_ADD(a, b) ((a) + (b))

/* Sum of v over a 1-D work-group, in a fixed tree order. */
LT_GROUP_REDUCE(lt_group_sum, float, LT_ADD)
/* Maximum of v over a 1-D work-group, like lt_group_sum (NaN inputs are ignored). */
LT_GROUP_REDUCE(lt_group_max, float, fmax)
/* Integer sum over a 1-D work-group, like lt_group_sum. */
LT_GROUP_REDUCE(lt_group_sum_u, uint, LT_ADD)

/* Range [*lo, *hi) of segment s of count over n elements, as backend.h defines
 * them for sum_squares and clip_by_norm: starts clamped to n; has_starts == 0 is the one
 * segment [0, n). */
void lt_segment(ulong n, ulong count, int has_starts, __global const uint *starts, ulong stoff, ulong s, ulong *lo,
                ulong *hi)
{
    if (!has_starts) {
        *lo = 0;
        *hi = n;
        return;
    }
    ulong a = min((ulong)starts[stoff + s], n);
    ulong b = s + 1 < count ? min((ulong)starts[stoff + s + 1], n) : n;
    *lo = a;
    *hi = max(a, b);
}

/* Logistic sigmoid, stable for large |x| (exp never overflows into inf/inf). */
float lt_sigmoid(float x)
{
    if (x >= 0.0f) return 1.0f / (1.0f + exp(-x));
    float e = exp(x);
    return e / (1.0f + e);
}
