import Testing
@testable import GatewayConfig

/// Tables of (request -> rule) after the Gateway API conformance suite's
/// HTTPRoute tests, each run through `ListenerRouter` and the linear oracle.
@Suite struct RouterTests {
    // HTTPRouteMatching: one route, path and header matches.
    @Test func pathAndHeaderMatchesOfOneRoutePickTheirRules() {
        let config = listener(route("matching",
            rule(prefix("/"), anyPath(headers: [value("version", "one")])),
            rule(prefix("/v2"), anyPath(headers: [value("version", "two")]))))
        check(config, [
            RoutingCase("root", request("/"), "matching#0"),
            RoutingCase("below root", request("/example"), "matching#0"),
            RoutingCase("header one", request("/", headers: [("Version", "one")]), "matching#0"),
            RoutingCase("/v2", request("/v2"), "matching#1"),
            RoutingCase("below /v2", request("/v2/example"), "matching#1"),
            RoutingCase("header two beats prefix / on header count", request("/", headers: [("Version", "two")]), "matching#1"),
            RoutingCase("/v2example is not below /v2", request("/v2example"), "matching#0"),
        ])
    }

    // HTTPRoutePathMatchOrder.
    @Test func exactBeatsPrefixAndLongerPrefixBeatsShorter() {
        let config = listener(route("order",
            rule(exact("/match")),                                // 0
            rule(exact("/match/exact")),                          // 1
            rule(exact("/match/exact/one")),                      // 2
            rule(prefix("/match/prefix")),                        // 3
            rule(prefix("/match/prefix/one")),                    // 4
            rule(prefix("/match")),                               // 5
            rule(prefix("/", headers: [value("x-a", "1"), value("x-b", "2")], method: "GET"))))   // 6
        check(config, [
            RoutingCase("deepest exact", request("/match/exact/one"), "order#2"),
            RoutingCase("exact", request("/match/exact"), "order#1"),
            RoutingCase("exact beats the prefix of the same path", request("/match"), "order#0"),
            RoutingCase("longest prefix", request("/match/prefix/one/any"), "order#4"),
            RoutingCase("shorter prefix", request("/match/prefix/any"), "order#3"),
            RoutingCase("shortest prefix", request("/match/any"), "order#5"),
            RoutingCase("a longer prefix beats more headers and a method",
                        request("/match/any", headers: [("x-a", "1"), ("x-b", "2")]), "order#5"),
            RoutingCase("root with its headers", request("/other", headers: [("x-a", "1"), ("x-b", "2")]), "order#6"),
            RoutingCase("nothing", request("/other"), "404"),
            RoutingCase("exact does not take a trailing slash", request("/match/exact/"), "order#5"),
        ])
    }

    @Test func pathPrefixMatchesWholeElementsOnly() {
        let config = listener(route("p", rule(prefix("/abc")), rule(prefix("/abc/def/")), rule(prefix("/")),
                                    rule(exact("/x/")), rule(prefix("/CaSe"))))
        check(config, [
            RoutingCase("the prefix itself", request("/abc"), "p#0"),
            RoutingCase("with a trailing slash", request("/abc/"), "p#0"),
            RoutingCase("below", request("/abc/xyz"), "p#0"),
            RoutingCase("/abcd is not below /abc", request("/abcd"), "p#2"),
            RoutingCase("trailing slash of the value ignored", request("/abc/def"), "p#1"),
            RoutingCase("below the slash-ended value", request("/abc/def/ghi"), "p#1"),
            RoutingCase("/abc/defg is not below /abc/def/", request("/abc/defg"), "p#0"),
            RoutingCase("query is not part of the path", request("/abc?x=/abc/def"), "p#0"),
            RoutingCase("query right after the prefix", request("/abc/def?q"), "p#1"),
            RoutingCase("fragment dropped", request("/abc/def#frag"), "p#1"),
            RoutingCase("exact with trailing slash", request("/x/"), "p#3"),
            RoutingCase("exact without its trailing slash", request("/x"), "p#2"),
            RoutingCase("paths are case-sensitive", request("/case"), "p#2"),
            RoutingCase("double slash is an empty element", request("/abc//def"), "p#0"),
            RoutingCase("empty target", request(""), "p#2"),
            RoutingCase("asterisk form", request("*", method: "OPTIONS"), "p#2"),
        ])
    }

