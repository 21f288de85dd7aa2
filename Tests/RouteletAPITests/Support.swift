import JSONValue
import RouteletAPI
import YAML

/// The first document of a YAML text.
func yamlDocument(_ text: String) throws -> YAMLDocument {
    guard let document = try YAML.parseDocuments(text).first else {
        throw ResourceDecodingError(path: "", message: "no document in the test text")
    }
    return document
}

/// A RouteTable read from YAML as kubectl would read it.
func routeTable(_ yaml: String) throws -> RouteTable {
    try RouteTable.decode(from: yamlDocument(yaml).value)
}

/// A manifest around the given spec lines (indented by two spaces).
func manifest(name: String = "edge", spec: String) -> String {
    """
    apiVersion: routelet.dev/v1alpha1
    kind: RouteTable
    metadata:
      name: \(name)
    spec:
    \(spec.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
    """
}

/// A GatewayRoute read from YAML as kubectl would read it.
func gatewayRoute(_ yaml: String) throws -> GatewayRoute {
    try GatewayRoute.decode(from: yamlDocument(yaml).value)
}

/// A GatewayRoute manifest in namespace `shop` around the given spec lines.
func gatewayManifest(name: String = "users", spec: String) -> String {
    """
    apiVersion: routelet.dev/v1alpha1
    kind: GatewayRoute
    metadata:
      name: \(name)
      namespace: shop
    spec:
    \(spec.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
    """
}
