/* Recurrent cells and strided copies (lib/backend.h, "data movement and recurrent
 * cells"). A step is one fused kernel: each work-item owns one unit of one row, forms
 * its gates' recurrent dot products, h_prev R, itself and applies the cell, so a step
 * costs one launch and never round-trips through a GEMM's output. The backward step
 * likewise forms dz_next R^T for its unit (a contiguous row of R) and the unit's gate
 * gradients in one launch. */

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
    long i = (long)(row / n1), j = (long)(row % n1);
    long xi = (long)xoff + i * xs0 + j * xs1 + (long)c, yi = (long)yoff + i * ys0 + j * ys1 + (long)c;
    float v = x[xi];
    y[yi] = beta != 0.0f ? y[yi] + v : v;
}

/* Gates per unit, record and dz widths in units (lt_cell_gates and friends). */
ulong lt_cell_gates(int cell) { return cell == LT_CELL_LSTM ? 4 : cell == LT_CELL_GRU ? 3 : 1; }
ulong lt_cell_record(int cell) { return cell == LT_CELL_LSTM ? 6 : cell == LT_CELL_GRU ? 5 : 1; }
ulong lt_cell_dz(int cell) { return cell == LT_CELL_SIMPLE ? 1 : 4; }

/* One forward step; 2-D launch over (units, batch). */
__kernel void lt_rnn_step_forward(ulong B, ulong U, int cell, int act, float alpha, __global const float *xw,
                                  ulong xwoff, __global const float *r, ulong roff, int has_rbias,
                                  __global const float *rbias, ulong rboff, __global const float *prev, ulong poff,
                                  __global float *rec, ulong recoff)
{
    ulong u = get_global_id(0), b = get_global_id(1);
    if (u >= U || b >= B) return;
    ulong G = lt_cell_gates(cell) * U, S = lt_cell_record(cell) * U;
    __global const float *hp = prev + poff + b * S, *x = xw + xwoff + b * G, *w = r + roff + u;
    __global float *o = rec + recoff + b * S;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    if (cell == LT_CELL_SIMPLE) {
        for (ulong k = 0; k < U; k++) a0 += hp[k] * w[k * G];
        o[u] = lt_act(act, x[u] + a0, alpha);
    } else if (cell == LT_CELL_LSTM) {
        for (ulong k = 0; k < U; k++) {
            float h = hp[k];
            __global const float *wk = w + k * G;
            a0 += h * wk[0];
            a1 += h * wk[U];
            a2 += h * wk[2 * U];
            a3 += h * wk[3 * U];
        }
        float i = lt_sigmoid(x[u] + a0), f = lt_sigmoid(x[U + u] + a1);
        float c_hat = lt_act(act, x[2 * U + u] + a2, alpha), og = lt_sigmoid(x[3 * U + u] + a3);
        float c = f * hp[U + u] + i * c_hat;
        o[u] = og * lt_act(act, c, alpha);
        o[U + u] = c;
        o[2 * U + u] = i;
        o[3 * U + u] = f;
        o[4 * U + u] = c_hat;
        o[5 * U + u] = og;
    } else {
        for (ulong k = 0; k < U; k++) {
            float h = hp[k];
            __global const float *wk = w + k * G;
            a0 += h * wk[0];
            a1 += h * wk[U];
            a2 += h * wk[2 * U];
        }
        __global const float *rb = rbias + rboff;
        float rn = a2 + rb[2 * U + u];
        float z = lt_sigmoid(x[u] + a0 + rb[u]), rg = lt_sigmoid(x[U + u] + a1 + rb[U + u]);
        float n = lt_act(act, x[2 * U + u] + rg * rn, alpha);
        o[u] = z * hp[u] + (1.0f - z) * n;
        o[U + u] = z;
        o[2 * U + u] = rg;
        o[3 * U + u] = n;
        o[4 * U + u] = rn;
    }
}

/* One backward step; 2-D launch over (units, batch). */
__kernel void lt_rnn_step_backward(ulong B, ulong U, int cell, int act, float alpha, int has_dh,
                                   __global const float *dh, ulong dhoff, int has_next, __global const float *dzn,
                                   ulong dznoff, __global const float *r, ulong roff, __global const float *prev,
                                   ulong poff, __global const float *rec, ulong recoff, __global float *carry,
                                   ulong coff, __global float *dz, ulong dzoff)
{
    ulong u = get_global_id(0), b = get_global_id(1);
    if (u >= U || b >= B) return;
    ulong G = lt_cell_gates(cell) * U, S = lt_cell_record(cell) * U, D = lt_cell_dz(cell) * U;
    __global const float *hp = prev + poff + b * S, *o = rec + recoff + b * S;
    __global float *cy = carry + coff + b * 2 * U, *d = dz + dzoff + b * D;
    float g = has_dh ? dh[dhoff + b * U + u] : 0.0f;
    if (cell == LT_CELL_GRU) g += cy[u];
    if (has_next) {
        __global const float *zn = dzn + dznoff + b * D, *w = r + roff + u * G;
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