    @Test func absoluteFormTargetsRouteByTheirPathAndAuthority() {
        let config = listener(route("a", hostnames: ["api.example.com"], rule(prefix("/v1"))), route("b", rule(prefix("/"))))
        check(config, [
            RoutingCase("absolute form, its authority is the host", request("http://API.example.com:8080/v1/x?y=1", host: "other"), "a#0"),
            RoutingCase("absolute form without path", request("http://api.example.com", host: nil), "b#0"),
            RoutingCase("absolute form with user info", request("https://user:pw@api.example.com/v1", host: nil), "a#0"),
            RoutingCase("another authority", request("http://other.example.com/v1", host: "api.example.com"), "b#0"),
        ])
    }

    // HTTPRouteMatchingAcrossRoutes.
    @Test func rulesOfRoutesWithMatchingHostnamesCompeteOnTheirMatches() {
        let config = listener(
            route("part1", hostnames: ["example.com", "example.net"], rule(prefix("/"), anyPath(headers: [value("version", "one")]))),
            route("part2", hostnames: ["*.com"], rule(prefix("/v2"), anyPath(headers: [value("version", "two")]))))
        check(config, [
            RoutingCase("root", request("/", host: "example.com"), "part1#0"),
            RoutingCase("below root", request("/example", host: "example.com"), "part1#0"),
            RoutingCase("other exact host", request("/example", host: "example.net"), "part1#0"),
            RoutingCase("header one", request("/example", host: "example.com", headers: [("Version", "one")]), "part1#0"),
            RoutingCase("wildcard route's longer prefix beats the exact host's /", request("/v2", host: "example.com"), "part2#0"),
            RoutingCase("*.com does not take example.net", request("/v2", host: "example.net"), "part1#0"),
            RoutingCase("below /v2", request("/v2/example", host: "example.com"), "part2#0"),
            RoutingCase("wildcard route's header beats the exact host's /", request("/", host: "example.com", headers: [("Version", "two")]), "part2#0"),
        ])
    }

    @Test func theMoreSpecificHostnameWinsBetweenOtherwiseEqualRules() {
        let config = listener(
            route("any", createdAt: "2020-01-01T00:00:00Z", rule(prefix("/"))),
            route("short", createdAt: "2021-01-01T00:00:00Z", hostnames: ["*.com"], rule(prefix("/"))),
            route("wild", createdAt: "2022-01-01T00:00:00Z", hostnames: ["*.example.com"], rule(prefix("/"))),
            route("exact", createdAt: "2023-01-01T00:00:00Z", hostnames: ["a.example.com"], rule(prefix("/")), rule(prefix("/e"))),
            route("both", createdAt: "2024-01-01T00:00:00Z", hostnames: ["*.b.example.com", "x.b.example.com"], rule(prefix("/"))))
        check(config, [
            RoutingCase("exact over the older wildcards and catch-all", request("/", host: "a.example.com"), "exact#0"),
            RoutingCase("longer wildcard over shorter", request("/", host: "c.example.com"), "wild#0"),
            RoutingCase("wildcard matches several labels", request("/", host: "x.y.example.com"), "wild#0"),
            RoutingCase("longer wildcard, several labels", request("/", host: "z.b.example.com"), "both#0"),
            RoutingCase("a route's exact name counts over its own wildcard", request("/", host: "x.b.example.com"), "both#0"),
            RoutingCase("*.example.com does not take example.com", request("/", host: "example.com"), "short#0"),
            RoutingCase("*.com takes example.com", request("/x", host: "example.com"), "short#0"),
            RoutingCase("catch-all", request("/", host: "example.org"), "any#0"),
            RoutingCase("no host", request("/", host: nil), "any#0"),
            RoutingCase("uppercase host", request("/e", host: "A.EXAMPLE.COM"), "exact#1"),
            RoutingCase("port ignored", request("/e", host: "a.example.com:8443"), "exact#1"),
            RoutingCase("trailing dot ignored", request("/e", host: "a.example.com."), "exact#1"),
            RoutingCase("all three", request("/e", host: "A.Example.Com.:80"), "exact#1"),
            RoutingCase("IPv6 literal", request("/", host: "[::1]:80"), "any#0"),
            RoutingCase("IPv6 literal without port", request("/", host: "[2001:db8::1]"), "any#0"),
            RoutingCase("IPv4", request("/", host: "10.0.0.1:80"), "any#0"),
            RoutingCase("a dot in front is no label", request("/", host: ".example.com"), "short#0"),
        ])
    }

