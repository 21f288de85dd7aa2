import CYAML
import JSONValue

/// A node that is complete: its value, the positions of its parts, how many
/// nodes it expands to, and how deep it nests.
struct BuiltNode {
    var value: JSONValue
    var positions: PositionTree
    var nodeCount: Int
    var depth: Int
    /// The text used when this node is a mapping key; nil for collections.
    var keyText: String?
    /// A plain `<<` (or one tagged `!!merge`): a merge key in key position.
    var isMergeKey = false
}

/// Builds JSON values from libyaml's parser events, one document at a time.
/// Collections under construction live on an explicit stack, so nesting
/// depth costs no native stack.
struct StreamBuilder {
    private enum PendingKey {
        case key(String, Position)
        case merge(Position)
    }

    private struct Frame {
        var isMapping: Bool
        var anchor: String?
        var position: Position
        var elements: [JSONValue] = []
        var elementPositions: [PositionTree] = []
        var object = JSONObject()
        var memberPositions: [String: PositionTree] = [:]
        /// Keys written in this mapping (not merged in), and where.
        var explicitKeys: [String: Position] = [:]
        var pendingKey: PendingKey?
        var nodeCount = 1
        var childDepth = 0
    }

    let maxDepth: Int
    let maxNodes: Int
    private(set) var documents: [YAMLDocument] = []
    private var stack: [Frame] = []
    private var anchors: [String: BuiltNode] = [:]
    private var root: BuiltNode?
    private var documentStart = 1
    private var totalNodes = 0

    init(maxDepth: Int, maxNodes: Int) {
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
    }

