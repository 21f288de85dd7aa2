import Dataplane
import Reconciler
import Testing

/// The compiler's limits are the maps' sizes: a listener it accepts must fit.
@Suite struct CompileLimitsTests {
    @Test func theSourceRangeLimitIsTheTriesSize() {
        #expect(GatewayCompiler.maxSourceRanges == GatewayMaps.sourceRangeCapacity)
    }
}
