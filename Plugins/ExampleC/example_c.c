/*
 * example-c: an entk backend in plain C — the template a third party copies.
 *
 * Model: a tanh multilayer perceptron stored as a folder of float32 .npy files
 *   W1.npy [h1, d], b1.npy [h1], W2.npy [h2, h1], b2.npy [h2], ..., WL.npy [C, h_{L-1}], bL.npy [C]
 * f(x) = W_L a_{L-1} + b_L with a_0 = x, a_k = tanh(W_k a_{k-1} + b_k). Files must be
 * little-endian, C order, format version 1.0, 2.0 or 3.0 (what numpy.save writes).
 *
 * Flat parameter vector: W1 (row-major), b1, W2, b2, ...; one parameter group per layer,
 * "layerK" = WK then bK. The embedding is a_{L-1}, the input of the last layer.
 * options_json: none accepted (NULL, "" or "{}").
 *
 * Factored Jacobians (ABI 1.1, `group_factor` / `factored_jacobian`): every layer is one dense
 * map z_k = W_k a_{k-1} + b_k, so its whole group (W_k and b_k together) factors as an outer
 * product with
 *   a   = [a_{k-1}; 1]          (I = in_k + 1: the layer's input, then a constant 1 for the bias)
 *   Δ_c = ∂f_c/∂z_k             (O = out_k: the gradient with respect to the pre-activation)
 *   π(o, j) = o·in_k + j        for j < in_k  (W_k[o, j], row-major)
 *   π(o, in_k) = out_k·in_k + o                (b_k[o], stored after W_k)
 * There are no unfactored groups, so a factored row is [a_0; 1], Δ(layer1), [a_1; 1], Δ(layer2), ...
 *
 * Deliberately simple loops (no BLAS) so the file stands alone; a production backend
 * would call sgemm. Everything reachable from the table validates and returns a status.
 */
#include "entk_example_c.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 16

struct entk_model {
  int num_layers;
  int64_t in_dim[MAX_LAYERS];  /* layer k maps in_dim[k] -> out_dim[k] */
  int64_t out_dim[MAX_LAYERS];
  int64_t weight_offset[MAX_LAYERS]; /* into params */
  int64_t bias_offset[MAX_LAYERS];
  int64_t num_params;
  int64_t factor_offset[MAX_LAYERS]; /* start of layer k's [a; 1] in a factored_jacobian row */
  int64_t factored_row_size;         /* S, the floats of one factored_jacobian row */
  int64_t max_width;
  float *params;
  char group_names[MAX_LAYERS][16];
};

static entk_status fail(char *error, size_t capacity, entk_status status, const char *format, ...) {
  if (error != NULL && capacity > 0) {
    va_list args;
    va_start(args, format);
    vsnprintf(error, capacity, format, args);
    va_end(args);
  }
  return status;
}

