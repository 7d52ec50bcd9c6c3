/* report: the simulator's output: the comparison table (aligned or TSV) and the files under
 * --out DIR that the gnuplot scripts in plots/ draw. Reads results, owns nothing. */
#ifndef MPT_REPORT_H
#define MPT_REPORT_H

#include <stdio.h>

#include "sim/run.h"
#include "sim/scenario.h"

/* Jain's fairness index of n allocations, (sum x)^2 / (n sum x^2): 1 when all are equal, 1/n
 * when one gets everything; NAN when all are zero. */
double report_jain(const double *x, unsigned n);
/* A one-line description of the scenario, for titles. */
void report_describe(const struct scenario *s, char *out, size_t len);
void report_table(FILE *f, const struct scenario *s, const struct run_result *r, unsigned n,
		  int tsv);
/* Writes summary.tsv, goodput.tsv, share.tsv, rtt_SCHED.tsv, links_SCHED.tsv, with sites
 * sites_SCHED.tsv (each site's goodput), and meta.gp into dir (which must exist). 0 or -errno, with one line in err. */
int report_write_dir(const char *dir, const struct scenario *s, const struct run_result *r,
		     unsigned n, char *err, size_t errlen);

#endif
