/* Training progress on a terminal (a redrawn bar) or in plain lines. */
#ifndef LT_PROGRESS_H
#define LT_PROGRESS_H

#include <stdio.h>

/* Progress state for one fit call. */
typedef struct lt_progress {
    FILE *f;          /* where to write (NULL: quiet)          */
    int bar;          /* 1: redraw one line with \r; 0: lines  */
    int epochs;       /* total epochs                          */
    size_t steps;     /* steps per epoch                       */
    double epoch_t0;  /* epoch start (seconds)                 */
} lt_progress;

/* Monotonic wall clock in seconds. */
double lt_now(void);
/* Starts reporting; verbose as in lt_fit_opts. */
void lt_progress_init(lt_progress *p, FILE *f, int verbose, int epochs, size_t steps);
/* Marks the start of an epoch. */
void lt_progress_epoch_start(lt_progress *p);
/* Redraws the bar after `step` steps (bar mode only). */
void lt_progress_step(lt_progress *p, int epoch, size_t step, double loss, double samples_per_s);
/* Ends an epoch with its losses (val_loss NaN when there is none). */
void lt_progress_epoch_end(lt_progress *p, int epoch, double loss, double val_loss, double samples_per_s);

#endif
