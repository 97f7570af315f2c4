/*
 * A linear test backend, f(x) = W x + b with x in R^3 and C = 2 outputs, model file ignored
 * except that it must exist. Compiled by the tests with gcc outside SwiftPM, once correct and
 * once per defect, to show the host names each defect:
 *   BREAK_ENTRY_NAME   exports no entk_backend_v1
 *   BREAK_ABI_MAJOR    exports entk_backend_v99 returning an ABI 99 table
 *   BREAK_ENTRY_NULL   entk_backend_v1 returns NULL
 *   BREAK_STRUCT_SIZE  struct_size smaller than ABI 1 requires
 *   BREAK_NULL_FORWARD the required forward slot is NULL
 *   BREAK_GRADIENT     vjp returns 1.1 times the true gradient
 *   BREAK_FACTOR_DIMS  group_factor gives the weight I × O = 4 × 2, not its 6 parameters
 *   BREAK_FACTOR_VALUES factored_jacobian returns 1.1 times the true Δ of the weight
 *   BREAK_FACTOR_HALF  group_factor is set but factored_jacobian is NULL
 *   BREAK_WRITES_PAST_STRUCT_SIZE group_factor clears sizeof(entk_group_factor) bytes, past
 *                      a caller's shorter ABI 1.1 struct
 *   BREAK_REFUSES_FIRST_STRUCT_SIZE group_factor refuses a struct_size below its own sizeof
 *   BREAK_DESCRIBE_PAST_STRUCT_SIZE describe writes num_inputs (ABI 1.3) into an ABI 1.0
 *                      caller's struct, which ends before it
 * and, not a defect, ABI_1_0: a table of ABI 1.0 (no factor slots), as an older backend has.
 *
 * Both groups factor (ABI 1.1): W with a = x, Δ_c = e_c, π(o, j) = o·D + j; b with a = [1].
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entk_backend.h"

enum { D = 3, C = 2, P = C * D + C };

struct entk_model {
  float params[P]; /* W (C×D, row-major) then b (C) */
};

static entk_status fail(char *error, size_t capacity, entk_status status, const char *message) {
  if (error != NULL && capacity > 0) snprintf(error, capacity, "%s", message);
  return status;
}

static entk_status open_model(const char *path, const char *options, entk_model **out, char *error, size_t capacity) {
  if (options != NULL && strcmp(options, "") != 0 && strcmp(options, "{}") != 0) {
    return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "linear test backend takes no options");
  }
  FILE *file = fopen(path, "rb");
  if (file == NULL) return fail(error, capacity, ENTK_STATUS_NOT_FOUND, "model file does not exist");
  fclose(file);
  entk_model *model = calloc(1, sizeof *model);
  if (model == NULL) return fail(error, capacity, ENTK_STATUS_OUT_OF_MEMORY, "out of memory");
  for (int i = 0; i < P; i++) model->params[i] = (float)sin(1.0 + i);
  *out = model;
  return ENTK_OK;
}

static void close_model(entk_model *model) { free(model); }

static entk_status describe(const entk_model *model, entk_model_info *info, char *error, size_t capacity) {
  (void)model;
  if (info->struct_size < ENTK_STRUCT_SIZE(entk_model_info, num_param_groups)) {
    return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "entk_model_info.struct_size too small");
  }
  info->input_rank = 1;
  memset(info->input_shape, 0, sizeof info->input_shape);
  info->input_shape[0] = D;
  info->num_outputs = C;
  info->num_params = P;
  info->embedding_size = 0;
  info->num_param_groups = 2;
#ifdef BREAK_DESCRIBE_PAST_STRUCT_SIZE
  info->num_inputs = 1;
#endif
  return ENTK_OK;
}

static entk_status param_group(const entk_model *model, int64_t index, entk_param_group *group, char *error, size_t capacity) {
  (void)model;
  if (index < 0 || index > 1) return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "group index out of range");
  if (group->struct_size < ENTK_STRUCT_SIZE(entk_param_group, count)) {
    return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "entk_param_group.struct_size too small");
  }
  group->name = index == 0 ? "weight" : "bias";
  group->offset = index == 0 ? 0 : C * D;
  group->count = index == 0 ? C * D : C;
  return ENTK_OK;
}

__attribute__((unused)) static entk_status forward(entk_model *model, const float *x, int64_t n, float *logits, float *embedding, char *error, size_t capacity) {
  (void)embedding;
  if (n < 1) return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "n must be >= 1");
  for (int64_t s = 0; s < n; s++) {
    for (int c = 0; c < C; c++) {
      float sum = model->params[C * D + c];
      for (int d = 0; d < D; d++) sum += model->params[c * D + d] * x[s * D + d];
      logits[s * C + c] = sum;
    }
  }
  return ENTK_OK;
}

