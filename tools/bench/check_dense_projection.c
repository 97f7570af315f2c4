/*
 * Exhaustive accuracy check of Sources/CDenseProjection (the Gaussian projection entries' fast path):
 * the radius sqrt(-2 ln u1) and the cosine cos(2 pi u2) for every one of the 2^32 values of each
 * half of a draw, against glibc's log and cos. CounterProjection.fill relies on the radius being
 * within 1e-14 relative and the cosine within 1e-15 absolute (it keeps a 1e-12 margin). Takes a
 * few minutes; exits 1 if a bound fails.
 *
 *   cc -O2 -ISources/CDenseProjection/include tools/bench/check_dense_projection.c -lm -o /tmp/check_dense_projection
 *   /tmp/check_dense_projection          (and again built with -march=native, for the FMA clones)
 */
#include "../../Sources/CDenseProjection/dense_projection.c"

#include <math.h>
#include <stdio.h>

int main(void) {
  double worst_radius = 0, worst_cosine = 0;
  for (uint64_t v = 0; v < (1ull << 32); v++) {
    double u = ((double)v + 0.5) * 0x1p-32;
    double radius = sqrt(-2 * log(u));
    double r = fabs(box_muller_radius(v) - radius) / radius;
    double c = fabs(box_muller_cosine(v) - cos(2 * 3.141592653589793 * u));
    if (r > worst_radius) worst_radius = r;
    if (c > worst_cosine) worst_cosine = c;
  }
  printf("all 2^32 halves: radius relative error <= %.3g, cosine absolute error <= %.3g\n", worst_radius,
         worst_cosine);
  return worst_radius < 1e-14 && worst_cosine < 1e-15 ? 0 : 1;
}
