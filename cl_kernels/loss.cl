/* Losses: value (summed like lt_sum_partial) and gradient from one pass over the batch. */

#define LT_PROB_EPS 1e-7f

/* Per-element loss *l and its derivative *d with respect to p. For the probability losses
 * p is clipped to [eps, 1-eps]; CCE's d is 0 outside that range (a clip's gradient), BCE's
 * is the unclipped loss's on [0, 1] (see lt_backend_loss in backend.h). */
void lt_loss_elem(int kind, float p, float t, float *l, float *d)
{
    switch (kind) {
    case LT_LOSS_BCE_LOGITS:
        *l = fmax(p, 0.0f) - p * t + log1p(exp(-fabs(p)));
        *d = lt_sigmoid(p) - t;
        break;
    case LT_LOSS_BCE_PROBS: {
        float pc = clamp(p, LT_PROB_EPS, 1.0f - LT_PROB_EPS);
        *l = -(t * log(pc) + (1.0f - t) * log(1.0f - pc));
        *d = (p < 0.0f || p > 1.0f) ? 0.0f : (p - t) / fmax(p * (1.0f - p), 1e-12f);
        break;
    }
    case LT_LOSS_CCE_PROBS: {
        float pc = clamp(p, LT_PROB_EPS, 1.0f - LT_PROB_EPS);
        *l = -t * log(pc);
        *d = (p < LT_PROB_EPS || p > 1.0f - LT_PROB_EPS) ? 0.0f : -t / pc;
        break;
    }
    default: { /* MSE */
        float e = p - t;
        *l = e * e;
        *d = 2.0f * e;
        break;
    }
    }
}

/* part[part_off + group] = this group's share of the loss sum (with one group, the sum
 * itself, so the host can point part at the output); when has_grad, g = scale *
 * dloss/dp. g[i] is written after p[i] is read by the same work-item, so g may alias p. */
__kernel void lt_loss_partial(int kind, ulong n, __global const float *p, ulong poff,
                              __global const float *t, ulong toff, float scale, int has_grad,
                              __global float *g, ulong goff, __global float *part, ulong part_off,
                              __local float *s)
{
    float acc = 0.0f;
    LT_FOR_EACH(i, n) {
        float l, d;
        lt_loss_elem(kind, p[poff + i], t[toff + i], &l, &d);
        acc += l;
        if (has_grad) g[goff + i] = scale * d;
    }
    acc = lt_group_sum(s, acc);
    if (get_local_id(0) == 0) part[part_off + get_group_id(0)] = acc;
}
