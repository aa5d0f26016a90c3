void ref_k(unsigned long i, float *out, int *dbg) { int q = (int)i; dbg[0] = q & 3; *out = 10.0f + (float)(q & 3); }
