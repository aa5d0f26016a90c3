/* Training progress: a bar redrawn in place on terminals, one line per epoch otherwise. */
#include <math.h>
#include <time.h>
#include <unistd.h>
#include "progress.h"

double lt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void lt_progress_init(lt_progress *p, FILE *f, int verbose, int epochs, size_t steps)
{
    p->f = verbose < 0 ? NULL : f ? f : stderr;
    p->bar = verbose == 2 || (verbose == 0 && p->f && isatty(fileno(p->f)));
    p->epochs = epochs;
    p->steps = steps;
    p->epoch_t0 = lt_now();
}

void lt_progress_epoch_start(lt_progress *p) { p->epoch_t0 = lt_now(); }

void lt_progress_step(lt_progress *p, int epoch, size_t step, double loss, double samples_per_s)
{
    if (!p->f || !p->bar) return;
    enum { width = 24 };
    int filled = (int)((double)width * (double)step / (double)p->steps);
    char bar[width + 1];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '=' : i == filled ? '>' : '.';
    bar[width] = 0;
    double elapsed = lt_now() - p->epoch_t0;
    double eta = step ? elapsed * (double)(p->steps - step) / (double)step : 0.0;
    fprintf(p->f, "\rEpoch %d/%d [%s] %zu/%zu loss %.5f %.0f samples/s ETA %.0fs \033[K", epoch, p->epochs, bar,
            step, p->steps, loss, samples_per_s, eta);
    fflush(p->f);
}

void lt_progress_epoch_end(lt_progress *p, int epoch, double loss, double val_loss, double samples_per_s)
{
    if (!p->f) return;
    double secs = lt_now() - p->epoch_t0;
    if (p->bar) fprintf(p->f, "\r\033[K");
    fprintf(p->f, "Epoch %d/%d %zu/%zu loss %.5f", epoch, p->epochs, p->steps, p->steps, loss);
    if (!isnan(val_loss)) fprintf(p->f, " val_loss %.5f", val_loss);
    fprintf(p->f, " %.0f samples/s %.1fs\n", samples_per_s, secs);
    fflush(p->f);
}