static entk_status vjp(entk_model *model, const float *x, int64_t n, const float *u, float *grads, char *error, size_t capacity) {
  (void)model;
  if (n < 1) return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "n must be >= 1");
#ifdef BREAK_GRADIENT
  const float scale = 1.1f;
#else
  const float scale = 1.0f;
#endif
  for (int64_t s = 0; s < n; s++) {
    for (int c = 0; c < C; c++) {
      for (int d = 0; d < D; d++) grads[s * P + c * D + d] = scale * u[s * C + c] * x[s * D + d];
      grads[s * P + C * D + c] = scale * u[s * C + c];
    }
  }
  return ENTK_OK;
}

static entk_status group_factor(const entk_model *model, int64_t index, entk_group_factor *factor, char *error, size_t capacity) {
  (void)model;
  if (index < 0 || index > 1) return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "group index out of range");
  if (factor->struct_size < ENTK_STRUCT_SIZE(entk_group_factor, output_dim)) {
    return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "entk_group_factor.struct_size too small");
  }
#if defined(BREAK_WRITES_PAST_STRUCT_SIZE)
  memset(factor, 0, sizeof *factor);
#elif defined(BREAK_REFUSES_FIRST_STRUCT_SIZE)
  if (factor->struct_size < sizeof *factor) {
    return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "entk_group_factor.struct_size too small");
  }
#endif
  factor->factored = 1;
#ifdef BREAK_FACTOR_DIMS
  factor->input_dim = index == 0 ? D + 1 : 1;
#else
  factor->input_dim = index == 0 ? D : 1;
#endif
  factor->output_dim = C;
  return ENTK_OK;
}

/* Row of S = (D + C·C) + (1 + C·C) floats: x, the weight's Δ (identity), 1, the bias's Δ. */
__attribute__((unused)) static entk_status factored_jacobian(entk_model *model, const float *x, int64_t n, float *out, char *error, size_t capacity) {
  (void)model;
  if (n < 1) return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "n must be >= 1");
#ifdef BREAK_FACTOR_VALUES
  const float scale = 1.1f;
#else
  const float scale = 1.0f;
#endif
  const int64_t stride = D + C * C + 1 + C * C;
  for (int64_t s = 0; s < n; s++) {
    float *row = out + s * stride;
    for (int d = 0; d < D; d++) row[d] = x[s * D + d];
    for (int c = 0; c < C; c++)
      for (int o = 0; o < C; o++) row[D + c * C + o] = c == o ? scale : 0;
    row[D + C * C] = 1;
    for (int c = 0; c < C; c++)
      for (int o = 0; o < C; o++) row[D + C * C + 1 + c * C + o] = c == o ? 1 : 0;
  }
  return ENTK_OK;
}

static entk_status get_params(const entk_model *model, float *params, char *error, size_t capacity) {
  (void)error, (void)capacity;
  memcpy(params, model->params, sizeof model->params);
  return ENTK_OK;
}

static entk_status set_params(entk_model *model, const float *params, char *error, size_t capacity) {
  (void)error, (void)capacity;
  memcpy(model->params, params, sizeof model->params);
  return ENTK_OK;
}

__attribute__((unused)) static const entk_backend_api api = {
#ifdef BREAK_STRUCT_SIZE
    .struct_size = 16,
#elif defined(ABI_1_0)
    .struct_size = ENTK_STRUCT_SIZE(entk_backend_api, save),
#else
    .struct_size = ENTK_STRUCT_SIZE(entk_backend_api, factored_jacobian),
#endif
#ifdef BREAK_ABI_MAJOR
    .abi_version_major = 99,
#else
    .abi_version_major = ENTK_ABI_VERSION_MAJOR,
#endif
#ifdef ABI_1_0
    .abi_version_minor = 0,
#else
    .abi_version_minor = ENTK_ABI_VERSION_MINOR,
#endif
    .name = "linear",
    .version = "0.0.1",
    .description = "linear test backend",
    .open = open_model,
    .close = close_model,
    .describe = describe,
    .param_group = param_group,
#ifndef BREAK_NULL_FORWARD
    .forward = forward,
#endif
    .vjp = vjp,
    .get_params = get_params,
    .set_params = set_params,
    .group_factor = group_factor,
#ifndef BREAK_FACTOR_HALF
    .factored_jacobian = factored_jacobian,
#endif
};

#if defined(BREAK_ENTRY_NAME)
ENTK_EXPORT const entk_backend_api *entk_backend_v1_renamed(void) { return &api; }
#elif defined(BREAK_ABI_MAJOR)
ENTK_EXPORT const entk_backend_api *entk_backend_v99(void) { return &api; }
#elif defined(BREAK_ENTRY_NULL)
ENTK_EXPORT const entk_backend_api *entk_backend_v1(void) { return NULL; }
#else
ENTK_EXPORT const entk_backend_api *entk_backend_v1(void) { return &api; }
#endif
