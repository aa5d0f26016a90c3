/* minimal (b): quotient and remainder of the same runtime operands. LLVM 14's DivRemPairs
 * pass rewrites the remainder as i - (i / w) * w with `freeze`d operands; Oclgrind 21.10's
 * --uninitialized plugin aborts on `freeze` (the work-item stops, nothing is written). */
__kernel void k(__global float *out, __global int *dbg, ulong n)
{
    ulong i = get_global_id(0), w = n / 8 + 1;    /* w only known at run time */
#ifdef EXPLICIT_REM
    ulong q = i / w, r = i - q * w;               /* the rewrite: no `%` */
#else
    ulong q = i / w, r = i % w;
#endif
    if (i < n) out[i] = (float)(q * 100 + r);
}