/* Reads a float32 .npy file of rank 1 or 2 into a malloc'd buffer. */
static entk_status read_npy(const char *path, int expected_rank, int64_t shape[2], float **out,
                            char *error, size_t capacity) {
  FILE *file = fopen(path, "rb");
  if (file == NULL) {
    return fail(error, capacity, ENTK_STATUS_NOT_FOUND, "%s: %s", path, strerror(errno));
  }
  unsigned char preamble[12];
  entk_status status = ENTK_OK;
  char *header = NULL;
  if (fread(preamble, 1, 10, file) != 10 || memcmp(preamble, "\x93NUMPY", 6) != 0) {
    status = fail(error, capacity, ENTK_STATUS_INVALID_MODEL, "%s: not an .npy file", path);
    goto done;
  }
  size_t header_length;
  if (preamble[6] == 1) {
    header_length = (size_t)preamble[8] | (size_t)preamble[9] << 8;
  } else if (preamble[6] == 2 || preamble[6] == 3) {
    if (fread(preamble + 10, 1, 2, file) != 2) {
      status = fail(error, capacity, ENTK_STATUS_INVALID_MODEL, "%s: truncated header", path);
      goto done;
    }
    header_length = (size_t)preamble[8] | (size_t)preamble[9] << 8 | (size_t)preamble[10] << 16 |
                    (size_t)preamble[11] << 24;
  } else {
    status = fail(error, capacity, ENTK_STATUS_INVALID_MODEL, "%s: unsupported .npy version %d", path,
                  preamble[6]);
    goto done;
  }
  if (header_length > 1 << 20) {
    status = fail(error, capacity, ENTK_STATUS_INVALID_MODEL, "%s: header too long", path);
    goto done;
  }
  header = calloc(header_length + 1, 1);
  if (header == NULL) {
    status = fail(error, capacity, ENTK_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    goto done;
  }
  if (fread(header, 1, header_length, file) != header_length) {
    status = fail(error, capacity, ENTK_STATUS_INVALID_MODEL, "%s: truncated header", path);
    goto done;
  }
  if (strstr(header, "'descr': '<f4'") == NULL) {
    status = fail(error, capacity, ENTK_STATUS_INVALID_MODEL, "%s: dtype must be little-endian float32 ('<f4')", path);
    goto done;
  }
  if (strstr(header, "'fortran_order': False") == NULL) {
    status = fail(error, capacity, ENTK_STATUS_INVALID_MODEL, "%s: array must be in C order", path);
    goto done;
  }
  const char *shape_text = strstr(header, "'shape': (");
  if (shape_text == NULL) {
    status = fail(error, capacity, ENTK_STATUS_INVALID_MODEL, "%s: header has no shape", path);
    goto done;
  }
  shape_text += strlen("'shape': (");
  int rank = 0;
  int64_t count = 1;
  while (*shape_text != ')' && *shape_text != '\0') {
    if (isdigit((unsigned char)*shape_text)) {
      char *end;
      long long dim = strtoll(shape_text, &end, 10);
      if (rank == 2 || dim <= 0 || dim > (1 << 24)) {
        status = fail(error, capacity, ENTK_STATUS_INVALID_MODEL, "%s: unsupported shape", path);
        goto done;
      }
      shape[rank++] = dim;
      count *= dim;
      shape_text = end;
    } else {
      shape_text++;
    }
  }
  if (rank != expected_rank) {
    status = fail(error, capacity, ENTK_STATUS_INVALID_MODEL, "%s: expected rank %d, got %d", path,
                  expected_rank, rank);
    goto done;
  }
  *out = malloc((size_t)count * sizeof(float));
  if (*out == NULL) {
    status = fail(error, capacity, ENTK_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    goto done;
  }
  if (fread(*out, sizeof(float), (size_t)count, file) != (size_t)count) {
    free(*out);
    *out = NULL;
    status = fail(error, capacity, ENTK_STATUS_INVALID_MODEL, "%s: truncated data (expected %lld floats)",
                  path, (long long)count);
  }
done:
  free(header);
  fclose(file);
  return status;
}

static entk_status check_options(const char *options_json, char *error, size_t capacity) {
  if (options_json == NULL) return ENTK_OK;
  const char *p = options_json;
  while (isspace((unsigned char)*p)) p++;
  if (*p == '\0') return ENTK_OK;
  if (*p++ == '{') {
    while (isspace((unsigned char)*p)) p++;
    if (*p++ == '}') {
      while (isspace((unsigned char)*p)) p++;
      if (*p == '\0') return ENTK_OK;
    }
  }
  return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT,
              "example-c accepts no options; options_json must be empty or {}, got: %.200s", options_json);
}

static void close_model(entk_model *model) {
  if (model == NULL) return;
  free(model->params);
  free(model);
}

static entk_status open_model(const char *path, const char *options_json, entk_model **out_model,
                              char *error, size_t capacity) {
  entk_status status = check_options(options_json, error, capacity);
  if (status != ENTK_OK) return status;
  char file[4096];
  snprintf(file, sizeof file, "%s/W1.npy", path);
  FILE *probe = fopen(file, "rb");
  if (probe == NULL) {
    return fail(error, capacity, ENTK_STATUS_NOT_FOUND, "%s: no such model folder (expected %s)", path, file);
  }
  fclose(probe);

  entk_model *model = calloc(1, sizeof *model);
  if (model == NULL) return fail(error, capacity, ENTK_STATUS_OUT_OF_MEMORY, "out of memory");
  float *weights[MAX_LAYERS] = {0};
  float *biases[MAX_LAYERS] = {0};
  for (int k = 0; k < MAX_LAYERS; k++) {
    snprintf(file, sizeof file, "%s/W%d.npy", path, k + 1);
    probe = fopen(file, "rb");
    if (probe == NULL) break;
    fclose(probe);
    int64_t wshape[2], bshape[2];
    status = read_npy(file, 2, wshape, &weights[k], error, capacity);
    if (status != ENTK_OK) goto failed;
    snprintf(file, sizeof file, "%s/b%d.npy", path, k + 1);
    status = read_npy(file, 1, bshape, &biases[k], error, capacity);
    if (status != ENTK_OK) goto failed;
    if (bshape[0] != wshape[0]) {
      status = fail(error, capacity, ENTK_STATUS_INVALID_MODEL, "layer%d: b%d has %lld entries, W%d has %lld rows",
                    k + 1, k + 1, (long long)bshape[0], k + 1, (long long)wshape[0]);
      goto failed;
    }
    if (k > 0 && wshape[1] != model->out_dim[k - 1]) {
      status = fail(error, capacity, ENTK_STATUS_INVALID_MODEL,
                    "layer%d: W%d has %lld columns, layer%d produces %lld features", k + 1, k + 1,
                    (long long)wshape[1], k, (long long)model->out_dim[k - 1]);
      goto failed;
    }
    model->in_dim[k] = wshape[1];
    model->out_dim[k] = wshape[0];
    model->weight_offset[k] = model->num_params;
    model->num_params += wshape[0] * wshape[1];
    model->bias_offset[k] = model->num_params;
    model->num_params += wshape[0];
    if (wshape[0] > model->max_width) model->max_width = wshape[0];
    if (wshape[1] > model->max_width) model->max_width = wshape[1];
    snprintf(model->group_names[k], sizeof model->group_names[k], "layer%d", k + 1);
    model->num_layers = k + 1;
  }
  /* The factored row layout needs C, the last layer's width, so it waits until every layer is read. */
  const int64_t classes = model->out_dim[model->num_layers - 1];
  for (int k = 0; k < model->num_layers; k++) {
    model->factor_offset[k] = model->factored_row_size;
    model->factored_row_size += model->in_dim[k] + 1 + classes * model->out_dim[k];
  }
  model->params = malloc((size_t)model->num_params * sizeof(float));
  if (model->params == NULL) {
    status = fail(error, capacity, ENTK_STATUS_OUT_OF_MEMORY, "out of memory");
    goto failed;
  }
  for (int k = 0; k < model->num_layers; k++) {
    memcpy(model->params + model->weight_offset[k], weights[k],
           (size_t)(model->in_dim[k] * model->out_dim[k]) * sizeof(float));
    memcpy(model->params + model->bias_offset[k], biases[k], (size_t)model->out_dim[k] * sizeof(float));
  }
  for (int k = 0; k < MAX_LAYERS; k++) {
    free(weights[k]);
    free(biases[k]);
  }
  *out_model = model;
  return ENTK_OK;
failed:
  for (int k = 0; k < MAX_LAYERS; k++) {
    free(weights[k]);
    free(biases[k]);
  }
  close_model(model);
  return status;
}

static entk_status describe(const entk_model *model, entk_model_info *info, char *error, size_t capacity) {
  if (info->struct_size < ENTK_STRUCT_SIZE(entk_model_info, num_param_groups)) {
    return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "entk_model_info.struct_size %zu too small",
                info->struct_size);
  }
  info->input_rank = 1;
  memset(info->input_shape, 0, sizeof info->input_shape);
  info->input_shape[0] = model->in_dim[0];
  info->num_outputs = model->out_dim[model->num_layers - 1];
  info->num_params = model->num_params;
  info->embedding_size = model->num_layers > 1 ? model->in_dim[model->num_layers - 1] : 0;
  info->num_param_groups = model->num_layers;
  return ENTK_OK;
}

