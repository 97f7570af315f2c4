#ifndef ENTK_BOX_MULLER_H
#define ENTK_BOX_MULLER_H

#include <stddef.h>
#include <stdint.h>

/*
 * Fast candidates for the Gaussian entries of entk's projection matrix (docs/projection.md):
 * for each SplitMix64 draw u, values[i] = sqrt(-2 ln u1) * cos(2 pi u2) with
 * u1 = ((u >> 32) + 0.5) / 2^32 and u2 = ((u & 0xFFFFFFFF) + 0.5) / 2^32, computed with
 * polynomials in vectorised loops (one clone per x86-64 feature level, chosen at load time).
 *
 * Accuracy, checked for all 2^32 values of each half of u against glibc's log and cos
 * (tools/bench/check_box_muller.c): the radius sqrt(-2 ln u1) within 2.4e-16 relative, the cosine
 * within 1.2e-16 absolute (the caller's margin assumes 1e-14 and 1e-15). The caller rounds a candidate to float32 only when every value within
 * 1e-12 of it rounds the same way, and computes the entry with libm otherwise, so entries stay
 * bit-identical to the scalar formula.
 *
 * draws and values hold count elements each and must not overlap. Thread-safe (no state).
 */
void entk_box_muller_candidates(const uint64_t *draws, size_t count, double *values);

#endif
