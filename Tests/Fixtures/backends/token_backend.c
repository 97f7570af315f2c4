/*
 * A text test backend of ABI 1.3: two int64 inputs per sample, input_ids [L] and attention_mask [L],
 * and f_c(x) = b_c + Σ_t mask_t T[ids_t, c] with a token table T [V × C] and a bias b [C]. So
 * ∂f_c/∂T[v, c'] = δ_cc' n_x(v), with n_x(v) the number of unmasked tokens v in x, and
 * ∂f_c/∂b_c' = δ_cc': the tests know every kernel in closed form (trntk = C (n_x·n_x' + 1)).
 * Both groups factor (ABI 1.3): the table as a sum of L one-hot terms, a_t = e_{ids_t} (index
 * -1 where the mask is 0), Δ_{c,t} = e_c (I = V, O = C, π(o, j) = j·C + o); the bias as one term,
 * a = [1], Δ_c = e_c. The model file is ignored except that it must exist. Compiled by the tests
 * with gcc, once correct and once per defect:
 *   BREAK_LEGACY_ACCEPTS the ABI 1.0 forward takes a float buffer for this two-input model
 *   BREAK_INPUT_SLOTS_HALF input_info and forward_inputs are set, vjp_inputs is NULL
 *   BREAK_JACOBIAN_TWIN  jacobian is set, jacobian_inputs is NULL
 *   BREAK_ONE_HOT_INDEX  factored_jacobian_inputs gives every unmasked token the index 0
 *   BREAK_FACTORED_VJP   factored_vjp_inputs gives the bias twice its gradient
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entk_backend.h"

enum { L = 4, V = 6, C = 2, P = V * C + C };

struct entk_model {
  float params[P]; /* T (V×C, row-major) then b (C) */
};

static entk_status fail(char *error, size_t capacity, entk_status status, const char *message) {
  if (error != NULL && capacity > 0) snprintf(error, capacity, "%s", message);
  return status;
}

static entk_status open_model(const char *path, const char *options, entk_model **out, char *error, size_t capacity) {
  if (options != NULL && strcmp(options, "") != 0 && strcmp(options, "{}") != 0) {
    return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "token test backend takes no options");
  }
  FILE *file = fopen(path, "rb");
  if (file == NULL) return fail(error, capacity, ENTK_STATUS_NOT_FOUND, "model file does not exist");
  fclose(file);
  entk_model *model = calloc(1, sizeof *model);
  if (model == NULL) return fail(error, capacity, ENTK_STATUS_OUT_OF_MEMORY, "out of memory");
  for (int i = 0; i < P; i++) model->params[i] = 0.25f * (float)(i % 7) - 0.5f;
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
  info->input_shape[0] = L;
  info->num_outputs = C;
  info->num_params = P;
  info->embedding_size = 0;
  info->num_param_groups = 2;
  if (info->struct_size >= ENTK_STRUCT_SIZE(entk_model_info, num_inputs)) info->num_inputs = 2;
  return ENTK_OK;
}

static entk_status param_group(const entk_model *model, int64_t index, entk_param_group *group, char *error, size_t capacity) {
  (void)model;
  if (index < 0 || index > 1) return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "group index out of range");
  if (group->struct_size < ENTK_STRUCT_SIZE(entk_param_group, count)) {
    return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "entk_param_group.struct_size too small");
  }
  group->name = index == 0 ? "table" : "bias";
  group->offset = index == 0 ? 0 : V * C;
  group->count = index == 0 ? V * C : C;
  return ENTK_OK;
}

static entk_status input_info(const entk_model *model, int64_t index, entk_input_info *info, char *error, size_t capacity) {
  (void)model;
  if (index < 0 || index > 1) return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "input index out of range");
  if (info->struct_size < ENTK_STRUCT_SIZE(entk_input_info, shape)) {
    return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "entk_input_info.struct_size too small");
  }
  info->name = index == 0 ? "input_ids" : "attention_mask";
  info->element_type = ENTK_ELEMENT_INT64;
  info->rank = 1;
  memset(info->shape, 0, sizeof info->shape);
  info->shape[0] = L;
  return ENTK_OK;
}

/* Checks n >= 1 and every id and mask value, sample by sample, naming the first bad one. */
static entk_status check_tokens(const void *const *inputs, int64_t n, char *error, size_t capacity) {
  if (n < 1) return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "n must be >= 1");
  const int64_t *ids = inputs[0], *mask = inputs[1];
  for (int64_t s = 0; s < n; s++) {
    for (int t = 0; t < L; t++) {
      int64_t id = ids[s * L + t], m = mask[s * L + t];
      if (id < 0 || id >= V) {
        if (error != NULL && capacity > 0)
          snprintf(error, capacity, "input_ids: sample %" PRId64 " token %d is %" PRId64 ", outside the vocabulary 0..<%d", s, t, id, V);
        return ENTK_STATUS_INVALID_ARGUMENT;
      }
      if (m != 0 && m != 1) {
        if (error != NULL && capacity > 0)
          snprintf(error, capacity, "attention_mask: sample %" PRId64 " position %d is %" PRId64 ", not 0 or 1", s, t, m);
        return ENTK_STATUS_INVALID_ARGUMENT;
      }
    }
  }
  return ENTK_OK;
}