static entk_status param_group(const entk_model *model, int64_t index, entk_param_group *group, char *error,
                               size_t capacity) {
  if (index < 0 || index >= model->num_layers) {
    return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "parameter group %lld out of range 0..<%d",
                (long long)index, model->num_layers);
  }
  if (group->struct_size < ENTK_STRUCT_SIZE(entk_param_group, count)) {
    return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "entk_param_group.struct_size too small");
  }
  group->name = model->group_names[index];
  group->offset = model->weight_offset[index];
  group->count = model->out_dim[index] * (model->in_dim[index] + 1);
  return ENTK_OK;
}

/* Forward pass for one sample; activations[k] receives a_k (activations[0] = x). */
static void forward_sample(const entk_model *model, const float *x, float *activations, float *logits) {
  const int64_t width = model->max_width;
  memcpy(activations, x, (size_t)model->in_dim[0] * sizeof(float));
  for (int k = 0; k < model->num_layers; k++) {
    const float *w = model->params + model->weight_offset[k];
    const float *b = model->params + model->bias_offset[k];
    const float *in = activations + k * width;
    float *out = k + 1 < model->num_layers ? activations + (k + 1) * width : logits;
    for (int64_t o = 0; o < model->out_dim[k]; o++) {
      double sum = b[o];
      for (int64_t i = 0; i < model->in_dim[k]; i++) sum += (double)w[o * model->in_dim[k] + i] * in[i];
      out[o] = k + 1 < model->num_layers ? (float)tanh(sum) : (float)sum;
    }
  }
}

