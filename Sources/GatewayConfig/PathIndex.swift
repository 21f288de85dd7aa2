/// The matches of one hostname (or of the routes without hostnames), indexed
/// by path: a table of exact paths, a trie of PathPrefix elements and the
/// list of regular expressions. Every bucket is sorted by precedence, so the
/// first match in it whose method, headers and query hold is its best.
final class PathIndex: Sendable {
    /// The hostname's `HostPattern.specificity`, shared by every match here.
    let specificity: Int
    /// Exact path -> index into `exactBuckets`.
    private let exactPaths: ByteTable
    private let exactBuckets: [[CompiledMatch]]
    /// (parent node, path element) -> child node. Node 0 is the root ("/",
    /// and every match without a path).
    private let edges: ByteTable
    private let parents: [Int]
    private let nodeMatches: [[CompiledMatch]]
    private let regularExpressions: [CompiledMatch]

    /// Collects a hostname's matches, then sorts them into a `PathIndex`.
    struct Builder {
        let specificity: Int
        private var exactPaths = ByteTable()
        private var exactBuckets: [[CompiledMatch]] = []
        private var edges = ByteTable()
        private var parents = [-1]
        private var nodeMatches: [[CompiledMatch]] = [[]]
        private var regularExpressions: [CompiledMatch] = []

        init(specificity: Int) {
            self.specificity = specificity
        }

        mutating func insert(_ match: CompiledMatch) {
            switch match.path {
            case .exact(let value):
                if let bucket = exactPaths.value(value) {
                    exactBuckets[bucket].append(match)
                } else {
                    exactPaths.set(value, to: exactBuckets.count)
                    exactBuckets.append([match])
                }
            case .prefix(_, let elements):
                var node = 0
                for element in elements {
                    if let child = edges.value(scope: node, element) {
                        node = child
                    } else {
                        edges.set(scope: node, element, to: parents.count)
                        parents.append(node)
                        nodeMatches.append([])
                        node = parents.count - 1
                    }
                }
                nodeMatches[node].append(match)
            case .regularExpression:
                regularExpressions.append(match)
            }
        }

        func build() -> PathIndex {
            func sorted(_ matches: [CompiledMatch]) -> [CompiledMatch] { matches.sorted { $0.precedence.comesBefore($1.precedence) } }
            return PathIndex(specificity: specificity, exactPaths: exactPaths, exactBuckets: exactBuckets.map(sorted), edges: edges,
                             parents: parents, nodeMatches: nodeMatches.map(sorted), regularExpressions: sorted(regularExpressions))
        }
    }

    private init(specificity: Int, exactPaths: ByteTable, exactBuckets: [[CompiledMatch]], edges: ByteTable, parents: [Int],
                 nodeMatches: [[CompiledMatch]], regularExpressions: [CompiledMatch]) {
        self.specificity = specificity
        self.exactPaths = exactPaths
        self.exactBuckets = exactBuckets
        self.edges = edges
        self.parents = parents
        self.nodeMatches = nodeMatches
        self.regularExpressions = regularExpressions
    }

    /// The best match for the request among this hostname's: an exact path,
    /// else the longest prefix (the deepest trie node, walking back up toward
    /// the root), else a regular expression.
    func best<H>(_ request: RoutingRequest<H>, _ view: RequestView) -> CompiledMatch? {
        if let bucket = exactPaths.value(view.path) {
            for match in exactBuckets[bucket] where match.holdsBesidesPath(request, view) { return match }
        }
        var node = deepestNode(view.path)
        while node >= 0 {
            for match in nodeMatches[node] where match.holdsBesidesPath(request, view) { return match }
            node = parents[node]
        }
        guard !regularExpressions.isEmpty else { return nil }
        var path: String?
        for match in regularExpressions {
            guard case .regularExpression(let regex) = match.path else { continue }
            if let method = match.method, !bytesEqual(method, request.method) { continue }
            if path == nil { path = String(decoding: view.path, as: UTF8.self) }
            if regex.wholeMatches(path!) && match.holdsBesidesPath(request, view) { return match }
        }
        return nil
    }

    /// The deepest node whose elements begin the path. Walks at most as deep
    /// as the trie, whatever the path's length.
    private func deepestNode(_ path: UnsafeBufferPointer<UInt8>) -> Int {
        guard !edges.isEmpty, path.first == slash else { return 0 }
        var node = 0
        var start = 1
        while true {
            let end = path[start...].firstIndex(of: slash) ?? path.count
            guard let child = edges.value(scope: node, UnsafeBufferPointer(rebasing: path[start..<end])) else { break }
            node = child
            guard end < path.count else { break }
            start = end + 1
        }
        return node
    }
}
