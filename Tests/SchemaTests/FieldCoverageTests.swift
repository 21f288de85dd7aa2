import JSONValue
import RouteletAPI
import Schema
import Testing

/// The CRD files and the Swift types must describe the same fields; these
/// tests fail when a field is added, renamed or retyped on one side only.
@Suite("CRD schema and Swift types agree field for field")
struct FieldCoverageTests {
    enum Resource: String, CaseIterable, Sendable, CustomStringConvertible {
        case routeTable = "RouteTable"
        case routeletNode = "RouteletNode"
        case gatewayRoute = "GatewayRoute"

        var description: String { rawValue }

        var crdFile: String {
            switch self {
            case .routeTable: "routetables.routelet.dev.yaml"
            case .routeletNode: "routeletnodes.routelet.dev.yaml"
            case .gatewayRoute: "gatewayroutes.routelet.dev.yaml"
            }
        }

        func schema() throws -> StructuralSchema { try Fixtures.crd(crdFile).storageVersion.schema }

        /// The fully populated fixture.
        var full: Any {
            switch self {
            case .routeTable: Fixtures.fullRouteTable
            case .routeletNode: Fixtures.fullRouteletNode
            case .gatewayRoute: Fixtures.fullGatewayRoute
            }
        }

        func fullJSON() throws -> JSONValue {
            switch self {
            case .routeTable: try Fixtures.fullRouteTable.jsonValue()
            case .routeletNode: try Fixtures.fullRouteletNode.jsonValue()
            case .gatewayRoute: try Fixtures.fullGatewayRoute.jsonValue()
            }
        }

        /// Decodes with the Swift type and encodes again.
        func roundTrip(_ json: JSONValue) throws -> JSONValue {
            switch self {
            case .routeTable: try RouteTable.decode(from: json).jsonValue()
            case .routeletNode: try RouteletNode.decode(from: json).jsonValue()
            case .gatewayRoute: try GatewayRoute.decode(from: json).jsonValue()
            }
        }
    }

    @Test("the fixture sets every optional field and fills every list of the Swift type", arguments: Resource.allCases)
    func fixtureIsComplete(_ resource: Resource) throws {
        let report = FieldCoverage.reflect(resource.full, schema: try resource.schema())
        #expect(report.neverSet.isEmpty, "set these fields in Fixtures.full\(resource): \(report.neverSet)")
    }

    @Test("every field the Swift type writes is declared in the CRD, with a type and bounds that accept it", arguments: Resource.allCases)
    func swiftFieldsAreDeclared(_ resource: Resource) throws {
        let schema = try resource.schema()
        let json = try resource.fullJSON()
        #expect(schema.unknownFields(in: json) == [], "fields the Swift type writes but the CRD does not declare")
        #expect(schema.validate(json) == [], "the CRD schema refuses what the Swift type writes")
    }

    @Test("every property the CRD declares is read and written back by the Swift type", arguments: Resource.allCases)
    func schemaFieldsAreRead(_ resource: Resource) throws {
        let schema = try resource.schema()
        let generated = FieldCoverage.example(for: schema, apiVersion: "routelet.dev/v1alpha1", kind: resource.rawValue)
        // The generated document must itself be valid, or the comparison proves little.
        #expect(schema.validate(generated) == [])
        #expect(FieldCoverage.leaves(of: generated).count > 20)
        let reencoded = try resource.roundTrip(generated)
        #expect(FieldCoverage.dropped(generated: generated, reencoded: reencoded) == [], "fields the CRD declares but the Swift type drops")
        #expect(schema.unknownFields(in: reencoded) == [])
    }

    @Test("a field the CRD requires is never optional in the Swift type", arguments: Resource.allCases)
    func requiredFieldsAreNotOptional(_ resource: Resource) throws {
        let report = FieldCoverage.reflect(resource.full, schema: try resource.schema())
        #expect(report.optionalButRequired.isEmpty, "required in the CRD but optional in Swift: \(report.optionalButRequired)")
    }

    // The two tests below prove that the checks above notice drift.

    @Test("a property added to the CRD only is reported as dropped by the Swift type")
    func schemaOnlyFieldIsNoticed() throws {
        let crd = try Fixtures.crd("routetables.routelet.dev.yaml")
        let edited = FieldCoverage.updating(
            crd.storageVersion.schemaJSON, at: ["properties", "spec", "properties", "routes", "items", "properties", "mtu"]
        ) { _ in ["type": "integer", "minimum": 0, "maximum": 65535] }
        let schema = try StructuralSchema(edited)
        let generated = FieldCoverage.example(for: schema, apiVersion: "routelet.dev/v1alpha1", kind: "RouteTable")
        let reencoded = try Resource.routeTable.roundTrip(generated)
        #expect(FieldCoverage.dropped(generated: generated, reencoded: reencoded) == ["spec.routes[0].mtu"])
    }

    @Test("a property missing from the CRD is reported as unknown in what the Swift type writes")
    func swiftOnlyFieldIsNoticed() throws {
        let crd = try Fixtures.crd("routetables.routelet.dev.yaml")
        let edited = FieldCoverage.updating(
            crd.storageVersion.schemaJSON, at: ["properties", "spec", "properties", "routes", "items", "properties", "metric"]
        ) { _ in nil }
        let schema = try StructuralSchema(edited)
        #expect(schema.unknownFields(in: try Resource.routeTable.fullJSON()) == ["spec.routes[0].metric", "spec.routes[1].metric"])
    }

    @Test("the reflection walk notices a field the fixture leaves unset and an optional field the CRD requires")
    func reflectionNoticesGaps() throws {
        var table = Fixtures.fullRouteTable
        for index in table.spec.routes.indices { table.spec.routes[index].gateway = nil }
        let crd = try Fixtures.crd("routetables.routelet.dev.yaml")
        let edited = FieldCoverage.updating(
            crd.storageVersion.schemaJSON, at: ["properties", "spec", "properties", "routes", "items", "required"]
        ) { _ in ["destination", "metric"] }
        let report = FieldCoverage.reflect(table, schema: try StructuralSchema(edited))
        #expect(report.neverSet == ["spec.routes[].gateway"])
        #expect(report.optionalButRequired == ["spec.routes[].metric"])
    }

    @Test("a RouteletNode status without summary gets the totals of its entries")
    func summaryIsComputed() throws {
        var status = try #require(Fixtures.fullRouteletNode.status)
        #expect(status.summary == .init(tables: 1, routesInstalled: 3, gatewayRoutes: 1))
        var json = try JSONValue(encoding: status)
        if case .object(var object) = json {
            object["summary"] = nil
            json = .object(object)
        }
        let node = try RouteletNode.decode(from: ["apiVersion": "routelet.dev/v1alpha1", "kind": "RouteletNode", "status": json])
        #expect(node.status?.summary == status.summary)
        status.tables.append(.init(name: "core", routes: .init(desired: 2, installed: 2)))
        status.updateSummary()
        #expect(status.summary == .init(tables: 2, routesInstalled: 5, gatewayRoutes: 1))
    }
}
