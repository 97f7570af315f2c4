#ifndef ENTK_DENSE_PROJECTION_H
#define ENTK_DENSE_PROJECTION_H

#include <stddef.h>
#include <stdint.h>

/*
 * The Gaussian entries of entk's projection matrix (docs/projection.md) that fast polynomials
 * decide: for each SplitMix64 draw u, the candidate v = sqrt(-2 ln u1) * cos(2 pi u2) * scale with
 * u1 = ((u >> 32) + 0.5) / 2^32 and u2 = ((u & 0xFFFFFFFF) + 0.5) / 2^32, in vectorised loops
 * (one clone per x86-64 feature level, chosen at load time).
 *
 * Accuracy, checked for all 2^32 values of each half of u against glibc's log and cos
 * (tools/bench/check_dense_projection.c): the radius sqrt(-2 ln u1) within 2.4e-16 relative, the
 * cosine within 3.4e-16 absolute. entries[i] is v rounded to float32, which is the scalar
 * formula's entry bit for bit, when every value within m = (|v| + scale) * 1e-12 of v rounds the
 * same way (v - m and v + m round alike; the exact entry lies within m). The others (about 3 in
 * 10^4) are NaN, and their indices go to undecided in increasing order for the caller to compute
 * with libm; returns how many.
 *
 * draws, entries and undecided hold count elements each. Thread-safe (no state).
 */
size_t entk_gaussian_entries(const uint64_t *draws, size_t count, double scale, float *entries, size_t *undecided);

/*
 * The SplitMix64 draws of consecutive counters: draws[i] = mix(first + i * gamma) (mod 2^64),
 * mix as in docs/projection.md, in vectorised loops (one clone per x86-64 feature level: 64-bit
 * lane multiplies need AVX-512), so a row of a dense projection's draws costs a fraction of the
 * scalar loop. Integer arithmetic only: every clone gives the same bits.
 *
 * draws holds count elements. Thread-safe (no state).
 */
void entk_splitmix_draws(uint64_t first, uint64_t gamma, size_t count, uint64_t *draws);

/*
 * The Rademacher entries of consecutive counters: entries[i] = scale with the sign of the top bit
 * of mix(first + i * gamma) (set: negative), the draws of entk_splitmix_draws made and consumed in
 * one vectorised loop (no draws buffer). Integer arithmetic only: every clone gives the same bits,
 * and -scale is scale with its sign bit set, as float negation gives.
 *
 * entries holds count elements. Thread-safe (no state).
 */
void entk_rademacher_entries(uint64_t first, uint64_t gamma, size_t count, float scale, float *entries);

#endif
