/*
 * entk_backend.h — the entk backend C ABI, major version 1.
 *
 * This header is the only thing the entk host and a model backend share. A backend is a
 * shared library (`libentk-backend-NAME.so`) written in any language that can export a C
 * symbol. It exports one entry point per ABI major it implements:
 *
 *     const entk_backend_api *entk_backend_v1(void);
 *
 * which returns a pointer to a constant table of function pointers (`entk_backend_api`).
 *
 * Versioning (after PJRT and ONNX Runtime's OrtApi):
 *   - ENTK_ABI_VERSION_MAJOR changes only for incompatible changes; a new major gets a new
 *     entry symbol (`entk_backend_v2`), so a host never misreads an incompatible table.
 *   - ENTK_ABI_VERSION_MINOR changes when fields are appended. Tables and argument structs
 *     only ever grow at the end; every one starts with `struct_size`, the number of bytes
 *     the writer knows about (use ENTK_STRUCT_SIZE(type, last_field)). So a newer host can
 *     load an older backend and a newer backend can serve an older host.
 *
 * The struct_size rule:
 *   - The function table: the backend sets `struct_size` to the slots it fills; the host
 *     reads no slot that ends beyond it (such slots count as NULL).
 *   - Structs the caller allocates and the callee fills (entk_model_info, entk_param_group,
 *     entk_group_factor, entk_input_info): the caller zero-initialises the whole struct and sets `struct_size`
 *     to ENTK_STRUCT_SIZE(type, <last field it knows>). The callee writes only the fields that
 *     end within that `struct_size` and never a byte beyond it, however large its own
 *     definition of the struct is; fields the callee does not know keep the caller's zeros
 *     (so a newer field reads as 0 or NULL from an older callee). A callee serves every
 *     `struct_size` from the struct's first version up: entk_model_info and entk_param_group
 *     as in ABI 1.0, entk_group_factor as in ABI 1.1 (without `reason`), entk_input_info as in
 *     ABI 1.3. A smaller one is a
 *     caller error: ENTK_STATUS_INVALID_ARGUMENT, nothing written. `entk check-backend`
 *     passes each struct at its first version's size with guard bytes after it.
 *
 * Conventions for every call:
 *   - Every call except `close` returns an `entk_status`. ENTK_OK (0) means success.
 *   - On failure the backend writes a human-readable, NUL-terminated UTF-8 message into
 *     the caller-owned buffer `error` of `error_capacity` bytes (truncating if needed; it
 *     writes nothing if `error` is NULL or `error_capacity` is 0). The message names the
 *     problem: file, node or layer, expected vs got shape.
 *   - On failure, the contents of every output buffer are undefined, the model stays
 *     usable, and nothing is leaked.
 *   - The caller allocates every output buffer; their sizes follow from `describe` and
 *     `n`. No memory allocated on one side is freed on the other.
 *   - Tensors are dense, row-major (C order), the batch index first. Outputs are float32.
 *     Through the ABI 1.0 slots a model takes one float32 input, a batch of n × prod(input_shape)
 *     floats; through the ABI 1.3 `*_inputs` slots it takes one typed buffer per input (see
 *     entk_input_info).
 *   - A backend must never abort, trap or exit the process: bad input returns a status.
 *
 * Thread-safety: `entk_backend_v1` and `open` may be called from any thread at any time.
 * Calls on one model must not overlap (the caller serialises them); calls on distinct
 * models are independent and may run concurrently. A backend may use threads internally.
 */
#ifndef ENTK_BACKEND_H
#define ENTK_BACKEND_H

#include <stddef.h>
#include <stdint.h>

/* Nullability annotations for clang (and so for Swift); gcc sees nothing. */
#if defined(__clang__)
#define ENTK_NONNULL _Nonnull
#define ENTK_NULLABLE _Nullable
#define ENTK_ASSUME_NONNULL_BEGIN _Pragma("clang assume_nonnull begin")
#define ENTK_ASSUME_NONNULL_END _Pragma("clang assume_nonnull end")
#else
#define ENTK_NONNULL
#define ENTK_NULLABLE
#define ENTK_ASSUME_NONNULL_BEGIN
#define ENTK_ASSUME_NONNULL_END
#endif