static entk_status check_batch(int64_t n, char *error, size_t capacity) {
  if (n < 1) return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "batch size n must be >= 1, got %lld", (long long)n);
  return ENTK_OK;
}

static entk_status forward(entk_model *model, const float *inputs, int64_t n, float *logits, float *embedding,
                           char *error, size_t capacity) {
  entk_status status = check_batch(n, error, capacity);
  if (status != ENTK_OK) return status;
  const int64_t width = model->max_width;
  const int64_t d = model->in_dim[0];
  const int64_t c = model->out_dim[model->num_layers - 1];
  float *activations = malloc((size_t)(model->num_layers * width) * sizeof(float));
  if (activations == NULL) return fail(error, capacity, ENTK_STATUS_OUT_OF_MEMORY, "out of memory");
  for (int64_t s = 0; s < n; s++) {
    forward_sample(model, inputs + s * d, activations, logits + s * c);
    if (embedding != NULL && model->num_layers > 1) {
      const int64_t e = model->in_dim[model->num_layers - 1];
      memcpy(embedding + s * e, activations + (model->num_layers - 1) * width, (size_t)e * sizeof(float));
    }
  }
  free(activations);
  return ENTK_OK;
}

static entk_status vjp(entk_model *model, const float *inputs, int64_t n, const float *cotangents, float *gradients,
                       char *error, size_t capacity) {
  entk_status status = check_batch(n, error, capacity);
  if (status != ENTK_OK) return status;
  const int64_t width = model->max_width;
  const int64_t d = model->in_dim[0];
  const int64_t c = model->out_dim[model->num_layers - 1];
  const int64_t p = model->num_params;
  float *activations = malloc((size_t)(model->num_layers * width) * sizeof(float));
  float *logits = malloc((size_t)c * sizeof(float));
  float *delta = malloc((size_t)width * sizeof(float));
  float *previous = malloc((size_t)width * sizeof(float));
  if (activations == NULL || logits == NULL || delta == NULL || previous == NULL) {
    free(activations);
    free(logits);
    free(delta);
    free(previous);
    return fail(error, capacity, ENTK_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  for (int64_t s = 0; s < n; s++) {
    forward_sample(model, inputs + s * d, activations, logits);
    float *grad = gradients + s * p;
    /* delta = ∂(u·f)/∂(pre-activation of layer k), starting at the output layer. */
    memcpy(delta, cotangents + s * c, (size_t)c * sizeof(float));
    for (int k = model->num_layers - 1; k >= 0; k--) {
      const float *in = activations + k * width;
      const float *w = model->params + model->weight_offset[k];
      float *gw = grad + model->weight_offset[k];
      float *gb = grad + model->bias_offset[k];
      for (int64_t o = 0; o < model->out_dim[k]; o++) {
        for (int64_t i = 0; i < model->in_dim[k]; i++) gw[o * model->in_dim[k] + i] = delta[o] * in[i];
        gb[o] = delta[o];
      }
      if (k == 0) break;
      for (int64_t i = 0; i < model->in_dim[k]; i++) {
        double sum = 0;
        for (int64_t o = 0; o < model->out_dim[k]; o++) sum += (double)w[o * model->in_dim[k] + i] * delta[o];
        previous[i] = (float)(sum * (1.0 - (double)in[i] * in[i]));
      }
      memcpy(delta, previous, (size_t)model->in_dim[k] * sizeof(float));
    }
  }
  free(activations);
  free(logits);
  free(delta);
  free(previous);
  return ENTK_OK;
}

static entk_status get_params(const entk_model *model, float *params, char *error, size_t capacity) {
  (void)error;
  (void)capacity;
  memcpy(params, model->params, (size_t)model->num_params * sizeof(float));
  return ENTK_OK;
}

static entk_status set_params(entk_model *model, const float *params, char *error, size_t capacity) {
  for (int64_t i = 0; i < model->num_params; i++) {
    if (!isfinite(params[i])) {
      return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "parameter %lld is not finite", (long long)i);
    }
  }
  memcpy(model->params, params, (size_t)model->num_params * sizeof(float));
  return ENTK_OK;
}

/* ABI 1.1. Every layer factors (see the top of the file): I = in + 1, O = out. */
static entk_status group_factor(const entk_model *model, int64_t index, entk_group_factor *factor, char *error,
                                size_t capacity) {
  if (index < 0 || index >= model->num_layers) {
    return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "parameter group %lld out of range 0..<%d",
                (long long)index, model->num_layers);
  }
  if (factor->struct_size < ENTK_STRUCT_SIZE(entk_group_factor, output_dim)) {
    return fail(error, capacity, ENTK_STATUS_INVALID_ARGUMENT, "entk_group_factor.struct_size %zu too small",
                factor->struct_size);
  }
  factor->factored = 1;
  factor->input_dim = model->in_dim[index] + 1;
  factor->output_dim = model->out_dim[index];
  return ENTK_OK;
}

