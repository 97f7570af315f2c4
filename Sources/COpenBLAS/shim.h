/* OpenBLAS's CBLAS interface and thread controls; include paths come from pkg-config. */
#include <cblas.h>