    // HTTPRouteHostnameIntersection, as far as route hostnames go (the
    // listener has no hostname of its own).
    @Test func aRequestReachesOnlyRoutesWhoseHostnamesItMatches() {
        let config = listener(
            route("s1", hostnames: ["non.matching.com", "*.nonmatchingwildcard.io", "very.specific.com"], rule(prefix("/s1"))),
            route("s2", hostnames: ["non.matching.com", "foo.wildcard.io", "bar.wildcard.io", "foo.bar.wildcard.io"], rule(prefix("/s2"))),
            route("s3", hostnames: ["non.matching.com", "*.specific.com"], rule(prefix("/s3"))),
            route("s4", hostnames: ["*.anotherwildcard.io"], rule(prefix("/s4"))))
        check(config, [
            RoutingCase("specific", request("/s1", host: "very.specific.com"), "s1#0"),
            RoutingCase("specific with port", request("/s1", host: "very.specific.com:1234"), "s1#0"),
            RoutingCase("other path", request("/non-matching-prefix", host: "very.specific.com"), "404"),
            RoutingCase("other exact name", request("/s2", host: "foo.wildcard.io"), "s2#0"),
            RoutingCase("three labels", request("/s2", host: "foo.bar.wildcard.io"), "s2#0"),
            RoutingCase("not listed", request("/s2", host: "wildcard.io"), "404"),
            RoutingCase("wildcard route under an exact host's name", request("/s3", host: "very.specific.com"), "s3#0"),
            RoutingCase("wildcard route, other host", request("/s3", host: "foo.specific.com"), "s3#0"),
            RoutingCase("wildcard route, wrong host", request("/s3", host: "foo.wildcard.io"), "404"),
            RoutingCase("wildcard", request("/s4", host: "foo.bar.anotherwildcard.io"), "s4#0"),
            RoutingCase("wildcard needs a label in front", request("/s4", host: "anotherwildcard.io"), "404"),
            RoutingCase("no host reaches no route with hostnames", request("/s1", host: nil), "404"),
        ])
    }

    @Test func hostnameFirstPrecedenceFallsThroughToLessSpecificHostnames() {
        let config = listener(
            route("part1", hostnames: ["example.com"], rule(prefix("/"))),
            route("part2", hostnames: ["*.com"], rule(prefix("/v2"))),
            route("exact", hostnames: ["only.example.com"], rule(prefix("/only"))),
            route("any", rule(prefix("/"))))
        check(config, [
            RoutingCase("the exact host's rules first", request("/v2", host: "example.com"), "part1#0"),
            RoutingCase("falls through to the wildcard", request("/v2", host: "only.example.com"), "part2#0"),
            RoutingCase("falls through to the catch-all", request("/x", host: "only.example.com"), "any#0"),
            RoutingCase("its own rule", request("/only", host: "only.example.com"), "exact#0"),
        ], hostnamePrecedence: .first)
    }

    // HTTPRouteHeaderMatching.
    @Test func headerMatchesCountAndTieOnRuleOrder() {
        let config = listener(route("header-matching",
            rule(anyPath(headers: [value("version", "one")])),
            rule(anyPath(headers: [value("version", "two")])),
            rule(anyPath(headers: [value("version", "two"), value("color", "orange")])),
            rule(anyPath(headers: [value("color", "blue")]), anyPath(headers: [value("color", "green")])),
            rule(anyPath(headers: [value("color", "red")]), anyPath(headers: [value("color", "yellow")])),
            rule(anyPath(headers: [value("x-re", "v[0-9]+", regex: true)])),
            rule(anyPath(headers: [value("x-list", "a,b")]))))
        check(config, [
            RoutingCase("one", request("/", headers: [("Version", "one")]), "header-matching#0"),
            RoutingCase("two", request("/", headers: [("Version", "two")]), "header-matching#1"),
            RoutingCase("two headers beat one", request("/", headers: [("Version", "two"), ("Color", "orange")]), "header-matching#2"),
            RoutingCase("a tie goes to the earlier rule", request("/", headers: [("Version", "two"), ("Color", "blue")]), "header-matching#1"),
            RoutingCase("orange alone is half a match", request("/", headers: [("Color", "orange")]), "404"),
            RoutingCase("another header", request("/", headers: [("Some-Other-Header", "one")]), "404"),
            RoutingCase("first match of a rule", request("/", headers: [("Color", "blue")]), "header-matching#3"),
            RoutingCase("second match of a rule", request("/", headers: [("Color", "green")]), "header-matching#3"),
            RoutingCase("red", request("/", headers: [("Color", "red")]), "header-matching#4"),
            RoutingCase("yellow", request("/", headers: [("Color", "yellow")]), "header-matching#4"),
            RoutingCase("purple", request("/", headers: [("Color", "purple")]), "404"),
            RoutingCase("values are case-sensitive", request("/", headers: [("Version", "ONE")]), "404"),
            RoutingCase("names are not", request("/", headers: [("VERSION", "one")]), "header-matching#0"),
            RoutingCase("regex on the whole value", request("/", headers: [("X-Re", "v12")]), "header-matching#5"),
            RoutingCase("regex not on part of it", request("/", headers: [("X-Re", "xv12")]), "404"),
            RoutingCase("repeated headers are joined with a comma", request("/", headers: [("x-list", "a"), ("x-list", "b")]), "header-matching#6"),
            RoutingCase("a repeated header is not one of its values", request("/", headers: [("version", "one"), ("version", "two")]), "404"),
        ])
    }