#if defined(_WIN32)
#define ENTK_EXPORT __declspec(dllexport)
#else
#define ENTK_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

ENTK_ASSUME_NONNULL_BEGIN

#define ENTK_ABI_VERSION_MAJOR 1
#define ENTK_ABI_VERSION_MINOR 3

/** Largest per-sample input rank a backend may describe. */
#define ENTK_MAX_INPUT_RANK 8

/** Bytes of a struct up to and including `last_field`: the value for `struct_size`. */
#define ENTK_STRUCT_SIZE(type, last_field) \
  (offsetof(type, last_field) + sizeof(((type *)0)->last_field))

/** Result of every call. One small, fixed set; the message carries the detail. */
typedef enum entk_status {
  ENTK_OK = 0,
  /** An argument is wrong: bad shape, n <= 0, index out of range, malformed options. */
  ENTK_STATUS_INVALID_ARGUMENT = 1,
  /** A file (model, weights, external data) does not exist or cannot be read. */
  ENTK_STATUS_NOT_FOUND = 2,
  /** The model file is corrupt, truncated or inconsistent (e.g. weight shape mismatch). */
  ENTK_STATUS_INVALID_MODEL = 3,
  /** The model uses something this backend does not implement (e.g. an operator). */
  ENTK_STATUS_UNIMPLEMENTED = 4,
  /** An allocation failed. */
  ENTK_STATUS_OUT_OF_MEMORY = 5,
  /** The caller asked to stop (e.g. a progress callback returned non-zero). */
  ENTK_STATUS_CANCELLED = 6,
  /** A bug or an unexpected condition inside the backend. */
  ENTK_STATUS_INTERNAL = 7
} entk_status;

/** Opaque handle to an open model. Owned by the backend; released with `close`. */
typedef struct entk_model entk_model;

/** What a model takes and produces; filled by `describe`. */
typedef struct entk_model_info {
  /** in: ENTK_STRUCT_SIZE(entk_model_info, <last field the caller knows>); see the struct_size
   *  rule at the top. */
  size_t struct_size;
  /** out: rank of one sample's input, 1...ENTK_MAX_INPUT_RANK. */
  int32_t input_rank;
  /** out: one sample's input shape (no batch dimension); entries past input_rank are 0. */
  int64_t input_shape[ENTK_MAX_INPUT_RANK];
  /** out: C, the number of outputs (logits) per sample, >= 1. */
  int64_t num_outputs;
  /** out: P, the number of differentiable parameters, >= 1. */
  int64_t num_params;
  /** out: E, the size of the embedding (penultimate features); 0 if none. */
  int64_t embedding_size;
  /** out: number of parameter groups (layers), >= 1. */
  int64_t num_param_groups;
  /** out (ABI 1.3): the number of model inputs, >= 1, each described by `input_info`. 0 (what a
   *  backend of minor < 3 leaves) means one float32 input of shape `input_shape`. When a backend
   *  reports inputs, `input_rank` and `input_shape` describe input 0. */
  int64_t num_inputs;
} entk_model_info;

/** Element type of a model input (ABI 1.3). The values are ONNX's TensorProto.DataType codes. */
typedef enum entk_element_type {
  /** float, 4 bytes, IEEE 754 binary32. */
  ENTK_ELEMENT_FLOAT32 = 1,
  /** int32_t. */
  ENTK_ELEMENT_INT32 = 6,
  /** int64_t (token ids, attention masks as exported by PyTorch). */
  ENTK_ELEMENT_INT64 = 7,
  /** one byte, 0 or 1. */
  ENTK_ELEMENT_BOOL = 9
} entk_element_type;

/** One model input (ABI 1.3); filled by `input_info`. */
typedef struct entk_input_info {
  /** in: ENTK_STRUCT_SIZE(entk_input_info, <last field the caller knows>), at least
   *  ENTK_STRUCT_SIZE(entk_input_info, shape); see the struct_size rule at the top. */
  size_t struct_size;
  /** out: NUL-terminated UTF-8 name, unique among the model's inputs (e.g. "input_ids"); data
   *  files name their arrays after it. Owned by the model; valid until `close`. */
  const char *ENTK_NULLABLE name;
  /** out: an entk_element_type value. */
  int32_t element_type;
  /** out: rank of one sample of this input, 1...ENTK_MAX_INPUT_RANK. */
  int32_t rank;
  /** out: one sample's shape (no batch dimension), every entry >= 1; entries past rank are 0. */
  int64_t shape[ENTK_MAX_INPUT_RANK];
} entk_input_info;

