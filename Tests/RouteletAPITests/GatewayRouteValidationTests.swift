import NetAddress
import RouteletAPI
import Testing

/// The smallest valid HTTP route, to which a case adds what it tests.
private let httpListener = "listener: {address: 10.96.0.10, port: 80, protocol: HTTP}"
private let oneBackend = "backends: [{service: {name: users, port: 8080}}]"

@Suite struct GatewayRouteValidationTests {
    static let designExample = """
        apiVersion: routelet.dev/v1alpha1
        kind: GatewayRoute
        metadata: {name: users, namespace: shop}
        spec:
          nodeSelector: {matchLabels: {routelet.dev/role: gateway}}
          interfaces: [eth1]
          listener:
            address: 10.96.0.10
            port: 80
            protocol: HTTP
          hostnames: [api.example.com, "*.example.com"]
          rules:
          - matches:
            - path: {type: PathPrefix, value: /users}
              headers:
              - {name: X-User-Role, value: admin}
              - {name: X-Region, value: us-west}
              queryParams:
              - {name: tier, value: gold}
              method: GET
            backends:
            - service: {name: user-service, port: 8080}
              weight: 90
            - addresses: [10.2.0.10, 10.2.0.11]
              port: 8080
              weight: 10
          accessLog:
            headers: [X-User-Role, X-Region, User-Agent]
          sourceRanges:
            allow: [198.51.100.0/24]
            deny: [198.51.100.66/32]
          rateLimit:
            requestsPerSecond: 100
            burst: 200
        """

    @Test("the example from api.md is valid, and the accessors apply the defaults")
    func designExampleIsValid() throws {
        let route = try gatewayRoute(Self.designExample)
        #expect(route.validate() == [])
        let listener = route.spec.listener
        #expect(listener.addressValue == IPAddress("10.96.0.10"))
        #expect(listener.effectiveProtocol == .http)
        #expect(listener.effectiveMaglevTableSize == 16381)
        #expect(listener.effectiveIdleTimeout == nil)
        #expect(listener.effectivePreserveClientIP == false)
        #expect(listener.displayText == "10.96.0.10:80/HTTP")
        let rule = try #require(route.spec.rules.first)
        #expect(rule.backends.map(\.effectiveWeight) == [90, 10])
        #expect(rule.backends[1].addressValues.map(\.description) == ["10.2.0.10", "10.2.0.11"])
        #expect(rule.matches?[0].path?.effectiveType == .pathPrefix)
        #expect(rule.matches?[0].headers?[0].effectiveType == .exact)
        #expect(route.spec.interfacePatterns.map(\.text) == ["eth1"])
        #expect(!route.spec.bindsEveryInterface)
        #expect(route.spec.selects(nodeLabels: ["routelet.dev/role": "gateway"]))
        #expect(!route.spec.selects(nodeLabels: ["routelet.dev/role": "edge"]))
        #expect(route.spec.sourceRanges?.allowPrefixes?.map(\.description) == ["198.51.100.0/24"])
        #expect(route.spec.sourceRanges?.denyPrefixes.map(\.description) == ["198.51.100.66/32"])
        #expect(route.spec.rateLimit?.effectiveBurst == 200)
    }

    @Test("defaults of a TCP and a UDP listener; no interfaces means every link")
    func layer4Defaults() throws {
        let tcp = try gatewayRoute(gatewayManifest(spec: """
            listener: {address: "2001:db8::10", port: 5432, protocol: TCP}
            rules: [{backends: [{addresses: ["2001:db8::20"], port: 5432}]}]
            rateLimit: {requestsPerSecond: 50}
            """))
        #expect(tcp.validate() == [])
        #expect(tcp.spec.listener.effectiveIdleTimeout == .seconds(21600))
        #expect(tcp.spec.listener.displayText == "[2001:db8::10]:5432/TCP")
        #expect(tcp.spec.bindsEveryInterface && tcp.spec.interfacePatterns.isEmpty)
        #expect(tcp.spec.selects(nodeLabels: [:]))
        #expect(tcp.spec.rateLimit?.effectiveBurst == 50)
        #expect(tcp.spec.sourceRanges?.allowPrefixes == nil)
        var udp = tcp
        udp.spec.listener.protocol = .udp
        #expect(udp.spec.listener.effectiveIdleTimeout == .seconds(60))
        udp.spec.listener.idleTimeoutSeconds = 5
        #expect(udp.spec.listener.effectiveIdleTimeout == .seconds(5))
        udp.spec.listener.protocol = "SCTP"
        #expect(udp.spec.listener.effectiveProtocol == nil && udp.spec.listener.effectiveIdleTimeout == nil)
    }