    @Test func ofSeveralConditionsOnOneNameOnlyTheFirstCounts() {
        let config = listener(route("dup",
            rule(anyPath(headers: [value("x-a", "1"), value("X-A", "2")], query: [value("q", "1"), value("q", "2")])),
            rule(anyPath(headers: [value("x-b", "1")], query: [value("r", "1")]))))
        check(config, [
            RoutingCase("first header and query conditions", request("/?q=1", headers: [("x-a", "1")]), "dup#0"),
            RoutingCase("the second is ignored", request("/?q=2", headers: [("x-a", "2")]), "404"),
            RoutingCase("one condition each, tie on rule order", request("/?q=1&r=1", headers: [("x-a", "1"), ("x-b", "1")]), "dup#0"),
        ])
    }

    // HTTPRouteQueryParamMatching.
    @Test func queryParametersMatchByCaseSensitiveNameAndFirstValue() {
        let config = listener(route("query",
            rule(anyPath(query: [value("animal", "whale")])),                                            // 0
            rule(anyPath(query: [value("animal", "dolphin")])),                                          // 1
            rule(anyPath(query: [value("animal", "dolphin"), value("color", "blue")]),
                 anyPath(query: [value("ANIMAL", "Whale")])),                                            // 2
            rule(prefix("/path1", query: [value("animal", "whale")])),                                    // 3
            rule(anyPath(headers: [value("version", "one")], query: [value("animal", "whale")])),         // 4
            rule(prefix("/path2", headers: [value("version", "two")], query: [value("animal", "whale")])), // 5
            rule(prefix("/path3", query: [value("animal", "shark")]),
                 prefix("/path4", headers: [value("version", "three")], query: [value("animal", "kraken")])), // 6
            rule(prefix("/path5")),                                                                     // 7
            rule(anyPath(query: [value("animal", "hydra")])),                                            // 8
            rule(anyPath(headers: [value("version", "four")], query: [value("animal", "hydra")])),        // 9
            rule(anyPath(query: [value("re", "[a-z]+ [0-9]", regex: true)])),                             // 10
            rule(anyPath(query: [value("empty", "")]))))                                                 // 11
        check(config, [
            RoutingCase("whale", request("/?animal=whale"), "query#0"),
            RoutingCase("dolphin", request("/?animal=dolphin"), "query#1"),
            RoutingCase("two parameters beat one", request("/?animal=dolphin&color=blue"), "query#2"),
            RoutingCase("names are case-sensitive", request("/?ANIMAL=Whale"), "query#2"),
            RoutingCase("other parameters ignored", request("/?animal=whale&otherparam=irrelevant"), "query#0"),
            RoutingCase("half of a two-parameter match", request("/?animal=dolphin&color=yellow"), "query#1"),
            RoutingCase("only the second parameter", request("/?color=blue"), "404"),
            RoutingCase("other value", request("/?animal=dog"), "404"),
            RoutingCase("values compared whole", request("/?animal=whaledolphin"), "404"),
            RoutingCase("no query", request("/"), "404"),
            RoutingCase("path and query", request("/path1?animal=whale"), "query#3"),
            RoutingCase("header and query", request("/?animal=whale", headers: [("version", "one")]), "query#4"),
            RoutingCase("path, header and query", request("/path2?animal=whale", headers: [("version", "two")]), "query#5"),
            RoutingCase("first match of an OR", request("/path3?animal=shark"), "query#6"),
            RoutingCase("second match of an OR", request("/path4?animal=kraken", headers: [("version", "three")]), "query#6"),
            RoutingCase("AND needs the path", request("/?animal=shark"), "404"),
            RoutingCase("AND needs the header", request("/path4?animal=kraken"), "404"),
            RoutingCase("a longer path beats a query", request("/path5?animal=hydra"), "query#7"),
            RoutingCase("a header beats a query", request("/?animal=hydra", headers: [("version", "four")]), "query#9"),
            RoutingCase("the first of repeated parameters counts", request("/?animal=whale&animal=dolphin"), "query#0"),
            RoutingCase("the first, the other way round", request("/?animal=dolphin&animal=whale"), "query#1"),
            RoutingCase("values are percent-decoded", request("/?animal=wh%61le"), "query#0"),
            RoutingCase("names are percent-decoded", request("/?%61nimal=whale"), "query#0"),
            RoutingCase("'+' is a space", request("/?re=abc+1"), "query#10"),
            RoutingCase("%20 is a space", request("/?re=abc%201"), "query#10"),
            RoutingCase("a name without '=' has the empty value", request("/?empty"), "query#11"),
            RoutingCase("a name with '=' and nothing", request("/?x=1&empty="), "query#11"),
            RoutingCase("a broken escape stands for itself", request("/?animal=%zzwhale"), "404"),
            RoutingCase("fragment is not query", request("/?animal=whale#x"), "query#0"),
        ])
    }

