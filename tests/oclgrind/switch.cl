/* Oclgrind 21.10 mis-executes this (items 4, 5, 6 of 8 get 13): a switch on (q & 3) with three cases and a default; no latent code */
__kernel void k(__global float *out, __global int *dbg, ulong n)
{
    int q = (int)get_global_id(0);
    if (q >= (int)n) return;
    float r;
    switch (q & 3) {
    case 0: r = 10.0f; break;
    case 1: r = 11.0f; break;
    case 2: r = 12.0f; break;
    default: r = 13.0f; break;
    }
    dbg[4 * q] = q & 3;
    out[q] = r;
}
