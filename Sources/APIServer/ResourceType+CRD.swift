import JSONValue
import Schema

extension ResourceType {
    /// The served (storage) version of a CustomResourceDefinition.
    init(crd: JSONValue) throws {
        guard crd["kind"] == "CustomResourceDefinition", let spec = crd["spec"], let names = spec["names"],
              let group = spec["group"]?.stringValue, let plural = names["plural"]?.stringValue,
              let kind = names["kind"]?.stringValue,
              let version = spec["versions"]?.arrayValue?.first(where: { $0["storage"] == true }) ?? spec["versions"]?[0],
              let versionName = version["name"]?.stringValue else {
            throw APIServerError("not a CustomResourceDefinition with group, names and a version: \(crd.metadata("name") ?? "?")")
        }
        let strings: (JSONValue?) -> [String] = { $0?.arrayValue?.compactMap(\.stringValue) ?? [] }
        let columns = (version["additionalPrinterColumns"]?.arrayValue ?? []).map { column in
            PrinterColumn(name: column["name"]?.stringValue ?? "", type: column["type"]?.stringValue ?? "string",
                          jsonPath: column["jsonPath"]?.stringValue ?? "", description: column["description"]?.stringValue ?? "",
                          priority: Int(column["priority"]?.integerValue ?? 0), format: column["format"]?.stringValue ?? "")
        }
        let schema = try version["schema"]?["openAPIV3Schema"].map { try StructuralSchema($0) }
        self.init(group: group, version: versionName, kind: kind, listKind: names["listKind"]?.stringValue ?? "\(kind)List",
                  plural: plural, singular: names["singular"]?.stringValue ?? kind.lowercased(),
                  shortNames: strings(names["shortNames"]), categories: strings(names["categories"]),
                  namespaced: spec["scope"] == "Namespaced", hasStatus: version["subresources"]?["status"] != nil,
                  schema: schema, schemaJSON: version["schema"]?["openAPIV3Schema"], printerColumns: columns,
                  semanticCheck: Self.semanticCheck(forKind: kind))
    }
}
