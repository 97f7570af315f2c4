/* The example-c backend exports only the ABI entry point declared in entk_backend.h. */
#include "entk_backend.h"

ENTK_EXPORT const entk_backend_api *entk_backend_v1(void);