    mutating func handle(_ event: yaml_event_t) throws(YAMLError) {
        let position = Position(line: event.start_mark.line + 1, column: event.start_mark.column + 1)
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            anchors = [:]
            root = nil
            documentStart = position.line
        case YAML_DOCUMENT_END_EVENT:
            if let root, root.value != .null {
                documents.append(YAMLDocument(value: root.value, startLine: documentStart, positions: root.positions))
            }
            root = nil
            anchors = [:]
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            let tag = scalar.tag.map { String(cString: $0) }
            let isPlain = scalar.style == YAML_PLAIN_SCALAR_STYLE
            let value: JSONValue
            if let tag {
                value = try ScalarResolver.resolveTagged(text, tag: tag, at: position)
            } else if isPlain {
                value = ScalarResolver.resolvePlain(text).0
            } else {
                value = .string(text)
            }
            try count(1, at: position)
            var node = BuiltNode(
                value: value, positions: PositionTree(position: position), nodeCount: 1, depth: 0,
                keyText: ScalarResolver.keyText(value, original: text))
            node.isMergeKey = text == "<<" && ((tag == nil && isPlain) || tag == ScalarResolver.tagPrefix + "merge")
            if let anchor = scalar.anchor.map({ String(cString: $0) }) { anchors[anchor] = node }
            try attach(node, at: position)
        case YAML_ALIAS_EVENT:
            let name = event.data.alias.anchor.map { String(cString: $0) } ?? ""
            guard var node = anchors[name] else {
                throw YAMLError(at: position, "alias *\(name) refers to an undefined anchor")
            }
            guard stack.count + node.depth <= maxDepth else {
                throw YAMLError(at: position, "alias *\(name) nests deeper than \(maxDepth) levels")
            }
            try count(node.nodeCount, at: position)
            node.positions.position = position
            try attach(node, at: position)
        case YAML_SEQUENCE_START_EVENT:
            let start = event.data.sequence_start
            try checkCollectionTag(start.tag, isMapping: false, at: position)
            try push(Frame(isMapping: false, anchor: start.anchor.map { String(cString: $0) }, position: position))
        case YAML_MAPPING_START_EVENT:
            let start = event.data.mapping_start
            try checkCollectionTag(start.tag, isMapping: true, at: position)
            try push(Frame(isMapping: true, anchor: start.anchor.map { String(cString: $0) }, position: position))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { return }
            let node: BuiltNode
            if frame.isMapping {
                node = BuiltNode(
                    value: .object(frame.object),
                    positions: PositionTree(position: frame.position, children: .keyed(frame.memberPositions)),
                    nodeCount: frame.nodeCount, depth: frame.childDepth + 1, keyText: nil)
            } else {
                node = BuiltNode(
                    value: .array(frame.elements),
                    positions: PositionTree(position: frame.position, children: .indexed(frame.elementPositions)),
                    nodeCount: frame.nodeCount, depth: frame.childDepth + 1, keyText: nil)
            }
            if let anchor = frame.anchor { anchors[anchor] = node }
            try attach(node, at: frame.position)
        default:
            break   // stream start/end carry nothing we need
        }
    }

    private func checkCollectionTag(_ tag: UnsafeMutablePointer<yaml_char_t>?, isMapping: Bool, at position: Position) throws(YAMLError) {
        guard let tag = tag.map({ String(cString: $0) }) else { return }
        let expected = ScalarResolver.tagPrefix + (isMapping ? "map" : "seq")
        if tag == expected || tag == "!" { return }
        let known = ["str", "int", "float", "bool", "null", "map", "seq", "timestamp", "merge"]
            .map { ScalarResolver.tagPrefix + $0 }
        guard known.contains(tag) else { throw YAMLError(at: position, "unknown tag \(ScalarResolver.shortTag(tag))") }
        throw YAMLError(at: position, "\(ScalarResolver.shortTag(tag)) cannot be used on a \(isMapping ? "mapping" : "sequence")")
    }

    private mutating func count(_ nodes: Int, at position: Position) throws(YAMLError) {
        totalNodes += nodes
        guard totalNodes <= maxNodes else {
            throw YAMLError(at: position, "the document expands to more than \(maxNodes) nodes (too many aliases?)")
        }
    }

    private mutating func push(_ frame: Frame) throws(YAMLError) {
        if let top = stack.last, top.isMapping, top.pendingKey == nil {
            throw YAMLError(at: frame.position, "a mapping key must be a scalar, not a \(frame.isMapping ? "mapping" : "sequence")")
        }
        guard stack.count < maxDepth else {
            throw YAMLError(at: frame.position, "collections nest deeper than \(maxDepth) levels")
        }
        try count(1, at: frame.position)
        stack.append(frame)
    }

    private mutating func attach(_ node: BuiltNode, at position: Position) throws(YAMLError) {
        guard !stack.isEmpty else {
            root = node
            return
        }
        let top = stack.count - 1
        stack[top].nodeCount += node.nodeCount
        stack[top].childDepth = max(stack[top].childDepth, node.depth)
        guard stack[top].isMapping else {
            stack[top].elements.append(node.value)
            stack[top].elementPositions.append(node.positions)
            return
        }
        switch stack[top].pendingKey {
        case nil:
            guard let key = node.keyText else {
                throw YAMLError(at: position, "a mapping key must be a scalar, not a \(node.value.objectValue != nil ? "mapping" : "sequence")")
            }
            stack[top].pendingKey = node.isMergeKey ? .merge(position) : .key(key, position)
        case .key(let key, let keyPosition):
            stack[top].pendingKey = nil
            if let earlier = stack[top].explicitKeys[key] {
                throw YAMLError(at: keyPosition, "mapping key \"\(key)\" already defined at line \(earlier.line)")
            }
            stack[top].explicitKeys[key] = keyPosition
            // A written key overrides one a merge key brought in.
            stack[top].object[key] = node.value
            stack[top].memberPositions[key] = node.positions
        case .merge(let keyPosition):
            stack[top].pendingKey = nil
            try merge(node, into: top, at: keyPosition)
        }
    }

    /// Applies `<<: source`: keys already present (written or merged
    /// earlier) win, as the YAML merge-key spec asks.
    private mutating func merge(_ source: BuiltNode, into top: Int, at position: Position) throws(YAMLError) {
        var sources: [(JSONObject, PositionTree)] = []
        switch source.value {
        case .object(let object):
            sources = [(object, source.positions)]
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                guard case .object(let object) = element, case .indexed(let trees) = source.positions.children else {
                    throw YAMLError(at: position, "a merge key needs a mapping or a sequence of mappings as its value")
                }
                sources.append((object, trees[index]))
            }
        default:
            throw YAMLError(at: position, "a merge key needs a mapping or a sequence of mappings as its value")
        }
        for (object, tree) in sources {
            for (key, value) in object where stack[top].object[key] == nil {
                stack[top].object[key] = value
                if let child = tree.child(.key(key)) { stack[top].memberPositions[key] = child }
            }
        }
    }
}
