/* Recurrent cells and strided copies (backend.h, "data movement and recurrent
 * cells"). A whole sequence is one launch: one work-group per batch row walks the time
 * steps, its work-items sharing the row's units, with a barrier between steps (a row's
 * recurrence depends only on that row, so no other group is waited for). A unit forms
 * its gates' recurrent dot products, h_prev R, itself and applies the cell, so nothing
 * round-trips through a GEMM's output; the backward pass likewise forms dz_next R^T for
 * its unit (a contiguous row of R) and the unit's gate gradients. A launch per step
 * would cost a sequence of 28 steps 28 launches each way, more than the arithmetic. */

/* Cell codes; the host maps lt_backend_cell onto these. */
#define LT_CELL_SIMPLE 0
#define LT_CELL_LSTM 1
#define LT_CELL_GRU 2

/* y[i*ys0 + j*ys1 + c] = x[i*xs0 + j*xs1 + c] (+ y when beta != 0); 2-D launch over
 * (cols, n0*n1), offsets relative to xoff and yoff and possibly negative. */
__kernel void lt_copy_strided(ulong n0, ulong n1, ulong cols, __global const float *x, ulong xoff, long xs0,
                              long xs1, float beta, __global float *y, ulong yoff, long ys0, long ys1)
{
    ulong c = get_global_id(0), row = get_global_id(1);
    if (c >= cols || row >= n0 * n1) return;
    long i = (long)(row / n1), j = (long)(row - (ulong)i * n1);
    long xi = (long)xoff + i * xs0 + j * xs1 + (long)c, yi = (long)yoff + i * ys0 + j * ys1 + (long)c;
    float v = x[xi];
    y[yi] = beta != 0.0f ? y[yi] + v : v;
}

/* Gates per unit, record and dz widths in units (lt_cell_gates and friends). */
ulong lt_cell_gates(int cell) { return cell == LT_CELL_LSTM ? 4 : cell == LT_CELL_GRU ? 3 : 1; }
ulong lt_cell_record(int cell) { return cell == LT_CELL_LSTM ? 6 : cell == LT_CELL_GRU ? 5 : 1; }
ulong lt_cell_dz(int cell) { return cell == LT_CELL_SIMPLE ? 1 : 4; }

/* Element i of a row's input term: x W plus the input bias (bi NULL: none). */
float lt_cell_input(__global const float *x, __global const float *bi, ulong i)
{
    return bi ? x[i] + bi[i] : x[i];
}

/* Adds unit u's recurrent dot products of gates 0 .. gates-1 (3 or 4) to *a0 .. *a3:
 * *aj += sum over k of hp[k] * w[k*G + j*U], in k order, one pass over hp. gates is a
 * constant at each call, so the compiler drops the fourth gate's term for a GRU. */
void lt_gate_dots(ulong U, ulong G, int gates, __global const float *hp, __global const float *w, float *a0,
                  float *a1, float *a2, float *a3)
{
    for (ulong k = 0; k < U; k++) {
        float h = hp[k];
        __global const float *wk = w + k * G;
        *a0 += h * wk[0];
        *a1 += h * wk[U];
        *a2 += h * wk[2 * U];
        if (gates == 4) *a3 += h * wk[3 * U];
    }
}

/* Unit u of one row's forward step: x the row's xw (G), bi the input bias (G, or NULL),
 * w = r + u (column u of R, row stride G), rb the GRU's recurrent bias, hp the previous
 * record, o the record written. */