    // HTTPRouteMethodMatching.
    @Test func aMethodMatchRanksAboveHeadersAndBelowThePath() {
        let config = listener(route("method",
            rule(anyPath(method: "POST")),                                                               // 0
            rule(anyPath(method: "GET")),                                                                // 1
            rule(prefix("/path1", method: "GET")),                                                       // 2
            rule(anyPath(headers: [value("version", "one")], method: "PUT")),                            // 3
            rule(prefix("/path2", headers: [value("version", "two")], method: "POST")),                  // 4
            rule(prefix("/path3", method: "PATCH"), prefix("/path4", headers: [value("version", "three")], method: "DELETE")), // 5
            rule(prefix("/path5")),                                                                      // 6
            rule(anyPath(method: "PATCH")),                                                              // 7
            rule(anyPath(headers: [value("version", "four")]))))                                         // 8
        check(config, [
            RoutingCase("POST", request("/", method: "POST"), "method#0"),
            RoutingCase("GET", request("/", method: "GET"), "method#1"),
            RoutingCase("HEAD", request("/", method: "HEAD"), "404"),
            RoutingCase("methods are case-sensitive", request("/", method: "get"), "404"),
            RoutingCase("path and method", request("/path1", method: "GET"), "method#2"),
            RoutingCase("header and method", request("/", method: "PUT", headers: [("version", "one")]), "method#3"),
            RoutingCase("path, header and method", request("/path2", method: "POST", headers: [("version", "two")]), "method#4"),
            RoutingCase("first of an OR", request("/path3", method: "PATCH"), "method#5"),
            RoutingCase("second of an OR", request("/path4", method: "DELETE", headers: [("version", "three")]), "method#5"),
            RoutingCase("AND needs the header", request("/", method: "PUT"), "404"),
            RoutingCase("AND needs the header, too", request("/path4", method: "DELETE"), "404"),
            RoutingCase("a longer path beats a method", request("/path5", method: "PATCH"), "method#6"),
            RoutingCase("a method beats a header", request("/", method: "PATCH", headers: [("version", "four")]), "method#7"),
        ])
    }

    @Test func regularExpressionsRankBelowEveryPrefix() {
        let config = listener(route("re",
            rule(regex("/api/v[0-9]+/.*", headers: [value("a", "1"), value("b", "2")], method: "GET")),  // 0
            rule(prefix("/api")),                                                                       // 1
            rule(regex("/img/.*\\.png")),                                                                // 2
            rule(regex("/img/[a-z]+\\.png", method: "GET")),                                             // 3
            rule(exact("/img/x.png"))))                                                                  // 4
        check(config, [
            RoutingCase("a prefix beats a regex with more of everything else",
                        request("/api/v1/users", headers: [("a", "1"), ("b", "2")]), "re#1"),
            RoutingCase("regex when no prefix matches", request("/img/a/b.png"), "re#2"),
            RoutingCase("between regexes: method first", request("/img/logo.png"), "re#3"),
            RoutingCase("the whole path must match", request("/img/logo.png.txt"), "404"),
            RoutingCase("the query is not part of it", request("/img/a/b.png?size=2"), "re#2"),
            RoutingCase("exact beats a regex", request("/img/x.png"), "re#4"),
            RoutingCase("method does not hold", request("/img/logo.png", method: "POST"), "re#2"),
        ])
    }

