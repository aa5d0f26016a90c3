void ref_k(unsigned long i, float *out, int *dbg) { (void)dbg; unsigned long n = 64, w = n / 8 + 1; *out = (float)((i / w) * 100 + i % w); }