/* n_x(v) for every sample into counts (n × V), after check_tokens. */
static entk_status token_counts(const void *const *inputs, int64_t n, float *counts, char *error, size_t capacity) {
  entk_status status = check_tokens(inputs, n, error, capacity);
  if (status != ENTK_OK) return status;
  const int64_t *ids = inputs[0], *mask = inputs[1];
  for (int64_t s = 0; s < n; s++) {
    for (int v = 0; v < V; v++) counts[s * V + v] = 0;
    for (int t = 0; t < L; t++) counts[s * V + ids[s * L + t]] += (float)mask[s * L + t];
  }
  return ENTK_OK;
}

static entk_status forward_inputs(entk_model *model, const void *const *inputs, int64_t n, float *logits, float *embedding, char *error, size_t capacity) {
  (void)embedding;
  float *counts = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1) * V);
  if (counts == NULL) return fail(error, capacity, ENTK_STATUS_OUT_OF_MEMORY, "out of memory");
  entk_status status = token_counts(inputs, n, counts, error, capacity);
  for (int64_t s = 0; status == ENTK_OK && s < n; s++) {
    for (int c = 0; c < C; c++) {
      float sum = model->params[V * C + c];
      for (int v = 0; v < V; v++) sum += counts[s * V + v] * model->params[v * C + c];
      logits[s * C + c] = sum;
    }
  }
  free(counts);
  return status;
}

__attribute__((unused)) static entk_status vjp_inputs(entk_model *model, const void *const *inputs, int64_t n, const float *u, float *grads, char *error, size_t capacity) {
  (void)model;
  float *counts = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1) * V);
  if (counts == NULL) return fail(error, capacity, ENTK_STATUS_OUT_OF_MEMORY, "out of memory");
  entk_status status = token_counts(inputs, n, counts, error, capacity);
  for (int64_t s = 0; status == ENTK_OK && s < n; s++) {
    for (int v = 0; v < V; v++)
      for (int c = 0; c < C; c++) grads[s * P + v * C + c] = u[s * C + c] * counts[s * V + v];
    for (int c = 0; c < C; c++) grads[s * P + V * C + c] = u[s * C + c];
  }
  free(counts);
  return status;
}

