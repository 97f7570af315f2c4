/* zlib, for the deflated arrays of .npz files (numpy.savez_compressed). */
#include <zlib.h>