    /// A spec (YAML, under `spec:`) and the exact errors it must produce.
    static let cases: [(String, String, [String])] = [
        ("a TCP listener with every option, IPv6", """
            interfaces: ["eth[0-3]", "veth*"]
            listener: {address: "2001:db8::10", port: 5432, protocol: TCP, preserveClientIP: true, maglevTableSize: 65537, idleTimeoutSeconds: 3600}
            rules:
            - backends:
              - {addresses: ["2001:db8::20", "2001:db8::21"], port: 5432, weight: 0}
              - {service: {name: db, port: 5432}, weight: 1000000}
            accessLog: {headers: [User-Agent]}
            sourceRanges: {allow: ["2001:db8:1::/48"], deny: ["2001:db8:1::66/128"]}
            rateLimit: {requestsPerSecond: 50, burst: 10000000}
            """, []),
        ("an HTTPS listener with an empty match and a regular-expression path", """
            listener: {address: 10.96.0.10, port: 443, protocol: HTTPS, tls: {secretName: users-cert}}
            hostnames: ["*.example.com"]
            rules:
            - matches: [{}, {path: {type: RegularExpression, value: "^/users/[0-9]+$"}, method: DELETE}]
              \(oneBackend)
            """, []),
        ("a listener with nothing in it", """
            listener: {}
            rules: [{\(oneBackend)}]
            """, [
                #"spec.listener.address: an address is required (an IP address like "10.96.0.10" or "2001:db8::10")"#,
                "spec.listener.port: a port is required (1-65535)",
                #"spec.listener.protocol: a protocol is required (expected "HTTP", "HTTPS", "TCP" or "UDP")"#,
            ]),
        ("a malformed address, port and protocol", """
            listener: {address: 10.96.0.300, port: 70000, protocol: http}
            rules: [{\(oneBackend)}]
            """, [
                #"spec.listener.address: "10.96.0.300" is not a valid IP address (expected an address like "10.96.0.10" or "2001:db8::10")"#,
                "spec.listener.port: port 70000 is out of range (1-65535)",
                #"spec.listener.protocol: "http" is not a listener protocol (expected "HTTP", "HTTPS", "TCP" or "UDP")"#,
            ]),
        ("addresses that are not unicast, duplicated or of the other family", """
            listener: {address: 224.0.0.1, port: 80, protocol: HTTP}
            rules:
            - backends:
              - addresses: [127.0.0.1, 10.2.0.10, 10.2.0.10, "2001:db8::1", 255.255.255.255, 0.0.0.0, "::"]
                port: 8080
            """, [
                #"spec.listener.address: "224.0.0.1" is a multicast address; a listener needs a unicast address"#,
                #"spec.rules[0].backends[0].addresses[0]: "127.0.0.1" is a loopback address; a backend needs a unicast address"#,
                #"spec.rules[0].backends[0].addresses[2]: "10.2.0.10" is already listed at spec.rules[0].backends[0].addresses[1]"#,
                #"spec.rules[0].backends[0].addresses[3]: "2001:db8::1" is IPv6 but the listener address "224.0.0.1" is IPv4"#,
                #"spec.rules[0].backends[0].addresses[4]: "255.255.255.255" is the broadcast address; a backend needs a unicast address"#,
                #"spec.rules[0].backends[0].addresses[5]: "0.0.0.0" is the unspecified address; a backend needs a unicast address"#,
                #"spec.rules[0].backends[0].addresses[6]: "::" is the unspecified address; a backend needs a unicast address"#,
            ]),
        ("an HTTPS listener needs tls", """
            listener: {address: 10.96.0.10, port: 443, protocol: HTTPS}
            rules: [{\(oneBackend)}]
            """, [#"spec.listener.tls: an HTTPS listener needs "tls" with the secretName of a kubernetes.io/tls Secret"#]),
        ("the Secret name is required and must be a valid name", """
            listener: {address: "2001:db8::10", port: 443, protocol: HTTPS, tls: {}}
            rules: [{\(oneBackend)}]
            """, [#"spec.listener.tls.secretName: a Secret name is required (like "users-cert")"#]),
        ("a Secret name that is not a valid name", """
            listener: {address: 10.96.0.10, port: 443, protocol: HTTPS, tls: {secretName: Users_Cert}}
            rules: [{\(oneBackend)}]
            """, [
                #"spec.listener.tls.secretName: "Users_Cert" is not a valid Secret name: it must consist of lowercase letters, digits, '-' and '.', and start and end with a letter or digit"#,
            ]),
        ("tls only for HTTPS; the TCP and UDP options only for TCP and UDP", """
            listener: {address: 10.96.0.10, port: 80, protocol: HTTP, tls: {secretName: c}, preserveClientIP: false, maglevTableSize: 16381, idleTimeoutSeconds: 60}
            rules: [{\(oneBackend)}]
            """, [
                #"spec.listener.tls: an HTTP listener cannot have "tls"; only HTTPS listeners terminate TLS"#,
                #"spec.listener.preserveClientIP: an HTTP listener cannot have "preserveClientIP"; it is for TCP and UDP listeners only"#,
                #"spec.listener.maglevTableSize: an HTTP listener cannot have "maglevTableSize"; it is for TCP and UDP listeners only"#,
                #"spec.listener.idleTimeoutSeconds: an HTTP listener cannot have "idleTimeoutSeconds"; it is for TCP and UDP listeners only"#,
            ]),
        ("a TCP listener cannot have tls", """
            listener: {address: 10.96.0.10, port: 443, protocol: TCP, tls: {secretName: c}}
            rules: [{backends: [{addresses: [10.2.0.1], port: 443}]}]
            """, [#"spec.listener.tls: a TCP listener cannot have "tls"; only HTTPS listeners terminate TLS"#]),
        ("a Maglev table size that is not a prime; an idle timeout of 0", """
            listener: {address: 10.96.0.10, port: 53, protocol: TCP, maglevTableSize: 16384, idleTimeoutSeconds: 0}
            rules: [{backends: [{addresses: [10.2.0.1], port: 53}]}]
            """, [
                "spec.listener.maglevTableSize: maglevTableSize 16384 is not a prime; the nearest primes are 16381 and 16411",
                "spec.listener.idleTimeoutSeconds: idleTimeoutSeconds 0 is out of range (1-604800)",
            ]),
        ("a Maglev table size and an idle timeout out of range", """
            listener: {address: 10.96.0.10, port: 53, protocol: UDP, maglevTableSize: 131072, idleTimeoutSeconds: 604801}
            rules: [{backends: [{addresses: [10.2.0.1], port: 53}]}]
            """, [
                "spec.listener.maglevTableSize: maglevTableSize 131072 is out of range (a prime from 251 to 131071)",
                "spec.listener.idleTimeoutSeconds: idleTimeoutSeconds 604801 is out of range (1-604800)",
            ]),
        ("a TCP listener takes no hostnames, no matches and one rule", """
            listener: {address: 10.96.0.10, port: 5432, protocol: TCP}
            hostnames: [db.example.com]
            rules:
            - matches: [{path: {value: /a}}]
              backends: [{addresses: [10.2.0.1], port: 5432}]
            - backends: [{addresses: [10.2.0.2], port: 5432}]
            """, [
                #"spec.hostnames: a TCP listener routes by address and port alone; remove "hostnames""#,
                "spec.rules: a TCP listener takes exactly 1 rule (it routes by address and port alone); 2 are listed",
                #"spec.rules[0].matches: a TCP listener takes no matches (it routes by address and port alone); remove "matches""#,
            ]),
        ("a UDP listener logs no headers", """
            listener: {address: 10.96.0.10, port: 53, protocol: UDP}
            rules: [{backends: [{addresses: [10.2.0.1], port: 53}]}]
            accessLog: {headers: [User-Agent]}
            """, [#"spec.accessLog.headers: a UDP listener carries no HTTP headers to log; remove "headers""#]),
        ("no rules", """
            \(httpListener)
            rules: []
            """, ["spec.rules: at least 1 rule is required"]),
        ("hostnames", """
            \(httpListener)
            hostnames:
            - api.example.com
            - API.Example.com
            - 10.0.0.1
            - "[2001:db8::1]"
            - api.example.com:8080
            - foo.*.com
            - "*"
            - -a.example.com
            - api.example.com
            - \(String(repeating: "a", count: 64)).com
            - ""
            - example.com.
            rules: [{\(oneBackend)}]
            """, [
                #"spec.hostnames[1]: "API.Example.com" must be lowercase; did you mean "api.example.com"?"#,
                #"spec.hostnames[2]: "10.0.0.1" is an IP address; hostnames are DNS names like "api.example.com" (the address is spec.listener.address)"#,
                #"spec.hostnames[3]: "[2001:db8::1]" is an IP address; hostnames are DNS names like "api.example.com" (the address is spec.listener.address)"#,
                #"spec.hostnames[4]: "api.example.com:8080" has a port; a hostname takes none (the port is spec.listener.port)"#,
                #"spec.hostnames[5]: "foo.*.com" has a '*' that is not the whole first label; a wildcard is written like "*.example.com""#,
                #"spec.hostnames[6]: "*" has a '*' that is not the whole first label; a wildcard is written like "*.example.com""#,
                #"spec.hostnames[7]: "-a.example.com" is not a valid hostname: it must be labels of lowercase letters, digits and '-' (not at either end), joined by '.'"#,
                #"spec.hostnames[8]: "api.example.com" is already listed at spec.hostnames[0]"#,
                #"spec.hostnames[9]: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com" has a label of 64 characters; at most 63 are allowed"#,
                #"spec.hostnames[10]: a hostname must not be empty (expected a name like "api.example.com" or "*.example.com")"#,
                #"spec.hostnames[11]: "example.com." is not a valid hostname: it must be labels of lowercase letters, digits and '-' (not at either end), joined by '.'"#,
            ]),
        ("paths for Exact and PathPrefix", """
            \(httpListener)
            rules:
            - matches:
              - path: {value: /users}
              - path: {value: users}
              - path: {type: Exact, value: /a//b}
              - path: {value: /a/./b}
              - path: {value: /a/../b}
              - path: {value: /a/..}
              - path: {value: /a/.}
              - path: {value: /a%2fb}
              \(oneBackend)
            - matches:
              - path: {value: "/a#b"}
              - path: {value: /a b}
              - path: {value: /a%zz}
              - path: {value: /a?b=1}
              - path: {type: Exact}
              - path: {type: Prefix, value: /a}
              - path: {value: "/a\\u00e9"}
              - path: {value: "/a%"}
              \(oneBackend)
            """, [
                #"spec.rules[0].matches[1].path.value: "users" must start with '/' (like "/users")"#,
                #"spec.rules[0].matches[2].path.value: "/a//b" must not contain "//""#,
                #"spec.rules[0].matches[3].path.value: "/a/./b" must not contain "/./""#,
                #"spec.rules[0].matches[4].path.value: "/a/../b" must not contain "/../""#,
                #"spec.rules[0].matches[5].path.value: "/a/.." must not end with "/..""#,
                #"spec.rules[0].matches[6].path.value: "/a/." must not end with "/.""#,
                #"spec.rules[0].matches[7].path.value: "/a%2fb" must not contain an encoded '/' ("%2F")"#,
                #"spec.rules[1].matches[0].path.value: "/a#b" must not contain '#' (a fragment is never sent to the server)"#,
                #"spec.rules[1].matches[1].path.value: "/a b" contains a space, which a path cannot hold unencoded (percent-encode it, like "%20" for a space)"#,
                #"spec.rules[1].matches[2].path.value: "/a%zz" has a '%' that is not followed by two hex digits (write '%' itself as "%25")"#,
                #"spec.rules[1].matches[3].path.value: "/a?b=1" contains '?', which a path cannot hold unencoded (percent-encode it, like "%20" for a space)"#,
                #"spec.rules[1].matches[4].path.value: a path is required (like "/users")"#,
                #"spec.rules[1].matches[5].path.type: "Prefix" is not a path match type (expected "Exact", "PathPrefix" or "RegularExpression")"#,
                #"spec.rules[1].matches[6].path.value: "/aé" contains a non-ASCII character, which a path cannot hold unencoded (percent-encode it, like "%20" for a space)"#,
                #"spec.rules[1].matches[7].path.value: "/a%" has a '%' that is not followed by two hex digits (write '%' itself as "%25")"#,
            ]),
        ("regular expressions must compile; path rules do not apply to them", """
            \(httpListener)
            rules:
            - matches:
              - path: {type: RegularExpression, value: "("}
              - path: {type: RegularExpression, value: "//x/../y#"}
              - path: {type: RegularExpression, value: ""}
              - path: {type: RegularExpression, value: "a{2,1}"}
              \(oneBackend)
            """, [
                #"spec.rules[0].matches[0].path.value: "(" is not a valid regular expression: expected ')'"#,
                #"spec.rules[0].matches[2].path.value: a regular expression is required (like "^/users/[0-9]+$")"#,
                #"spec.rules[0].matches[3].path.value: "a{2,1}" is not a valid regular expression: range lower bound '2' must be less than or equal to upper bound '1'"#,
            ]),
        ("headers, query parameters and methods", """
            \(httpListener)
            rules:
            - matches:
              - headers:
                - {name: X-User-Role, value: admin}
                - {name: X User, value: a}
                - {name: x-user-role, value: b}
                - {name: X-Region, value: ""}
                - {name: X-Id, value: "(", type: RegularExpression}
                - {name: X-Any, value: ".*", type: RegularExpression}
                - {name: X-T, value: a, type: Prefix}
                - {value: a}
                - {name: X-Crlf, value: "a\\r\\nb"}
                queryParams:
                - {name: tier, value: gold}
                - {name: "", value: x}
                - {name: tier, value: silver}
                - {name: Tier, value: x}
                - {name: q, value: "[", type: RegularExpression}
                - {name: r}
                method: get
              - method: FETCH
              \(oneBackend)
            """, [
                #"spec.rules[0].matches[0].headers[1].name: "X User" is not a valid header name: header names are HTTP tokens (letters, digits and !#$%&'*+-.^_`|~)"#,
                #"spec.rules[0].matches[0].headers[2].name: "x-user-role" is already matched at spec.rules[0].matches[0].headers[0] (header names are case-insensitive)"#,
                #"spec.rules[0].matches[0].headers[3].value: a value is required (like "admin"; to match any value, use type RegularExpression and ".*")"#,
                #"spec.rules[0].matches[0].headers[4].value: "(" is not a valid regular expression: expected ')'"#,
                #"spec.rules[0].matches[0].headers[6].type: "Prefix" is not a value match type (expected "Exact" or "RegularExpression")"#,
                #"spec.rules[0].matches[0].headers[7].name: a header name is required (like "X-User-Role")"#,
                #"spec.rules[0].matches[0].headers[8].value: "a\r\nb" contains a line break or NUL, which a request cannot carry"#,
                #"spec.rules[0].matches[0].queryParams[1].name: a query parameter name is required (like "tier")"#,
                #"spec.rules[0].matches[0].queryParams[2].name: "tier" is already matched at spec.rules[0].matches[0].queryParams[0]"#,
                #"spec.rules[0].matches[0].queryParams[4].value: "[" is not a valid regular expression: expected custom character class members"#,
                #"spec.rules[0].matches[0].queryParams[5].value: a value is required (like "gold"; to match any value, use type RegularExpression and ".*")"#,
                #"spec.rules[0].matches[0].method: "get" is not a method a match can take (expected one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH); did you mean "GET"?"#,
                #"spec.rules[0].matches[1].method: "FETCH" is not a method a match can take (expected one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH)"#,
            ]),
        ("backends", """
            \(httpListener)
            rules:
            - backends:
              - {}
              - {service: {name: a, port: 80}, addresses: [10.2.0.1], port: 80}
              - {service: {name: User_Svc}}
              - {service: {port: 70000}, port: 80}
              - {addresses: [], port: 80}
              - {addresses: [10.2.0.1]}
              - {addresses: [10.2.0.x], port: 0}
              - {service: {name: a, port: 80}, weight: 1000001}
              - {service: {name: 1svc, port: 80}, weight: -1}
            - backends: []
            """, [
                #"spec.rules[0].backends[0]: a backend needs "service" or "addresses""#,
                #"spec.rules[0].backends[1]: a backend has either "service" or "addresses", not both"#,
                #"spec.rules[0].backends[2].service.name: "User_Svc" is not a valid Service name: it must consist of lowercase letters, digits and '-', start with a letter and end with a letter or digit"#,
                "spec.rules[0].backends[2].service.port: a port is required (1-65535)",
                #"spec.rules[0].backends[3].service.name: a Service name is required (like "user-service")"#,
                "spec.rules[0].backends[3].service.port: port 70000 is out of range (1-65535)",
                #"spec.rules[0].backends[3].port: "port" goes with "addresses"; a Service backend uses service.port"#,
                "spec.rules[0].backends[4].addresses: at least 1 address is required",
                #"spec.rules[0].backends[5].port: a port is required with "addresses" (1-65535)"#,
                #"spec.rules[0].backends[6].addresses[0]: "10.2.0.x" is not a valid IP address (expected an address like "10.2.0.10" or "2001:db8::10")"#,
                "spec.rules[0].backends[6].port: a port is required (1-65535)",
                "spec.rules[0].backends[7].weight: weight 1000001 is out of range (0-1000000)",
                #"spec.rules[0].backends[8].service.name: "1svc" is not a valid Service name: it must consist of lowercase letters, digits and '-', start with a letter and end with a letter or digit"#,
                "spec.rules[0].backends[8].weight: weight -1 is out of range (0-1000000)",
                "spec.rules[1].backends: at least 1 backend is required",
            ]),
        ("access-log headers", """
            \(httpListener)
            rules: [{\(oneBackend)}]
            accessLog: {headers: [User-Agent, "Bad Header", user-agent, ""]}
            """, [
                #"spec.accessLog.headers[1]: "Bad Header" is not a valid header name: header names are HTTP tokens (letters, digits and !#$%&'*+-.^_`|~)"#,
                #"spec.accessLog.headers[2]: "user-agent" is already listed at spec.accessLog.headers[0] (header names are case-insensitive)"#,
                #"spec.accessLog.headers[3]: a header name is required (like "User-Agent")"#,
            ]),
        ("source ranges", """
            \(httpListener)
            rules: [{\(oneBackend)}]
            sourceRanges:
              allow: [198.51.100.0/24, 198.51.100.1/24, "2001:db8::/32", 198.51.100.0/24, "", 10.0.0.0/33]
              deny: [10.0.0.1, not-a-cidr]
            """, [
                #"spec.sourceRanges.allow[1]: "198.51.100.1/24" has host bits set; did you mean "198.51.100.0/24"?"#,
                #"spec.sourceRanges.allow[2]: "2001:db8::/32" is IPv6 but the listener address "10.96.0.10" is IPv4; it would never match"#,
                #"spec.sourceRanges.allow[3]: "198.51.100.0/24" is already listed at spec.sourceRanges.allow[0]"#,
                #"spec.sourceRanges.allow[4]: a CIDR is required (like "198.51.100.0/24" or "2001:db8::/32")"#,
                "spec.sourceRanges.allow[5]: prefix length 33 is out of range for IPv4 (0-32)",
                #"spec.sourceRanges.deny[0]: "10.0.0.1" has no prefix length (expected address/length, like "10.0.0.1/32")"#,
                #"spec.sourceRanges.deny[1]: "not-a-cidr" is not a valid CIDR (expected address/length, like "10.0.0.0/8")"#,
            ]),
        ("an empty allow list would refuse everyone; an empty deny list is fine", """
            \(httpListener)
            rules: [{\(oneBackend)}]
            sourceRanges: {allow: [], deny: []}
            """, [#"spec.sourceRanges.allow: an empty allow list would refuse every client; omit "allow" to allow every source"#]),
        ("a rate of 0 and a burst of 0", """
            \(httpListener)
            rules: [{\(oneBackend)}]
            rateLimit: {requestsPerSecond: 0, burst: 0}
            """, [
                "spec.rateLimit.requestsPerSecond: requestsPerSecond is required (1-1000000)",
                "spec.rateLimit.burst: burst 0 is out of range (1-10000000)",
            ]),
        ("a rate and a burst out of range", """
            \(httpListener)
            rules: [{\(oneBackend)}]
            rateLimit: {requestsPerSecond: 1000001, burst: 10000001}
            """, [
                "spec.rateLimit.requestsPerSecond: requestsPerSecond 1000001 is out of range (1-1000000)",
                "spec.rateLimit.burst: burst 10000001 is out of range (1-10000000)",
            ]),
        ("a burst below the rate", """
            \(httpListener)
            rules: [{\(oneBackend)}]
            rateLimit: {requestsPerSecond: 100, burst: 50}
            """, ["spec.rateLimit.burst: burst 50 is below requestsPerSecond 100; the bucket must hold at least one second of requests"]),
        ("interfaces and the node selector", """
            nodeSelector: {matchLabels: {"bad key!": x}}
            interfaces: [eth1, eth1, "a/b"]
            \(httpListener)
            rules: [{\(oneBackend)}]
            """, [
                #"spec.nodeSelector.matchLabels: "bad key!" is not a valid label key: the name part must consist of letters, digits, '-', '_' and '.', and start and end with a letter or digit"#,
                #"spec.interfaces[1]: "eth1" is already listed at spec.interfaces[0]"#,
                #"spec.interfaces[2]: "a/b" contains '/', which Linux interface names cannot contain"#,
            ]),
    ]

    @Test("each rule is checked with an exact message", arguments: cases)
    func validationMessages(description: String, spec: String, expected: [String]) throws {
        let route = try gatewayRoute(gatewayManifest(spec: spec))
        #expect(route.validate().map(\.description) == expected, "\(description)")
    }

    /// Lists one longer than allowed, each reported once at the list.
    @Test("every list has its bound")
    func listBounds() throws {
        func list(_ count: Int, _ item: (Int) -> String) -> String { "[" + (0..<count).map(item).joined(separator: ", ") + "]" }
        let backend = "{service: {name: s, port: 80}}"
        let spec = """
            interfaces: \(list(65) { "eth\($0)" })
            \(httpListener)
            hostnames: \(list(17) { "h\($0).example.com" })
            rules:
            - matches: \(list(9) { "{path: {value: /p\($0)}}" })
              backends: \(list(17) { _ in backend })
            - matches:
              - headers: \(list(17) { "{name: X-H\($0), value: v}" })
                queryParams: \(list(17) { "{name: q\($0), value: v}" })
              backends: [{addresses: \(list(65) { "10.2.0.\($0 + 1)" }), port: 80}]
            accessLog: {headers: \(list(17) { "X-H\($0)" })}
            sourceRanges: {allow: \(list(1001) { "10.\($0 / 256).\($0 % 256).0/24" }), deny: \(list(1001) { "11.\($0 / 256).\($0 % 256).0/24" })}
            """
        let route = try gatewayRoute(gatewayManifest(spec: spec))
        #expect(route.validate().map(\.description) == [
            "spec.interfaces: 65 interfaces are listed; at most 64 are allowed",
            "spec.hostnames: 17 hostnames are listed; at most 16 are allowed",
            "spec.rules[0].matches: 9 matches are listed; at most 8 are allowed",
            "spec.rules[0].backends: 17 backends are listed; at most 16 are allowed",
            "spec.rules[1].matches[0].headers: 17 headers are listed; at most 16 are allowed",
            "spec.rules[1].matches[0].queryParams: 17 query parameters are listed; at most 16 are allowed",
            "spec.rules[1].backends[0].addresses: 65 addresses are listed; at most 64 are allowed",
            "spec.accessLog.headers: 17 headers are listed; at most 16 are allowed",
            "spec.sourceRanges.allow: 1001 ranges are listed; at most 1000 are allowed",
            "spec.sourceRanges.deny: 1001 ranges are listed; at most 1000 are allowed",
        ])

        var rules = route
        rules.spec.rules = Array(repeating: GatewayRule(backends: [GatewayBackend(service: .init(name: "s", port: 80))]), count: 17)
        rules.spec.interfaces = nil
        rules.spec.hostnames = nil
        rules.spec.accessLog = nil
        rules.spec.sourceRanges = nil
        #expect(rules.validate().map(\.description) == ["spec.rules: 17 rules are listed; at most 16 are allowed"])
    }

    @Test("type metadata and the namespace are checked; errors are capped")
    func metadataAndCap() throws {
        var route = try gatewayRoute(Self.designExample)
        route.apiVersion = "routelet.dev/v1"
        route.kind = ""
        route.metadata.namespace = nil
        #expect(route.validate().map(\.description) == [
            #"apiVersion: "routelet.dev/v1" is not supported (expected "routelet.dev/v1alpha1")"#,
            #"kind: kind is required (expected "GatewayRoute")"#,
            #"metadata.namespace: a namespace is required (like "shop")"#,
        ])
        route.metadata.namespace = "Shop.x"
        route.metadata.name = nil
        #expect(route.validate().map(\.description).suffix(2) == [
            #"metadata.name: a name is required (like "edge-1")"#,
            #"metadata.namespace: "Shop.x" is not a valid namespace: it must consist of lowercase letters, digits and '-', and start and end with a letter or digit"#,
        ])
        route = try gatewayRoute(Self.designExample)
        route.spec.hostnames = (0..<10).map { "bad_\($0)" }
        #expect(route.validate(maxErrors: 3).map(\.description).last == "… and 7 more errors")
    }
}