    @Test func tiesGoToTheOldestRouteThenNamespaceAndNameThenRuleOrder() {
        let config = listener(
            route("young", namespace: "a", createdAt: "2025-03-01T00:00:00Z", rule(prefix("/t"))),
            route("old", namespace: "z", createdAt: "2024-01-01T00:00:00Z", rule(prefix("/t"))),
            route("b", namespace: "same", createdAt: "2023-01-01T00:00:00Z", rule(prefix("/n"))),
            route("a", namespace: "same", createdAt: "2023-01-01T00:00:00Z", rule(prefix("/n"))),
            route("rules", createdAt: "2022-01-01T00:00:00Z",
                  rule(prefix("/r", headers: [value("x", "1")])), rule(prefix("/r", headers: [value("y", "1")])),
                  rule(prefix("/r", headers: [value("x", "1"), value("y", "1")]))),
            route("x", namespace: "ns-a", createdAt: "2023-01-01T00:00:00Z", rule(prefix("/slash"))),
            route("x", namespace: "ns", createdAt: "2023-01-01T00:00:00Z", rule(prefix("/slash"))))
        check(config, [
            RoutingCase("the older route, whatever its namespace", request("/t"), "old#0"),
            RoutingCase("same age: namespace/name", request("/n"), "a#0"),
            RoutingCase("same route: the earlier rule", request("/r", headers: [("x", "1"), ("y", "1"), ("z", "1")]), "rules#2"),
            RoutingCase("same route, same counts: the earlier rule", request("/r", headers: [("x", "1"), ("y", "2")]), "rules#0"),
            RoutingCase("later rule when the earlier does not hold", request("/r", headers: [("y", "1")]), "rules#1"),
        ])
        // "ns-a/x" < "ns/x" as text ('-' sorts before '/'), as the Gateway API compares "{namespace}/{name}".
        let router = ListenerRouter(listener: config)
        guard case .matched(let rule) = router.route(request("/slash")) else { Issue.record("no match for /slash"); return }
        #expect(rule.namespace == "ns-a")
    }

    @Test func aRuleWithoutMatchesTakesEveryRequestAsPrefixSlash() {
        let config = listener(route("catch", rule()), route("api", createdAt: "2026-01-01T00:00:00Z", rule(prefix("/api"))))
        check(config, [
            RoutingCase("anything", request("/whatever?x=1", method: "DELETE"), "catch#0"),
            RoutingCase("a longer prefix still wins", request("/api/x"), "api#0"),
            RoutingCase("no host", request("/", host: nil), "catch#0"),
        ])
    }

    @Test func aBadRegularExpressionIsReportedAndTheRestStillRoutes() {
        let config = listener(route("bad",
            rule(regex("/a(["), prefix("/fine")),
            rule(anyPath(headers: [value("x", "(", regex: true)])),
            rule(HTTPRequestMatch(path: .init(type: "Glob", value: "/g*"))),
            rule(anyPath(query: [value("q", "[", regex: true)])),
            rule(prefix("/ok"))))
        let router = ListenerRouter(listener: config)
        let problems = router.problems.map { "\($0.namespace)/\($0.name) rules[\($0.ruleIndex)] \($0.message)" }
        #expect(router.problems.allSatisfy { $0.namespace == "gw" && $0.name == "bad" })
        #expect(router.problems.map(\.ruleIndex) == [0, 1, 1, 2, 2, 3, 3], "\(problems)")
        guard problems.count == 7 else { return }
        #expect(problems[0].contains("matches[0].path") && problems[0].contains("does not compile"), "\(problems[0])")
        #expect(problems[1].contains("matches[0].headers[0]"), "\(problems[1])")
        #expect(problems[2].contains("takes no request"), "\(problems[2])")
        #expect(problems[3].contains("Glob"), "\(problems[3])")
        check(config, [
            RoutingCase("the rule's other match", request("/fine/x"), "bad#0"),
            RoutingCase("the dropped regex takes nothing", request("/a(["), "404"),
            RoutingCase("a rule whose only match was dropped takes nothing", request("/", headers: [("x", "(")]), "404"),
            RoutingCase("the last rule", request("/ok"), "bad#4"),
        ])
    }
}