/** One parameter group: a contiguous range of the flat parameter vector (a layer). */
typedef struct entk_param_group {
  /** in: ENTK_STRUCT_SIZE(entk_param_group, <last field the caller knows>); see the struct_size
   *  rule at the top. */
  size_t struct_size;
  /** out: NUL-terminated UTF-8 name (e.g. "body.0.weight"). Owned by the model; valid until
   *  `close`. */
  const char *ENTK_NULLABLE name;
  /** out: index of the group's first parameter in the flat vector. */
  int64_t offset;
  /** out: number of parameters in the group, >= 1. */
  int64_t count;
} entk_param_group;

/**
 * How one parameter group's per-sample gradients factor (ABI 1.1); filled by `group_factor`.
 *
 * A factored group is one whose gradient, for every sample x and logit c, is an outer product:
 * there is a fixed bijection π from {0..<O} × {0..<I} onto the group's parameter indices (the
 * same for every sample and logit) with
 *
 *     ∂f_c(x)/∂θ[offset + π(o, j)] = Δ_c(x)[o] · a(x)[j],
 *
 * so g_c(x)·g_c'(x') = (a(x)·a(x')) (Δ_c(x)·Δ_c'(x')) and a kernel needs only a and Δ: I + C·O
 * floats per sample instead of C·I·O. Example: a dense layer y = W a + b has W factored with
 * a = the layer's input, Δ_c = ∂f_c/∂y, π(o, j) = o·I + j for row-major W [O, I]; its bias b is
 * factored with I = 1 and a = [1]. A weight applied at several positions (a convolution, an
 * embedding table read at several tokens) is a sum of such products, which ABI 1.3 describes with
 * `terms` and `one_hot`; a weight used by several nodes is reported unfactored.
 *
 * ABI 1.2 appends `reason`, which tells people why a group is unfactored. The caller sets it to
 * NULL before the call (zero-initialising the struct does), so it stays NULL with a backend of
 * minor < 2, which does not know the field.
 */
typedef struct entk_group_factor {
  /** in: ENTK_STRUCT_SIZE(entk_group_factor, <last field the caller knows>), at least
   *  ENTK_STRUCT_SIZE(entk_group_factor, output_dim); see the struct_size rule at the top. */
  size_t struct_size;
  /** out: 1 if `factored_jacobian` returns this group as factors a and Δ, 0 if as plain
   *  gradients. */
  int32_t factored;
  /** out: I, the length of a(x), when factored; 0 otherwise. */
  int64_t input_dim;
  /** out: O, the length of each Δ_c(x), when factored; 0 otherwise. I × O equals the group's
   *  count. */
  int64_t output_dim;
  /** out (ABI 1.2): when factored is 0, why, as a short NUL-terminated UTF-8 phrase about the
   *  group for people (e.g. "shared by 2 nodes (Gemm 'fc1', Gemm 'fc2')", "Conv 'conv1' applies
   *  it at 64 positions"); NULL when factored or when the backend gives no reason. Free text, not
   *  for parsing. Owned by the model; valid until `close`. Written only when struct_size covers
   *  it. */
  const char *ENTK_NULLABLE reason;
  /** out (ABI 1.3): R >= 1, the number of outer-product terms of a factored group, whose gradient
   *  is then a sum (a weight applied at several positions, an embedding table read at several
   *  tokens):
   *
   *      ∂f_c(x)/∂θ[offset + π(o, j)] = Σ_{r<R} Δ_{c,r}(x)[o] · a_r(x)[j],
   *
   *  so g_c(x)·g_c'(x') = Σ_{r,r'} (a_r(x)·a_r'(x')) (Δ_{c,r}(x)·Δ_{c',r'}(x')). 0, what a
   *  caller's zeros keep with a backend of minor < 3, means 1. Written only when struct_size
   *  covers it. */
  int64_t terms;
  /** out (ABI 1.3): 1 when every a_r is a one-hot vector e_k of length I, which `factored_jacobian`
   *  then stores as the single float k (an integer 0 <= k < I <= 2^24), or -1 for a term that
   *  is absent (a padding position); a_r·a_r' is then 1 when the indices are equal and >= 0, else
   *  0. An embedding table W [V, D] read by token ids is factored with I = V, O = D, one-hot a_r =
   *  e_{id_r}, Δ_{c,r} = ∂f_c/∂(row r read), π(o, j) = j·D + o: L + C·L·D floats per sample instead
   *  of C·V·D. 0 otherwise. Written only when struct_size covers it.
   *
   *  Sums (terms > 1 or one_hot) exist only in the rows of `factored_jacobian_inputs`: a backend
   *  reports them only if it has that slot, and only to a caller whose struct_size covers
   *  `terms`; to an older caller it reports such a group unfactored, and `factored_jacobian` (the
   *  ABI 1.1 slot, which older hosts call) returns it plain. */
  int32_t one_hot;
} entk_group_factor;

