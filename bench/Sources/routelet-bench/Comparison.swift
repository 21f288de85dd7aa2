/// One measurement of routelet or its kernel baseline, and the row that
/// compares the two modes' runs of one test: the shape the forward and
/// gateway benchmarks share in their results JSON.
struct ComparisonSample: Codable {
    var mode: String
    var test: String
    var value: Double
}

struct ComparisonRow: Codable {
    var test: String
    var unit: String
    var routeletMedian: Double
    var routeletMin: Double
    var routeletMax: Double
    var kernelMedian: Double
    var kernelMin: Double
    var kernelMax: Double
    var ratio: Double
}
