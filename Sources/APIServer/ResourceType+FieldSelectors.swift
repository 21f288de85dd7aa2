import JSONValue

extension ResourceType {
    /// The field labels a field selector may name, as kube-apiserver allows
    /// them: `metadata.name` and `metadata.namespace` everywhere, and for
    /// core/v1 Events the fields kubectl describe and event tools use, for
    /// Secrets their `type` (the agent watches `type=kubernetes.io/tls`).
    var selectableFields: Set<String> {
        switch storageKey {
        case "core/events": Self.objectMetaFields.union(Self.eventFields)
        case "core/secrets": Self.objectMetaFields.union(["type"])
        default: Self.objectMetaFields
        }
    }

    static let objectMetaFields: Set<String> = ["metadata.name", "metadata.namespace"]
    static let eventFields: Set<String> = [
        "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
        "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
        "reason", "reportingComponent", "source", "type",
    ]

    /// The value of a selectable field on `object`; "" when it has none, as
    /// Kubernetes compares absent fields.
    func fieldValue(_ field: String, of object: JSONValue) -> String {
        func string(_ value: JSONValue?) -> String { value?.stringValue ?? "" }
        switch field {
        case "metadata.name": return object.metadata("name") ?? ""
        case "metadata.namespace": return object.metadata("namespace") ?? ""
        case "source":
            // core/v1 source.component, or the events.k8s.io reporting controller.
            let component = string(object["source"]?["component"])
            return component.isEmpty ? string(object["reportingComponent"]) : component
        case _ where field.hasPrefix("involvedObject."):
            return string(object["involvedObject"]?[String(field.dropFirst("involvedObject.".count))])
        default:
            return string(object[field])
        }
    }
}
