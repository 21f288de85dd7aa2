import RouteletAPI
import Testing

@Suite struct LabelSelectorTests {
    static let edge = ["routelet.dev/role": "edge", "zone": "a"]

    /// (selector, labels, expected) following Kubernetes' semantics.
    static let cases: [(String, LabelSelector, [String: String], Bool)] = [
        ("empty selector matches everything", LabelSelector(), [:], true),
        ("empty selector matches labelled nodes", LabelSelector(matchLabels: [:], matchExpressions: []), edge, true),
        ("matchLabels equal", LabelSelector(matchLabels: ["zone": "a"]), edge, true),
        ("matchLabels different value", LabelSelector(matchLabels: ["zone": "b"]), edge, false),
        ("matchLabels absent key", LabelSelector(matchLabels: ["rack": "1"]), edge, false),
        ("matchLabels empty value needs the key", LabelSelector(matchLabels: ["rack": ""]), edge, false),
        ("matchLabels empty value matches empty", LabelSelector(matchLabels: ["rack": ""]), ["rack": ""], true),
        ("In", LabelSelector(matchExpressions: [.init(key: "zone", operator: .in, values: ["a", "b"])]), edge, true),
        ("In, other value", LabelSelector(matchExpressions: [.init(key: "zone", operator: .in, values: ["b"])]), edge, false),
        ("In, absent key", LabelSelector(matchExpressions: [.init(key: "rack", operator: .in, values: ["1"])]), edge, false),
        ("NotIn", LabelSelector(matchExpressions: [.init(key: "zone", operator: .notIn, values: ["a"])]), edge, false),
        ("NotIn, other value", LabelSelector(matchExpressions: [.init(key: "zone", operator: .notIn, values: ["b"])]), edge, true),
        ("NotIn matches an absent key", LabelSelector(matchExpressions: [.init(key: "rack", operator: .notIn, values: ["1"])]), edge, true),
        ("Exists", LabelSelector(matchExpressions: [.init(key: "zone", operator: .exists)]), edge, true),
        ("Exists, absent", LabelSelector(matchExpressions: [.init(key: "rack", operator: .exists)]), edge, false),
        ("DoesNotExist", LabelSelector(matchExpressions: [.init(key: "rack", operator: .doesNotExist)]), edge, true),
        ("DoesNotExist, present", LabelSelector(matchExpressions: [.init(key: "zone", operator: .doesNotExist)]), edge, false),
        ("all requirements must hold",
         LabelSelector(matchLabels: ["zone": "a"], matchExpressions: [.init(key: "routelet.dev/role", operator: .in, values: ["core"])]), edge, false),
        ("labels and expressions together",
         LabelSelector(matchLabels: ["zone": "a"], matchExpressions: [.init(key: "routelet.dev/role", operator: .in, values: ["edge"])]), edge, true),
        ("invalid: In without values selects nothing", LabelSelector(matchExpressions: [.init(key: "zone", operator: .notIn, values: [])]), edge, false),
        ("invalid: unknown operator selects nothing", LabelSelector(matchExpressions: [.init(key: "zone", operator: "Equals", values: ["a"])]), edge, false),
        ("invalid: Exists with values selects nothing", LabelSelector(matchExpressions: [.init(key: "zone", operator: .exists, values: ["a"])]), edge, false),
        ("invalid: bad key selects nothing", LabelSelector(matchLabels: ["bad key": "a"]), ["bad key": "a"], false),
    ]

    @Test("selectors match as Kubernetes matches", arguments: cases)
    func selectorSemantics(name: String, selector: LabelSelector, labels: [String: String], expected: Bool) {
        #expect(selector.matches(labels) == expected, "\(name)")
    }

    @Test("no node selector selects every node")
    func nilSelectorSelectsAll() {
        #expect(RouteTableSpec(interfaces: ["eth0"]).selects(nodeLabels: [:]))
        #expect(!RouteTableSpec(nodeSelector: LabelSelector(matchLabels: ["a": "b"]), interfaces: ["eth0"]).selects(nodeLabels: [:]))
    }

    static let keys: [(String, Bool)] = [
        ("app", true), ("routelet.dev/role", true), ("a.b-c_d", true), ("A1", true), (String(repeating: "a", count: 63), true),
        (String(repeating: "a", count: 64), false), ("", false), ("-a", false), ("a-", false), ("a b", false), ("/a", false),
        ("a/", false), ("a/b/c", false), ("Example.com/a", false), ("example.com/a_b", true), ("ex_ample.com/a", false),
        (String(repeating: "a", count: 254) + "/a", false),
    ]

    @Test("label keys follow Kubernetes' qualified-name rules", arguments: keys)
    func labelKeys(key: String, valid: Bool) {
        let errors = LabelSelector(matchLabels: [key: "v"]).validate()
        #expect(errors.isEmpty == valid, "\(errors)")
    }

    static let values: [(String, Bool)] = [
        ("", true), ("edge", true), ("a.b_c-d", true), (String(repeating: "v", count: 63), true),
        (String(repeating: "v", count: 64), false), ("-a", false), ("a_", false), ("a/b", false), ("é", false),
    ]

    @Test("label values follow Kubernetes' rules", arguments: values)
    func labelValues(value: String, valid: Bool) {
        let errors = LabelSelector(matchExpressions: [.init(key: "k", operator: .in, values: [value])]).validate()
        #expect(errors.isEmpty == valid, "\(errors)")
    }
}