/*
 * ABI 1.1. Row i is, for each layer k in order, [a_{k-1}(x_i); 1] then Δ_k (C × out_k, [c][o] =
 * ∂f_c/∂z_k[o]). Δ for the last layer is the identity (f = z_L); earlier ones follow the backward
 * recursion for all C classes at once,
 *     Δ_k[c][i] = (Σ_o Δ_{k+1}[c][o] W_{k+1}[o, i]) · (1 − a_k[i]²)      (tanh' = 1 − tanh²),
 * reading Δ_{k+1} from the row just written. That costs C·out·in per layer (layer 1 excluded),
 * like C backward passes, but never forms a weight gradient: the row holds I + C·O floats per
 * layer instead of the C·I·O a Jacobian row would.
 */
static entk_status factored_jacobian(entk_model *model, const float *inputs, int64_t n, float *out, char *error,
                                     size_t capacity) {
  entk_status status = check_batch(n, error, capacity);
  if (status != ENTK_OK) return status;
  const int last = model->num_layers - 1;
  const int64_t width = model->max_width;
  const int64_t d = model->in_dim[0];
  const int64_t c = model->out_dim[last];
  float *activations = malloc((size_t)(model->num_layers * width) * sizeof(float));
  float *logits = malloc((size_t)c * sizeof(float));
  double *sum = malloc((size_t)width * sizeof(double));
  if (activations == NULL || logits == NULL || sum == NULL) {
    free(activations);
    free(logits);
    free(sum);
    return fail(error, capacity, ENTK_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  for (int64_t s = 0; s < n; s++) {
    forward_sample(model, inputs + s * d, activations, logits);
    float *row = out + s * model->factored_row_size;
    for (int k = last; k >= 0; k--) {
      const int64_t in_k = model->in_dim[k];
      const int64_t out_k = model->out_dim[k];
      float *a = row + model->factor_offset[k];
      float *delta = a + in_k + 1;
      memcpy(a, activations + k * width, (size_t)in_k * sizeof(float));
      a[in_k] = 1;
      if (k == last) {
        memset(delta, 0, (size_t)(c * out_k) * sizeof(float));
        for (int64_t o = 0; o < out_k; o++) delta[o * out_k + o] = 1;
        continue;
      }
      /* k counts from 0 here: layer k + 1 reads this layer's tanh output (activations row k + 1,
       * out_k wide) through its weight [out_{k+1}, out_k], whose Δ is already in the row. */
      const int64_t next_out = model->out_dim[k + 1];
      const float *w = model->params + model->weight_offset[k + 1];
      const float *next_delta = row + model->factor_offset[k + 1] + out_k + 1;
      const float *tanh_out = activations + (k + 1) * width;
      for (int64_t cls = 0; cls < c; cls++) {
        for (int64_t i = 0; i < out_k; i++) sum[i] = 0;
        for (int64_t o = 0; o < next_out; o++) {
          const double g = next_delta[cls * next_out + o];
          for (int64_t i = 0; i < out_k; i++) sum[i] += g * w[o * out_k + i];
        }
        for (int64_t i = 0; i < out_k; i++) {
          delta[cls * out_k + i] = (float)(sum[i] * (1.0 - (double)tanh_out[i] * tanh_out[i]));
        }
      }
    }
  }
  free(activations);
  free(logits);
  free(sum);
  return ENTK_OK;
}

static const entk_backend_api api = {
    .struct_size = ENTK_STRUCT_SIZE(entk_backend_api, factored_jacobian),
    .abi_version_major = ENTK_ABI_VERSION_MAJOR,
    /* The slots filled below are those of ABI 1.1; a literal, so a copy built against a later
     * header does not claim slots it leaves out. */
    .abi_version_minor = 1,
    .name = "example-c",
    .version = "1.1.0",
    .description = "tanh MLP from a folder of .npy weights (plain C template backend)",
    .open = open_model,
    .close = close_model,
    .describe = describe,
    .param_group = param_group,
    .forward = forward,
    .vjp = vjp,
    .jacobian = NULL,
    .get_params = get_params,
    .set_params = set_params,
    .train = NULL,
    .save = NULL,
    .group_factor = group_factor,
    .factored_jacobian = factored_jacobian,
};

const entk_backend_api *entk_backend_v1(void) { return &api; }