/**
 * Progress callback for `train`. `event_json` is one JSON object, e.g.
 * {"epoch":3,"epochs":20,"loss":0.12,"accuracy":0.97}, valid only during the call.
 * Return 0 to continue, non-zero to stop training (train then returns ENTK_STATUS_CANCELLED,
 * leaving the parameters of the last completed epoch). The callback may call `forward`,
 * `vjp` and `get_params` on the model being trained.
 */
typedef int32_t (*entk_progress_fn)(void *ENTK_NULLABLE context, const char *event_json);

/**
 * The function table. Returned by `entk_backend_v1`; constant and valid for the life of
 * the process (hosts never unload a backend). Slots marked optional may be NULL.
 */
typedef struct entk_backend_api {
  /** Bytes of this table the backend fills: ENTK_STRUCT_SIZE(entk_backend_api, <last slot>).
   */
  size_t struct_size;
  /** ABI major this table implements; equals the N of the entry symbol entk_backend_vN. */
  uint32_t abi_version_major;
  /** ABI minor the backend was built against. */
  uint32_t abi_version_minor;
  /** Short name, as in the library name libentk-backend-NAME.so (e.g. "onnx"). Static. */
  const char *name;
  /** Backend version, free form (e.g. "0.3.1"). Static. */
  const char *version;
  /** One-line description for `entk backends`. Static. */
  const char *description;

  /**
   * Opens the model at `path` (a file or a folder, as the backend documents).
   * options_json: NULL or a JSON object of backend-specific options (NULL, "" and "{}" mean
   *   defaults); unknown or malformed options give ENTK_STATUS_INVALID_ARGUMENT.
   * out_model: receives the handle on success; untouched on failure.
   * Errors: NOT_FOUND (no such file), INVALID_MODEL (corrupt or inconsistent file),
   *   UNIMPLEMENTED (unsupported operator or layer; found here, not at the first forward).
   * Ownership: the model belongs to the caller until it passes it to `close`; `path` and
   *   `options_json` are only read during the call.
   * Thread-safety: may be called concurrently from any threads (each call makes a new model).
   */
  entk_status (*open)(const char *path, const char *ENTK_NULLABLE options_json,
                      entk_model *ENTK_NULLABLE *ENTK_NONNULL out_model,
                      char *ENTK_NULLABLE error, size_t error_capacity);

  /** Releases the model and everything it owns (including param_group names). NULL is ignored.
   *  Never fails. Thread-safety: no other call on this model may be running or follow. */
  void (*close)(entk_model *ENTK_NULLABLE model);

  /**
   * Fills `info` under the struct_size rule (see the top). Cheap; the answer never changes for
   * an open model.
   * Errors: INVALID_ARGUMENT if struct_size is below the struct's first version.
   * Thread-safety: read-only; may run concurrently with other describe/param_group calls.
   */
  entk_status (*describe)(const entk_model *model, entk_model_info *info,
                          char *ENTK_NULLABLE error, size_t error_capacity);

  /**
   * Fills `group` (under the struct_size rule) for parameter group `index` in
   * 0..<num_param_groups. Groups are in order of offset, do not overlap and together cover
   * 0..<P exactly.
   * Errors: INVALID_ARGUMENT if index is out of range or struct_size is below the struct's
   *   first version.
   * Thread-safety: read-only; may run concurrently with other describe/param_group calls.
   */
  entk_status (*param_group)(const entk_model *model, int64_t index, entk_param_group *group,
                             char *ENTK_NULLABLE error, size_t error_capacity);

  /**
   * Evaluates the network on a batch.
   * inputs: n × prod(input_shape) floats. n >= 1, else INVALID_ARGUMENT.
   * logits: out, n × C floats.
   * embedding: out, n × E floats (the penultimate features), or NULL to skip it. Must be NULL
   *   when E == 0.
   * Units: logits are the network's raw outputs (before any softmax).
   * Deterministic: the same inputs give bit-identical outputs, and each sample's outputs do
   *   not depend on the other samples in the batch (up to float32 rounding).
   * Thread-safety: not concurrently with any other call on the same model.
   */
  entk_status (*forward)(entk_model *model, const float *inputs, int64_t n, float *logits,
                         float *ENTK_NULLABLE embedding, char *ENTK_NULLABLE error,
                         size_t error_capacity);

  /**
   * Per-sample vector-Jacobian products with respect to the parameters.
   * inputs: n × prod(input_shape) floats; n >= 1.
   * cotangents: n × C floats, u.
   * gradients: out, n × P floats: row i = Σ_c u[i,c] ∂f_c(x_i)/∂θ, in the flat parameter
   *   order that `param_group` describes. Each row is that sample's own gradient (never summed
   *   over the batch). Units: logit units per unit of parameter.
   * Thread-safety: not concurrently with any other call on the same model.
   */
  entk_status (*vjp)(entk_model *model, const float *inputs, int64_t n, const float *cotangents,
                     float *gradients, char *ENTK_NULLABLE error, size_t error_capacity);

  /**
   * Optional (NULL if absent; the host then makes C `vjp` calls with one-hot cotangents).
   * Full per-sample Jacobians: jacobians is out, n × C × P floats, [i][c][p] = ∂f_c(x_i)/∂θ_p;
   * equal (up to float32 rounding) to C `vjp` calls with one-hot cotangents.
   * Thread-safety: not concurrently with any other call on the same model.
   */
  entk_status (*ENTK_NULLABLE jacobian)(entk_model *model, const float *inputs, int64_t n,
                                        float *jacobians, char *ENTK_NULLABLE error,
                                        size_t error_capacity);

  /** Optional. Copies the P parameters into `params` (out, P floats, flat order).
   *  Thread-safety: not concurrently with set_params or train on the same model. */
  entk_status (*ENTK_NULLABLE get_params)(const entk_model *model, float *params,
                                          char *ENTK_NULLABLE error, size_t error_capacity);

  /** Optional. Replaces the P parameters with `params` (P floats, flat order, copied; the
   *  caller keeps ownership). Non-finite values give INVALID_ARGUMENT and change nothing.
   *  Thread-safety: not concurrently with any other call on the same model. */
  entk_status (*ENTK_NULLABLE set_params)(entk_model *model, const float *params,
                                          char *ENTK_NULLABLE error, size_t error_capacity);

  /**
   * Optional. Trains the model in place with softmax cross-entropy.
   * inputs: n × prod(input_shape) floats; labels: n class indices in 0..<C.
   * options_json: backend-specific training options (e.g. {"epochs":20,"batch_size":64,
   *   "learning_rate":0.001,"optimizer":"adam","seed":0}); the backend documents them.
   * progress: NULL or called after every epoch with `progress_context` (see entk_progress_fn).
   * Deterministic for given inputs, labels and options. Labels outside 0..<C give
   *   INVALID_ARGUMENT before any parameter changes.
   * Thread-safety: not concurrently with any other call on the same model (except the calls
   *   the progress callback makes, which run on the training thread).
   */
  entk_status (*ENTK_NULLABLE train)(entk_model *model, const float *inputs,
                                     const int64_t *labels, int64_t n,
                                     const char *ENTK_NULLABLE options_json,
                                     entk_progress_fn ENTK_NULLABLE progress,
                                     void *ENTK_NULLABLE progress_context,
                                     char *ENTK_NULLABLE error, size_t error_capacity);

  /**
   * Optional. Writes the model (architecture and parameters) to `path` so that `open(path)`
   * reopens it with bit-identical parameters. The backend writes atomically (a temporary name,
   * then rename) so a failure never leaves a half-written model at `path`.
   * Thread-safety: not concurrently with set_params or train on the same model.
   */
  entk_status (*ENTK_NULLABLE save)(const entk_model *model, const char *path,
                                    char *ENTK_NULLABLE error, size_t error_capacity);

  /* ABI 1.1: structured per-layer kernel factors. Both slots are set or both are NULL. */

  /**
   * Optional (NULL if absent). Fills `factor` (under the struct_size rule) for
   * parameter group `index` in 0..<num_param_groups: whether `factored_jacobian` returns the
   * group as outer-product factors (see entk_group_factor) and, if not, why (ABI 1.2). Cheap;
   * the answer never changes for an open model.
   * Errors: INVALID_ARGUMENT if index is out of range or struct_size is below the struct's
   *   first version.
   * Thread-safety: read-only; may run concurrently with describe/param_group/group_factor.
   */
  entk_status (*ENTK_NULLABLE group_factor)(const entk_model *model, int64_t index,
                                            entk_group_factor *factor, char *ENTK_NULLABLE error,
                                            size_t error_capacity);

  /**
   * Optional (NULL if absent; the host then uses `jacobian`). Per-sample Jacobians with the
   * factored groups given as factors.
   * inputs: n × prod(input_shape) floats; n >= 1, else INVALID_ARGUMENT.
   * out: n rows of S floats, S = C·P_plain + Σ over factored groups g of (A_g + C·R_g·O_g),
   *   where P_plain is the total count of the unfactored groups, R_g the group's `terms` (1
   *   before ABI 1.3) and A_g = R_g for a one-hot group, else R_g·I_g. Row i holds, in order:
   *     1. the unfactored groups' Jacobian, C × P_plain, [c][q] = ∂f_c(x_i)/∂θ_p, q running over
   *        the unfactored groups' parameters p in flat order (the `jacobian` row with the
   *        factored groups' columns removed);
   *     2. for each factored group in index order: the a's (R_g × I_g floats, [r][j], or R_g
   *        indices for a one-hot group), then Δ (C × R_g × O_g floats, [c][r][o] =
   *        Δ_{c,r}(x_i)[o]).
   *   Reconstructing the factored columns from the a's and Δ's gives `jacobian`'s values up to
   *   float32 rounding. Each row is that sample's own (never mixed with the batch).
   * Thread-safety: not concurrently with any other call on the same model.
   */
  entk_status (*ENTK_NULLABLE factored_jacobian)(entk_model *model, const float *inputs,
                                                 int64_t n, float *out,
                                                 char *ENTK_NULLABLE error, size_t error_capacity);

  /*
   * ABI 1.3: models with several, typed inputs (a text model's input_ids and attention_mask).
   *
   * `input_info`, `forward_inputs` and `vjp_inputs` are set together or all NULL. A backend that
   * sets them also sets `jacobian_inputs` if it sets `jacobian`, `factored_jacobian_inputs` if it
   * sets `factored_jacobian`, and `train_inputs` if it sets `train`. A host that finds them uses
   * the `*_inputs` slots for every model of the backend; the ABI 1.0 slots stay for older hosts.
   * A model whose inputs are anything but one float32 input answers the ABI 1.0 slots that take
   * inputs (forward, vjp, jacobian, train, factored_jacobian) with INVALID_ARGUMENT and a message
   * naming its inputs.
   *
   * In every `*_inputs` slot, `inputs` holds num_inputs pointers, one per input in `input_info`
   * order; inputs[k] is n × prod(shape_k) elements of input k's element type, dense, row-major,
   * batch first (int64 token ids as PyTorch exports them, say). The caller owns the buffers; the
   * backend only reads them during the call. A NULL `inputs` (left unannotated, so Swift and other
   * languages see it as optional and check it) gives INVALID_ARGUMENT. An integer value the model
   * cannot use (a token id past the embedding table) gives INVALID_ARGUMENT naming the input, the
   * sample and the value.
   * Every other rule of the ABI 1.0 twin holds: shapes of the outputs, units, determinism,
   * per-sample independence, thread-safety, error behaviour.
   */

  /**
   * Optional (see above). Fills `info` (under the struct_size rule) for input `index` in
   * 0..<num_inputs. Cheap; the answer never changes for an open model.
   * Errors: INVALID_ARGUMENT if index is out of range or struct_size is below the struct's
   *   first version.
   * Thread-safety: read-only; may run concurrently with describe/param_group/group_factor.
   */
  entk_status (*ENTK_NULLABLE input_info)(const entk_model *model, int64_t index,
                                          entk_input_info *info, char *ENTK_NULLABLE error,
                                          size_t error_capacity);

  /** `forward` with one buffer per input: logits n × C, embedding n × E or NULL. */
  entk_status (*ENTK_NULLABLE forward_inputs)(entk_model *model,
                                              const void *const ENTK_NONNULL *inputs, int64_t n,
                                              float *logits, float *ENTK_NULLABLE embedding,
                                              char *ENTK_NULLABLE error, size_t error_capacity);

  /** `vjp` with one buffer per input: cotangents n × C, gradients out n × P. */
  entk_status (*ENTK_NULLABLE vjp_inputs)(entk_model *model,
                                          const void *const ENTK_NONNULL *inputs, int64_t n,
                                          const float *cotangents, float *gradients,
                                          char *ENTK_NULLABLE error, size_t error_capacity);

  /** `jacobian` with one buffer per input: jacobians out, n × C × P. */
  entk_status (*ENTK_NULLABLE jacobian_inputs)(entk_model *model,
                                               const void *const ENTK_NONNULL *inputs,
                                               int64_t n, float *jacobians,
                                               char *ENTK_NULLABLE error, size_t error_capacity);

  /** `factored_jacobian` with one buffer per input: out, n rows of S floats. */
  entk_status (*ENTK_NULLABLE factored_jacobian_inputs)(entk_model *model,
                                                        const void *const ENTK_NONNULL *inputs,
                                                        int64_t n, float *out,
                                                        char *ENTK_NULLABLE error,
                                                        size_t error_capacity);

  /** `train` with one buffer per input; labels n class indices in 0..<C. */
  entk_status (*ENTK_NULLABLE train_inputs)(entk_model *model,
                                            const void *const ENTK_NONNULL *inputs,
                                            const int64_t *labels, int64_t n,
                                            const char *ENTK_NULLABLE options_json,
                                            entk_progress_fn ENTK_NULLABLE progress,
                                            void *ENTK_NULLABLE progress_context,
                                            char *ENTK_NULLABLE error, size_t error_capacity);

  /**
   * Optional (NULL if absent; set only with `factored_jacobian_inputs`). `vjp_inputs` in the layout
   * of `factored_jacobian_inputs` with the classes contracted: for cotangents u (n × C floats),
   * row i holds the unfactored groups' Σ_c u[i,c] ∂f_c(x_i)/∂θ (P_plain floats, flat order), then
   * for each factored group in index order its a's (as `factored_jacobian_inputs` gives them) and
   * Σ_c u[i,c] Δ_{c,r}(x_i) (R_g × O_g floats). out: n rows of P_plain + Σ_g (A_g + R_g·O_g)
   * floats. One reverse pass, as `vjp`, where a factored Jacobian takes C: the host's pntk uses it
   * so that an embedding table's gradient is L rows, not V.
   */
  entk_status (*ENTK_NULLABLE factored_vjp_inputs)(entk_model *model,
                                                   const void *const ENTK_NONNULL *inputs,
                                                   int64_t n, const float *cotangents, float *out,
                                                   char *ENTK_NULLABLE error,
                                                   size_t error_capacity);

  /* Minor versions append slots here. */
} entk_backend_api;

/** The entry point of ABI major 1. Returns the backend's table, or NULL if it cannot
 *  initialise (the host then reports the backend as unusable). Idempotent and thread-safe. */
typedef const entk_backend_api *ENTK_NULLABLE (*entk_backend_v1_fn)(void);

/** Name of the ABI 1 entry symbol, for dlsym. */
#define ENTK_BACKEND_ENTRY_V1 "entk_backend_v1"

ENTK_ASSUME_NONNULL_END

#ifdef __cplusplus
}
#endif

#endif /* ENTK_BACKEND_H */
