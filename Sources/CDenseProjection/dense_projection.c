#include "dense_projection.h"

#include <string.h>

static inline double from_bits(uint64_t bits) {
  double value;
  memcpy(&value, &bits, sizeof value);
  return value;
}

static inline uint64_t to_bits(double value) {
  uint64_t bits;
  memcpy(&bits, &value, sizeof bits);
  return bits;
}

/* The exact double of a value below 2^52 held in the low bits: (2^52 + v) - 2^52. */
static inline double exact(uint64_t v) { return from_bits(0x4330000000000000ull | v) - 0x1p52; }

/* sqrt(-2 ln u1), u1 = (hi + 0.5) / 2^32: ln u1 = e ln 2 + 2 atanh(s), s = (m - 1) / (m + 1) with
 * u1 = 2^e m, m in [sqrt(2)/2, sqrt(2)), |s| < 0.172, and the atanh series to s^21. */
static inline double box_muller_radius(uint64_t hi) {
  double u1 = (exact(hi) + 0.5) * 0x1p-32;
  uint64_t bits = to_bits(u1);
  double m0 = from_bits((bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull);
  int big = m0 > 1.4142135623730951;
  double m = big ? m0 * 0.5 : m0;
  double e = exact((bits >> 52) & 0x7ff) - (big ? 1022.0 : 1023.0);
  double f = m - 1;
  double s = f / (2 + f);
  double z = s * s;
  double p = 2.0 / 21;
  p = p * z + 2.0 / 19;
  p = p * z + 2.0 / 17;
  p = p * z + 2.0 / 15;
  p = p * z + 2.0 / 13;
  p = p * z + 2.0 / 11;
  p = p * z + 2.0 / 9;
  p = p * z + 2.0 / 7;
  p = p * z + 2.0 / 5;
  p = p * z + 2.0 / 3;
  double ln = e * 0.6931471805599453 + (2 * s + s * z * p);
  return __builtin_elementwise_sqrt(-2 * ln);
}

/* cos(x), x = 2 pi u2 with u2 = (lo + 0.5) / 2^32 rounded as the scalar formula rounds it:
 * x = n pi + y (Cody-Waite, pi in two parts), |y| <= pi/2, cos x = (-1)^n cos y, and the Taylor
 * series of cos y to y^20 (the next term is below 2e-17 at pi/2); the sign flipped with a bit mask. */
static inline double box_muller_cosine(uint64_t lo) {
  double u2 = (exact(lo) + 0.5) * 0x1p-32;
  double x = 2 * 3.141592653589793 * u2;
  double shifted = x * 0.3183098861837907 + 6755399441055744.0;
  double n = shifted - 6755399441055744.0;
  double y = (x - n * 3.14159265346825122834e+00) - n * 1.21542010130123844986e-10;
  double w = y * y;
  double c = 1.0 / 2432902008176640000.0;
  c = c * w - 1.0 / 6402373705728000.0;
  c = c * w + 1.0 / 20922789888000.0;
  c = c * w - 1.0 / 87178291200.0;
  c = c * w + 1.0 / 479001600.0;
  c = c * w - 1.0 / 3628800.0;
  c = c * w + 1.0 / 40320.0;
  c = c * w - 1.0 / 720.0;
  c = c * w + 1.0 / 24.0;
  c = c * w - 0.5;
  double cosine = 1 + w * c;
  return from_bits(to_bits(cosine) ^ (to_bits(shifted) << 63));
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
size_t entk_gaussian_entries(
    const uint64_t *restrict draws, size_t count, double scale, float *restrict entries, size_t *restrict undecided) {
  /* No fused multiply-adds: the margin is computed as the header states, in every clone. */
#pragma clang fp contract(off)
  /* One branch-free loop that vectorises marks the undecided entries NaN; a second finds them,
   * sixteen entries at a time. */
  size_t marked = 0;
  for (size_t i = 0; i < count; i++) {
    double value = box_muller_radius(draws[i] >> 32) * box_muller_cosine(draws[i] & 0xFFFFFFFFull) * scale;
    double margin = (__builtin_fabs(value) + scale) * 1e-12;
    int decided = (float)(value - margin) == (float)(value + margin);
    marked += !decided;
    entries[i] = decided ? (float)value : __builtin_nanf("");
  }
  size_t found = 0;
  for (size_t block = 0; found < marked && block < count; block += 16) {
    size_t end = block + 16 < count ? block + 16 : count;
    int any = 0;
    for (size_t i = block; i < end; i++) any |= entries[i] != entries[i];
    if (!any) continue;
    for (size_t i = block; i < end; i++) {
      if (entries[i] != entries[i]) undecided[found++] = i;
    }
  }
  return found;
}

static inline uint64_t splitmix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void entk_splitmix_draws(uint64_t first, uint64_t gamma, size_t count, uint64_t *restrict draws) {
  for (size_t i = 0; i < count; i++) draws[i] = splitmix(first + (uint64_t)i * gamma);
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void entk_rademacher_entries(uint64_t first, uint64_t gamma, size_t count, float scale, float *restrict entries) {
  uint32_t plus;
  memcpy(&plus, &scale, sizeof plus);
  for (size_t i = 0; i < count; i++) {
    uint32_t bits = plus | (uint32_t)(splitmix(first + (uint64_t)i * gamma) >> 63) << 31;
    memcpy(entries + i, &bits, sizeof bits);
  }
}