void lt_cell_forward_unit(int cell, int act, float alpha, ulong U, ulong u, __global const float *xw,
                          __global const float *bi, __global const float *w, __global const float *rb,
                          __global const float *hp, __global float *o)
{
    ulong G = lt_cell_gates(cell) * U;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    float x0 = lt_cell_input(xw, bi, u), x1 = 0.0f, x2 = 0.0f, x3 = 0.0f;
    if (cell != LT_CELL_SIMPLE) {
        x1 = lt_cell_input(xw, bi, U + u);
        x2 = lt_cell_input(xw, bi, 2 * U + u);
    }
    if (cell == LT_CELL_LSTM) x3 = lt_cell_input(xw, bi, 3 * U + u);
    if (cell == LT_CELL_SIMPLE) {
        float s1 = 0.0f, s2 = 0.0f, s3 = 0.0f; /* four chains: a sum of U is latency-bound */
        ulong k = 0;
        for (; k + 4 <= U; k += 4) {
            a0 += hp[k] * w[k * G];
            s1 += hp[k + 1] * w[(k + 1) * G];
            s2 += hp[k + 2] * w[(k + 2) * G];
            s3 += hp[k + 3] * w[(k + 3) * G];
        }
        for (; k < U; k++) a0 += hp[k] * w[k * G];
        a0 = (a0 + s1) + (s2 + s3);
        o[u] = lt_act(act, x0 + a0, alpha);
    } else if (cell == LT_CELL_LSTM) {
        lt_gate_dots(U, G, 4, hp, w, &a0, &a1, &a2, &a3);
        float i = lt_sigmoid(x0 + a0), f = lt_sigmoid(x1 + a1);
        float c_hat = lt_act(act, x2 + a2, alpha), og = lt_sigmoid(x3 + a3);
        float c = f * hp[U + u] + i * c_hat;
        o[u] = og * lt_act(act, c, alpha);
        o[U + u] = c;
        o[2 * U + u] = i;
        o[3 * U + u] = f;
        o[4 * U + u] = c_hat;
        o[5 * U + u] = og;
    } else {
        lt_gate_dots(U, G, 3, hp, w, &a0, &a1, &a2, &a3);
        float rn = a2 + rb[2 * U + u];
        float z = lt_sigmoid(x0 + a0 + rb[u]), rg = lt_sigmoid(x1 + a1 + rb[U + u]);
        float n = lt_act(act, x2 + rg * rn, alpha);
        o[u] = z * hp[u] + (1.0f - z) * n;
        o[U + u] = z;
        o[2 * U + u] = rg;
        o[3 * U + u] = n;
        o[4 * U + u] = rn;
    }
}

/* Unit u of one row's backward step: g the gradient reaching h from the output, zn the
 * next step's dz row (NULL at the last step), w = r + u * G (row u of R), hp and o the
 * step's previous and own records, cy the row's carry, d the dz row written. */
void lt_cell_backward_unit(int cell, int act, float alpha, ulong U, ulong u, float g, __global const float *zn,
                           __global const float *w, __global const float *hp, __global const float *o,
                           __global float *cy, __global float *d)
{
    ulong G = lt_cell_gates(cell) * U;
    if (cell == LT_CELL_GRU) g += cy[u];
    if (zn) {
        float acc = 0.0f;
        for (ulong k = 0; k < G; k++) acc += zn[k] * w[k];
        g += acc;
    }
    if (cell == LT_CELL_SIMPLE) {
        d[u] = lt_act_grad(act, o[u], g, alpha);
    } else if (cell == LT_CELL_LSTM) {
        float c = o[U + u], i = o[2 * U + u], f = o[3 * U + u], c_hat = o[4 * U + u], og = o[5 * U + u];
        float tc = lt_act(act, c, alpha);
        float dc = cy[U + u] + lt_act_grad(act, tc, g * og, alpha);
        d[u] = dc * c_hat * i * (1.0f - i);
        d[U + u] = dc * hp[U + u] * f * (1.0f - f);
        d[2 * U + u] = lt_act_grad(act, c_hat, dc * i, alpha);
        d[3 * U + u] = g * tc * og * (1.0f - og);
        cy[U + u] = dc * f;
    } else {
        float z = o[U + u], rg = o[2 * U + u], n = o[3 * U + u], rn = o[4 * U + u];
        float dn = lt_act_grad(act, n, g * (1.0f - z), alpha);
        d[u] = g * (hp[u] - n) * z * (1.0f - z);
        d[U + u] = dn * rn * rg * (1.0f - rg);
        d[2 * U + u] = dn * rg;
        d[3 * U + u] = dn;
        cy[u] = g * z;
    }
}