__attribute__((unused)) static entk_status jacobian_inputs(entk_model *model, const void *const *inputs, int64_t n, float *jacobians, char *error, size_t capacity) {
  if (n < 1) return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "n must be >= 1");
  float one_hot[C * C];
  for (int c = 0; c < C; c++)
    for (int k = 0; k < C; k++) one_hot[c * C + k] = c == k ? 1.0f : 0.0f;
  for (int64_t s = 0; s < n; s++) {
    const void *sample[2] = {(const int64_t *)inputs[0] + s * L, (const int64_t *)inputs[1] + s * L};
    for (int c = 0; c < C; c++) {
      entk_status status = vjp_inputs(model, sample, 1, one_hot + c * C, jacobians + (s * C + c) * P, error, capacity);
      if (status != ENTK_OK) return status;
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
  /* A caller before ABI 1.3 cannot read sums: the table is plain for it. */
  int knows_terms = factor->struct_size >= ENTK_STRUCT_SIZE(entk_group_factor, terms);
  factor->factored = index == 1 || knows_terms;
  factor->input_dim = factor->factored ? (index == 0 ? V : 1) : 0;
  factor->output_dim = factor->factored ? C : 0;
  if (factor->struct_size >= ENTK_STRUCT_SIZE(entk_group_factor, reason)) factor->reason = NULL;
  if (factor->struct_size >= ENTK_STRUCT_SIZE(entk_group_factor, terms)) factor->terms = index == 0 ? L : 1;
  if (factor->struct_size >= ENTK_STRUCT_SIZE(entk_group_factor, one_hot)) factor->one_hot = index == 0;
  return ENTK_OK;
}

/* Row of S = (L + C·L·C) + (1 + C·C) floats: the L indices, the table's Δ [c][t][o] = mask_t δ_co,
 * then 1 and the bias's Δ (identity). */
static entk_status factored_jacobian_inputs(entk_model *model, const void *const *inputs, int64_t n, float *out, char *error, size_t capacity) {
  (void)model;
  entk_status status = check_tokens(inputs, n, error, capacity);
  if (status != ENTK_OK) return status;
  const int64_t *ids = inputs[0], *mask = inputs[1];
  const int64_t stride = L + C * L * C + 1 + C * C;
  for (int64_t s = 0; s < n; s++) {
    float *row = out + s * stride;
    for (int t = 0; t < L; t++) {
      int64_t id = ids[s * L + t];
#ifdef BREAK_ONE_HOT_INDEX
      id = 0;
#endif
      row[t] = mask[s * L + t] ? (float)id : -1.0f;
    }
    float *delta = row + L;
    for (int c = 0; c < C; c++)
      for (int t = 0; t < L; t++)
        for (int o = 0; o < C; o++) delta[(c * L + t) * C + o] = c == o ? (float)mask[s * L + t] : 0.0f;
    float *bias = delta + C * L * C;
    bias[0] = 1;
    for (int c = 0; c < C; c++)
      for (int o = 0; o < C; o++) bias[1 + c * C + o] = c == o ? 1.0f : 0.0f;
  }
  return ENTK_OK;
}

/* Row of (L + L·C) + (1 + C) floats: the L indices, Σ_c u_c Δ_{c,t} = u_o mask_t for the table,
 * then 1 and u for the bias. */
static entk_status factored_vjp_inputs(entk_model *model, const void *const *inputs, int64_t n, const float *u, float *out, char *error, size_t capacity) {
  (void)model;
  entk_status status = check_tokens(inputs, n, error, capacity);
  if (status != ENTK_OK) return status;
  const int64_t *ids = inputs[0], *mask = inputs[1];
  const int64_t stride = L + L * C + 1 + C;
  for (int64_t s = 0; s < n; s++) {
    float *row = out + s * stride;
    for (int t = 0; t < L; t++) row[t] = mask[s * L + t] ? (float)ids[s * L + t] : -1.0f;
    for (int t = 0; t < L; t++)
      for (int o = 0; o < C; o++) row[L + t * C + o] = u[s * C + o] * (float)mask[s * L + t];
    row[L + L * C] = 1;
#ifdef BREAK_FACTORED_VJP
    for (int o = 0; o < C; o++) row[L + L * C + 1 + o] = 2 * u[s * C + o];
#else
    for (int o = 0; o < C; o++) row[L + L * C + 1 + o] = u[s * C + o];
#endif
  }
  return ENTK_OK;
}

static entk_status factored_jacobian(entk_model *model, const float *x, int64_t n, float *out, char *error, size_t capacity) {
  (void)model, (void)x, (void)n, (void)out;
  return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT,
              "the model takes 2 inputs (input_ids int64 [4], attention_mask int64 [4]), not one float buffer: use the ABI 1.3 *_inputs calls");
}

static entk_status legacy_refusal(char *error, size_t capacity) {
  return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT,
              "the model takes 2 inputs (input_ids int64 [4], attention_mask int64 [4]), not one float buffer: use the ABI 1.3 *_inputs calls");
}

static entk_status forward(entk_model *model, const float *x, int64_t n, float *logits, float *embedding, char *error, size_t capacity) {
#ifdef BREAK_LEGACY_ACCEPTS
  (void)model, (void)x, (void)embedding, (void)error, (void)capacity;
  for (int64_t i = 0; i < n * C; i++) logits[i] = 0;
  return ENTK_OK;
#else
  (void)model, (void)x, (void)n, (void)logits, (void)embedding;
  return legacy_refusal(error, capacity);
#endif
}

static entk_status vjp(entk_model *model, const float *x, int64_t n, const float *u, float *grads, char *error, size_t capacity) {
  (void)model, (void)x, (void)n, (void)u, (void)grads;
  return legacy_refusal(error, capacity);
}

static entk_status jacobian(entk_model *model, const float *x, int64_t n, float *jacobians, char *error, size_t capacity) {
  (void)model, (void)x, (void)n, (void)jacobians;
  return legacy_refusal(error, capacity);
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

static const entk_backend_api api = {
    .struct_size = ENTK_STRUCT_SIZE(entk_backend_api, factored_vjp_inputs),
    .abi_version_major = ENTK_ABI_VERSION_MAJOR,
    .abi_version_minor = 3,
    .name = "tokens",
    .version = "0.0.1",
    .description = "token-count test backend (two int64 inputs)",
    .open = open_model,
    .close = close_model,
    .describe = describe,
    .param_group = param_group,
    .forward = forward,
    .vjp = vjp,
    .jacobian = jacobian,
    .get_params = get_params,
    .set_params = set_params,
    .group_factor = group_factor,
    .factored_jacobian = factored_jacobian,
    .input_info = input_info,
    .forward_inputs = forward_inputs,
#ifndef BREAK_INPUT_SLOTS_HALF
    .vjp_inputs = vjp_inputs,
#endif
#ifndef BREAK_JACOBIAN_TWIN
    .jacobian_inputs = jacobian_inputs,
#endif
    .factored_jacobian_inputs = factored_jacobian_inputs,
    .factored_vjp_inputs = factored_vjp_inputs,
};

ENTK_EXPORT const entk_backend_api *entk_backend_v1(void) { return &api; }
