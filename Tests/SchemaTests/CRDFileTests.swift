import JSONValue
import Schema
import Testing

@Suite("CRD files")
struct CRDFileTests {
    struct Expected: Sendable, CustomStringConvertible {
        var file: String
        var plural: String
        var kind: String
        var shortName: String
        var namespaced = false
        /// (name in capitals as kubectl shows it, type, jsonPath)
        var columns: [(String, String, String)]
        var description: String { file }
    }

    static let expected: [Expected] = [
        Expected(
            file: "routetables.routelet.dev.yaml", plural: "routetables", kind: "RouteTable", shortName: "rt",
            columns: [
                ("INTERFACES", "string", ".spec.interfaces"),
                ("ROUTES", "integer", ".status.routes"),
                ("NODES", "string", ".status.nodesReady"),
                ("PROGRAMMED", "string", #".status.conditions[?(@.type=="Programmed")].status"#),
                ("AGE", "date", ".metadata.creationTimestamp"),
            ]),
        Expected(
            file: "routeletnodes.routelet.dev.yaml", plural: "routeletnodes", kind: "RouteletNode", shortName: "rn",
            columns: [
                ("TABLES", "integer", ".status.summary.tables"),
                ("ROUTES", "integer", ".status.summary.routesInstalled"),
                ("GATEWAYS", "integer", ".status.summary.gatewayRoutes"),
                ("READY", "string", #".status.conditions[?(@.type=="Ready")].status"#),
                ("VERSION", "string", ".status.agentVersion"),
                ("AGE", "date", ".metadata.creationTimestamp"),
            ]),
        Expected(
            file: "gatewayroutes.routelet.dev.yaml", plural: "gatewayroutes", kind: "GatewayRoute", shortName: "gwr", namespaced: true,
            columns: [
                ("LISTENER", "string", ".status.listener"),
                ("RULES", "integer", ".status.rules"),
                ("BACKENDS", "string", ".status.backendsReady"),
                ("NODES", "string", ".status.nodesReady"),
                ("PROGRAMMED", "string", #".status.conditions[?(@.type=="Programmed")].status"#),
                ("AGE", "date", ".metadata.creationTimestamp"),
            ]),
    ]

    @Test("each CRD file parses with its names, scope, version, status subresource and printer columns", arguments: expected)
    func crdFileParses(_ expected: Expected) throws {
        let crd = try Fixtures.crd(expected.file)
        #expect(crd.name == "\(expected.plural).routelet.dev")
        #expect(crd.group == "routelet.dev")
        #expect(crd.scope == (expected.namespaced ? .namespaced : .cluster))
        #expect(crd.names.plural == expected.plural)
        #expect(crd.names.singular == expected.kind.lowercased())
        #expect(crd.names.kind == expected.kind)
        #expect(crd.names.listKind == expected.kind + "List")
        #expect(crd.names.shortNames == [expected.shortName])
        #expect(crd.names.categories == ["routelet"])
        #expect(crd.versions.map(\.name) == ["v1alpha1"])
        let version = try #require(crd.version("v1alpha1"))
        #expect(version.served && version.storage)
        #expect(version.hasStatusSubresource)
        #expect(version.schema.type == .object)
        let columns = version.additionalPrinterColumns
        #expect(columns.map { $0.name.uppercased() } == expected.columns.map(\.0))
        #expect(columns.map(\.type) == expected.columns.map(\.1))
        #expect(columns.map(\.jsonPath) == expected.columns.map(\.2))
        // Only the version column is for `-o wide`.
        #expect(columns.filter { $0.priority > 0 }.map(\.name) == (expected.kind == "RouteletNode" ? ["Version"] : []))
    }

    @Test("every printer column's JSONPath names a field the schema declares")
    func printerColumnsPointAtDeclaredFields() throws {
        for expected in Self.expected {
            let version = try Fixtures.crd(expected.file).storageVersion
            for column in version.additionalPrinterColumns where !column.jsonPath.hasPrefix(".metadata.") {
                // ".status.conditions[?(...)].status" -> status, conditions, status
                var schema: StructuralSchema? = version.schema
                let names = column.jsonPath.replacingOccurrences(of: #"\[[^\]]*\]"#, with: "", options: .regularExpression)
                    .split(separator: ".").map(String.init)
                for name in names {
                    if schema?.type == .array { schema = schema?.items }
                    schema = schema?.properties[name]
                }
                #expect(schema != nil, "\(expected.file): column \(column.name) reads \(column.jsonPath), which the schema does not declare")
                if column.type == "integer" { #expect(schema?.type == .integer, "\(column.name) should read an integer") }
            }
        }
    }

    @Test("every string has maxLength and every list maxItems, every integer bounds, in every CRD")
    func everyNodeIsBounded() throws {
        for expected in Self.expected {
            let schema = try Fixtures.crd(expected.file).storageVersion.schema
            var problems: [String] = []
            func walk(_ node: StructuralSchema, _ path: String) {
                switch node.type {
                case .string? where node.maxLength == nil:
                    problems.append("\(path): string without maxLength")
                case .array? where node.maxItems == nil:
                    problems.append("\(path): list without maxItems")
                case .integer? where node.minimum == nil:
                    problems.append("\(path): integer without minimum")
                default: break
                }
                for name in node.propertyNames { walk(node.properties[name]!, path.isEmpty ? name : "\(path).\(name)") }
                if let items = node.items { walk(items, "\(path)[]") }
                if case .schema(let entry)? = node.additionalProperties { walk(entry, "\(path){}") }
            }
            walk(schema, "")
            #expect(problems.isEmpty, "\(expected.file): \(problems)")
        }
    }

    @Test("the RouteTable CRD keeps its CEL rules, each with a message")
    func celRulesAreKept() throws {
        let schema = try Fixtures.routeTableSchema()
        let route = try #require(schema.properties["spec"]?.properties["routes"]?.items)
        let rules = route.validations
        #expect(rules.count >= 5)
        #expect(rules.allSatisfy { $0.message?.isEmpty == false })
        #expect(rules.contains { $0.rule.contains("cidr(self.destination).masked() == cidr(self.destination)") && $0.fieldPath == ".destination" })
        #expect(rules.contains { $0.rule.contains("ip(self.gateway).family() == cidr(self.destination).ip().family()") })
        #expect(rules.contains { $0.rule == "!has(self.nexthops) || (!has(self.gateway) && !has(self.interface))" })
        #expect(rules.contains { $0.rule.contains("has(self.interface) || has(self.nexthops)") })
        #expect(route.properties["type"]?.enumValues == ["Unicast", "Blackhole", "Local"])
        #expect(route.properties["metric"]?.maximum == .integer(4_294_967_295))
        #expect(route.properties["nexthops"]?.items?.properties["weight"]?.minimum == .integer(1))
        #expect(route.properties["nexthops"]?.items?.properties["weight"]?.maximum == .integer(256))
        #expect(route.properties["nexthops"]?.maxItems == 16)
        #expect(schema.properties["spec"]?.properties["routes"]?.maxItems == 10_000)
        #expect(schema.properties["spec"]?.properties["interfaces"]?.maxItems == 64)
    }

    @Test("a CRD whose name does not match plural.group is refused with the field named")
    func crdNameMustMatch() throws {
        let text = try Fixtures.crdText("routetables.routelet.dev.yaml")
            .replacingOccurrences(of: "name: routetables.routelet.dev", with: "name: tables.routelet.dev")
        #expect {
            try CustomResourceDefinition(yaml: text)
        } throws: { error in
            (error as? SchemaError)?.path == "metadata.name"
        }
    }

    @Test("a schema error inside a CRD names the path from the document's top")
    func schemaErrorPathInCRD() throws {
        let text = try Fixtures.crdText("routetables.routelet.dev.yaml")
            .replacingOccurrences(of: "maxItems: 10000", with: "maxItem: 10000")
        #expect {
            try CustomResourceDefinition(yaml: text)
        } throws: { error in
            guard let error = error as? SchemaError else { return false }
            return error.code == .unsupportedKeyword
                && error.path == "spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.routes.maxItem"
        }
    }
}
