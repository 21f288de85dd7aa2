import CLibbpf

/// The outcome of one BPF_PROG_TEST_RUN.
public struct TestRunResult: Sendable {
    /// The program's return value (TC_ACT_OK = 0, TC_ACT_SHOT = 2, TC_ACT_REDIRECT = 7).
    public var verdict: Int32
    /// The packet as the program left it.
    public var output: [UInt8]
    /// Average time per repetition, as measured by the kernel.
    public var nanosecondsPerRun: UInt32
    /// skb->mark as the program left it (0 going in).
    public var mark: UInt32 = 0
}

/// Runs a TC program on a crafted packet without a network
/// (`bpf_prog_test_run_opts`). The skb's device is the loopback interface
/// of the calling thread's network namespace; egress interfaces the program
/// looks up must exist in that namespace too.
public enum TestRun {
    public static func run(programFD: Int32, packet: [UInt8], ingressIfindex: UInt32, repeat count: Int = 1) throws(BPFError) -> TestRunResult {
        var output = [UInt8](repeating: 0, count: packet.count + 256)
        var context = __sk_buff()
        context.ingress_ifindex = ingressIfindex
        context.ifindex = 1
        var contextOut = __sk_buff()
        var opts = bpf_test_run_opts()
        opts.sz = libbpfOptionsSize(\bpf_test_run_opts.batch_size)
        opts.repeat = Int32(max(1, count))
        opts.data_size_in = UInt32(packet.count)
        opts.data_size_out = UInt32(output.count)
        opts.ctx_size_in = UInt32(MemoryLayout<__sk_buff>.size)
        opts.ctx_size_out = UInt32(MemoryLayout<__sk_buff>.size)
        let result = packet.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                withUnsafePointer(to: &context) { ctx in
                    withUnsafeMutablePointer(to: &contextOut) { ctxOut in
                        opts.data_in = input.baseAddress
                        opts.data_out = out.baseAddress
                        opts.ctx_in = UnsafeRawPointer(ctx)
                        opts.ctx_out = UnsafeMutableRawPointer(ctxOut)
                        return bpf_prog_test_run_opts(programFD, &opts)
                    }
                }
            }
        }
        try bpfCall("bpf_prog_test_run_opts", "program fd \(programFD)") { result }
        return TestRunResult(verdict: Int32(bitPattern: opts.retval),
                             output: Array(output.prefix(Int(opts.data_size_out))),
                             nanosecondsPerRun: opts.duration, mark: contextOut.mark)
    }
}