/* T forward steps (backend.h, rnn_forward); work-group b is batch row b. With
 * zero_state the row's slot 0 record is written as zeros first; with has_out every
 * step's h (out_all) or the last's is also written to out, out_width floats (U, or an
 * LSTM's [h | c]) at ooff + b * os_row + k * os_step. */
__kernel void lt_rnn_forward(ulong T, ulong B, ulong U, int cell, int act, float alpha, int zero_state,
                             __global const float *xw, ulong xwoff, int has_bias, __global const float *bias,
                             ulong boff, __global const float *r, ulong roff, int has_rbias,
                             __global const float *rbias, ulong rboff, __global float *rec, ulong recoff, int has_out,
                             __global float *out, ulong ooff, long os_row, long os_step, int out_all, ulong out_width)
{
    ulong b = get_group_id(0), l = get_local_id(0), L = get_local_size(0);
    ulong G = lt_cell_gates(cell) * U, S = lt_cell_record(cell) * U;
    __global const float *bi = has_bias ? bias + boff : 0;
    if (zero_state) {
        for (ulong i = l; i < S; i += L) rec[recoff + b * S + i] = 0.0f;
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
    for (ulong k = 0; k < T; k++) {
        __global const float *x = xw + xwoff + (k * B + b) * G, *hp = rec + recoff + (k * B + b) * S;
        __global float *o = rec + recoff + ((k + 1) * B + b) * S;
        __global float *y = 0; /* this row's output at this step, if it has one */
        if (has_out && (out_all || k == T - 1))
            y = out + (long)ooff + (long)b * os_row + (out_all ? (long)k * os_step : 0);
        for (ulong u = l; u < U; u += L) {
            lt_cell_forward_unit(cell, act, alpha, U, u, x, bi, r + roff + u, rbias + rboff, hp, o);
            if (y) y[u] = o[u];
            if (y && out_width > U) y[U + u] = o[U + u]; /* an LSTM's returned [h | c] */
        }
        barrier(CLK_GLOBAL_MEM_FENCE); /* step k + 1 reads every unit of this record */
    }
}

/* The T steps' backward pass, last to first (backend.h, rnn_backward); work-group b
 * is batch row b. dh holds every step's output gradients (dh_all) or the last step's. */
__kernel void lt_rnn_backward(ulong T, ulong B, ulong U, int cell, int act, float alpha, int zero_carry, int has_dh,
                              __global const float *dh, ulong dhoff, long ds_row, long ds_step, int dh_all,
                              __global const float *r, ulong roff, __global const float *rec, ulong recoff,
                              __global float *carry, ulong coff, __global float *dz, ulong dzoff)
{
    ulong b = get_group_id(0), l = get_local_id(0), L = get_local_size(0);
    ulong S = lt_cell_record(cell) * U, D = lt_cell_dz(cell) * U, G = lt_cell_gates(cell) * U;
    __global float *cy = carry + coff + b * 2 * U;
    if (zero_carry) /* a unit reads and writes only its own carry entries: no barrier */
        for (ulong u = l; u < U; u += L) cy[u] = cy[U + u] = 0.0f;
    for (ulong k = T; k-- > 0;) {
        __global const float *hp = rec + recoff + (k * B + b) * S, *o = rec + recoff + ((k + 1) * B + b) * S;
        __global const float *zn = k + 1 < T ? dz + dzoff + ((k + 1) * B + b) * D : 0;
        __global const float *dhk = 0; /* this row's output gradient at this step, if it has one */
        if (has_dh && (dh_all || k == T - 1))
            dhk = dh + (long)dhoff + (long)b * ds_row + (dh_all ? (long)k * ds_step : 0);
        __global float *d = dz + dzoff + (k * B + b) * D;
        for (ulong u = l; u < U; u += L)
            lt_cell_backward_unit(cell, act, alpha, U, u, dhk ? dhk[u] : 0.0f, zn, r + roff + u * G, hp, o, cy, d);
        barrier(CLK_GLOBAL_MEM_FENCE); /* step k - 1 reads every unit of this dz row */
    }
}
