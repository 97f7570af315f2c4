/*
 * Pins the layout of ABI 1 (through minor 3) on LP64 platforms. Once released, a slot never moves: if one
 * of these fails, a change broke every backend built against an earlier minor.
 */
#include "entk_backend.h"

#if defined(__LP64__)
_Static_assert(offsetof(entk_backend_api, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(entk_backend_api, abi_version_major) == 8, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, abi_version_minor) == 12, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, name) == 16, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, version) == 24, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, description) == 32, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, open) == 40, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, close) == 48, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, describe) == 56, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, param_group) == 64, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, forward) == 72, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, vjp) == 80, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, jacobian) == 88, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, get_params) == 96, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, set_params) == 104, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, train) == 112, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, save) == 120, "ABI 1.0 layout");
_Static_assert(offsetof(entk_backend_api, group_factor) == 128, "ABI 1.1 layout");
_Static_assert(offsetof(entk_backend_api, factored_jacobian) == 136, "ABI 1.1 layout");
_Static_assert(offsetof(entk_backend_api, input_info) == 144, "ABI 1.3 layout");
_Static_assert(offsetof(entk_backend_api, forward_inputs) == 152, "ABI 1.3 layout");
_Static_assert(offsetof(entk_backend_api, vjp_inputs) == 160, "ABI 1.3 layout");
_Static_assert(offsetof(entk_backend_api, jacobian_inputs) == 168, "ABI 1.3 layout");
_Static_assert(offsetof(entk_backend_api, factored_jacobian_inputs) == 176, "ABI 1.3 layout");
_Static_assert(offsetof(entk_backend_api, train_inputs) == 184, "ABI 1.3 layout");
_Static_assert(offsetof(entk_backend_api, factored_vjp_inputs) == 192, "ABI 1.3 layout");
_Static_assert(sizeof(entk_backend_api) == 200, "ABI 1.3 table size");

_Static_assert(offsetof(entk_model_info, input_rank) == 8, "ABI 1.0 layout");
_Static_assert(offsetof(entk_model_info, input_shape) == 16, "ABI 1.0 layout");
_Static_assert(offsetof(entk_model_info, num_outputs) == 80, "ABI 1.0 layout");
_Static_assert(offsetof(entk_model_info, num_params) == 88, "ABI 1.0 layout");
_Static_assert(offsetof(entk_model_info, embedding_size) == 96, "ABI 1.0 layout");
_Static_assert(offsetof(entk_model_info, num_param_groups) == 104, "ABI 1.0 layout");
_Static_assert(offsetof(entk_model_info, num_inputs) == 112, "ABI 1.3 layout");

_Static_assert(offsetof(entk_input_info, name) == 8, "ABI 1.3 layout");
_Static_assert(offsetof(entk_input_info, element_type) == 16, "ABI 1.3 layout");
_Static_assert(offsetof(entk_input_info, rank) == 20, "ABI 1.3 layout");
_Static_assert(offsetof(entk_input_info, shape) == 24, "ABI 1.3 layout");

_Static_assert(offsetof(entk_param_group, name) == 8, "ABI 1.0 layout");
_Static_assert(offsetof(entk_param_group, offset) == 16, "ABI 1.0 layout");
_Static_assert(offsetof(entk_param_group, count) == 24, "ABI 1.0 layout");

_Static_assert(offsetof(entk_group_factor, factored) == 8, "ABI 1.1 layout");
_Static_assert(offsetof(entk_group_factor, input_dim) == 16, "ABI 1.1 layout");
_Static_assert(offsetof(entk_group_factor, output_dim) == 24, "ABI 1.1 layout");
_Static_assert(offsetof(entk_group_factor, reason) == 32, "ABI 1.2 layout");
_Static_assert(offsetof(entk_group_factor, terms) == 40, "ABI 1.3 layout");
_Static_assert(offsetof(entk_group_factor, one_hot) == 48, "ABI 1.3 layout");
#endif
