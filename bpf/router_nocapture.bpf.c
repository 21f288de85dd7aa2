// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rl_router without header capture, for kernels that lack the BPF ring
 * buffer (5.8) or bpf_loop (5.17): the verifier of such a kernel refuses
 * the whole program when either is referenced, even on a path that no
 * listener takes. The agent loads this build when it probes either missing
 * (Dataplane.swift, HeaderCapture) and reports listeners that ask for
 * accessLog.headers as HeaderCaptureUnsupported. Everything else, maps
 * included, is rl_router's.
 */
#define RL_NO_CAPTURE
#include "router.bpf.c"
