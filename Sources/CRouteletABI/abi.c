// The ABI header's _Static_asserts are checked here for the host compiler
// too, not only for -target bpf.
#include "routelet_abi.h"
