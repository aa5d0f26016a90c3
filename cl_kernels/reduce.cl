/* Deterministic reductions: every result depends only on the sizes and the work-group
 * size, never on scheduling. Full sums run in two passes: a fixed number of groups write
 * partials to a scratch buffer, then one group sums those partials in tree order. */

/* part[group] = sum of this group's grid-stride share of x[xoff..xoff+n). */
__kernel void lt_sum_partial(ulong n, __global const float *x, ulong xoff,
                             __global float *part, __local float *s)
{
    float acc = 0.0f;
    LT_FOR_EACH(i, n) acc += x[xoff + i];
    acc = lt_group_sum(s, acc);
    if (get_local_id(0) == 0) part[get_group_id(0)] = acc;
}

/* out[ooff + r] = sum of part[r*parts..(r+1)*parts) for row r = get_group_id(1), one
 * work-group a row (a 1-D launch: the single row 0). */
__kernel void lt_sum_final(uint parts, __global const float *part, __global float *out,
                           ulong ooff, __local float *s)
{
    ulong r = get_group_id(1);
    float acc = 0.0f;
    for (uint i = get_local_id(0); i < parts; i += get_local_size(0)) acc += part[r * parts + i];
    acc = lt_group_sum(s, acc);
    if (get_local_id(0) == 0) out[ooff + r] = acc;
}

/* Sums of squares of segments (backend.h's sum_squares): the work-groups of row
 * get_group_id(1) share segment s = that row, each taking a grid-stride share of it, and
 * write dst[doff + s*groups + group], groups = get_num_groups(0): the partials, or with one
 * group a segment the results themselves. */
__kernel void lt_sumsq_partial(ulong n, __global const float *x, ulong xoff, ulong count, int has_starts,
                               __global const uint *starts, ulong stoff, __global float *dst, ulong doff,
                               __local float *s)
{
    ulong seg = get_group_id(1), lo, hi;
    lt_segment(n, count, has_starts, starts, stoff, seg, &lo, &hi);
    float acc = 0.0f;
    for (ulong j = lo + get_global_id(0); j < hi; j += get_global_size(0)) {
        float v = x[xoff + j];
        acc += v * v;
    }
    acc = lt_group_sum(s, acc);
    if (get_local_id(0) == 0) dst[doff + seg * get_num_groups(0) + get_group_id(0)] = acc;
}

/* part[group] = number of NaN/inf in this group's share; tested on the exponent bits so
 * no compiler option can fold the test away. */
__kernel void lt_count_partial(ulong n, __global const float *x, ulong xoff,
                               __global uint *part, __local uint *s)
{
    uint acc = 0;
    LT_FOR_EACH(i, n) acc += (as_uint(x[xoff + i]) & 0x7f800000u) == 0x7f800000u;
    acc = lt_group_sum_u(s, acc);
    if (get_local_id(0) == 0) part[get_group_id(0)] = acc;
}

/* out[ooff] = (float) sum of the integer partials; one work-group. */
__kernel void lt_count_final(uint parts, __global const uint *part, __global float *out,
                             ulong ooff, __local uint *s)
{
    uint acc = 0;
    for (uint i = get_local_id(0); i < parts; i += get_local_size(0)) acc += part[i];
    acc = lt_group_sum_u(s, acc);
    if (get_local_id(0) == 0) out[ooff] = (float)acc;
}
