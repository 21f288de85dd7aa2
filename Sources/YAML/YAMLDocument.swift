import JSONValue

/// One document of a YAML stream: its value as JSON, and where each of its
/// nodes was written, so that errors about a field can point at a line.
public struct YAMLDocument: Sendable {
    /// The document's content.
    public let value: JSONValue
    /// The line of the document's `---` marker, or of its first node when it has none.
    public let startLine: Int
    let positions: PositionTree

    init(value: JSONValue, startLine: Int, positions: PositionTree) {
        self.value = value
        self.startLine = startLine
        self.positions = positions
    }

    /// Where the node at `path` starts; nil when there is no such node.
    /// A node that came from an alias or a merge key reports where its
    /// content was written (the anchored node).
    public func position(of path: [PathComponent]) -> Position? {
        var tree = positions
        for component in path {
            guard let child = tree.child(component) else { return nil }
            tree = child
        }
        return tree.position
    }

    /// Like ``position(of:)`` for a path such as `spec.routes[3].destination`.
    public func position(ofPath path: String) -> Position? {
        position(of: PathComponent.components(of: path))
    }

    /// Where the deepest existing node along `path` starts, e.g. the route
    /// mapping when the field the path names is missing.
    public func nearestPosition(of path: [PathComponent]) -> Position {
        var tree = positions
        for component in path {
            guard let child = tree.child(component) else { break }
            tree = child
        }
        return tree.position
    }
}

/// Positions of a node and of its children, shaped like the JSON value.
struct PositionTree: Sendable {
    enum Children: Sendable {
        case none
        case keyed([String: PositionTree])
        case indexed([PositionTree])
    }

    var position: Position
    var children: Children = .none

    func child(_ component: PathComponent) -> PositionTree? {
        switch (component, children) {
        case (.key(let key), .keyed(let members)):
            return members[key]
        case (.index(let index), .indexed(let elements)):
            return elements.indices.contains(index) ? elements[index] : nil
        default:
            return nil
        }
    }
}
