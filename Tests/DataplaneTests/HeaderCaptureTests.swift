import CRouteletABI
import DataplaneModel
import Foundation
@testable import Dataplane
import NetAddress
import NetLab
import Testing

private let TC_ACT_REDIRECT: Int32 = 7

/// What the capture parser (bpf/lib/capture.h) should make of a segment,
/// written again the obvious way: the record, or nil for none.
struct ReferenceCapture: Equatable, CustomStringConvertible {
    var method: String
    var path: [UInt8]
    var version: UInt8
    var pathCut: Bool
    var headersCut: Bool
    /// Listed header index -> (value, cut).
    var values: [Int: ([UInt8], Bool)]

    static func == (lhs: ReferenceCapture, rhs: ReferenceCapture) -> Bool {
        lhs.method == rhs.method && lhs.path == rhs.path && lhs.version == rhs.version && lhs.pathCut == rhs.pathCut
            && lhs.headersCut == rhs.headersCut && lhs.values.mapValues { $0.0 } == rhs.values.mapValues { $0.0 }
            && lhs.values.mapValues { $0.1 } == rhs.values.mapValues { $0.1 }
    }

    var description: String {
        "\(method) \(String(decoding: path, as: UTF8.self)) 1.\(version) cut \(pathCut)/\(headersCut) "
            + values.sorted { $0.key < $1.key }.map { "\($0.key)=\(String(decoding: $0.value.0, as: UTF8.self))\($0.value.1 ? "…" : "")" }.joined(separator: " ")
    }

    init(_ record: CaptureRecord) {
        method = String(decoding: record.method, as: UTF8.self)
        path = record.path
        version = record.version
        pathCut = record.isPathCut
        headersCut = record.isHeaderSectionCut
        values = Dictionary(uniqueKeysWithValues: record.values.map { ($0.index, ($0.bytes, $0.isCut)) })
    }

    private init(method: String, path: [UInt8], version: UInt8, pathCut: Bool, headersCut: Bool, values: [Int: ([UInt8], Bool)]) {
        self.method = method
        self.path = path
        self.version = version
        self.pathCut = pathCut
        self.headersCut = headersCut
        self.values = values
    }

    static func isTchar(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || Array("!#$%&'*+-.^_`|~".utf8).contains(c)
    }

    /// The record for `segment` with `names` listed, or nil.
    static func parse(_ segment: [UInt8], names: [String]) -> ReferenceCapture? {
        let bytes = Array(segment.prefix(Int(RL_CAPTURE_SCAN)))
        var i = 0
        func at(_ index: Int) -> UInt8? { index < bytes.count ? bytes[index] : nil }
        // Request line.
        while let c = at(i), (c >= 0x41 && c <= 0x5a) || c == 0x2d || c == 0x5f { i += 1 }
        guard i > 0, i < Int(RL_CAPTURE_METHOD_LEN), at(i) == 0x20 else { return nil }
        let method = String(decoding: bytes[0..<i], as: UTF8.self)
        i += 1
        let targetStart = i
        while let c = at(i), c > 0x20, c < 0x7f { i += 1 }
        guard i > targetStart, at(i) == 0x20 else { return nil }
        let target = Array(bytes[targetStart..<i])
        i += 1
        guard i + 10 <= bytes.count, Array(bytes[i..<(i + 7)]) == Array("HTTP/1.".utf8), (0x30...0x39).contains(bytes[i + 7]),
              bytes[i + 8] == 0x0d, bytes[i + 9] == 0x0a else { return nil }
        let version = bytes[i + 7] - 0x30
        i += 10
        var result = ReferenceCapture(method: method, path: Array(target.prefix(Int(RL_CAPTURE_PATH_LEN))), version: version,
                                      pathCut: target.count > Int(RL_CAPTURE_PATH_LEN), headersCut: true, values: [:])
        let lowered = names.map { $0.lowercased() }
        // Header lines.
        while true {
            guard let first = at(i) else { return result }
            if first == 0x0d {
                result.headersCut = at(i + 1) != 0x0a
                return result
            }
            guard isTchar(first) else { return result }
            let nameStart = i
            while let c = at(i), isTchar(c) { i += 1 }
            guard at(i) == 0x3a else { return result }
            let name = String(decoding: bytes[nameStart..<i], as: UTF8.self).lowercased()
            i += 1
            while let c = at(i), c == 0x20 || c == 0x09 { i += 1 }
            let valueStart = i
            while let c = at(i), c != 0x0d {
                guard c >= 0x20 || c == 0x09, c != 0x7f else { return result }
                i += 1
            }
            guard at(i) == 0x0d else { return result }   // the segment ended inside the value
            var value = Array(bytes[valueStart..<i])
            while let last = value.last, last == 0x20 || last == 0x09 { value.removeLast() }
            if let index = lowered.firstIndex(of: name), result.values[index] == nil {
                result.values[index] = (Array(value.prefix(Int(RL_CAPTURE_VALUE_LEN))), value.count > Int(RL_CAPTURE_VALUE_LEN))
            }
            i += 1
            guard at(i) == 0x0a else { return result }
            i += 1
        }
    }
}

extension GatewayProgramTests {
    /// A TCP listener with header capture of `names`: for each segment a new
    /// flow (SYN, then the segment as its first data), then the ring read.
    /// Returns each segment's record (nil: none) and the listener's counter.
    func captured(_ segments: [[UInt8]], names: [String], dataplane: Dataplane, front: UInt32,
                  listenerID: UInt32 = 5, firstPort: UInt16 = 20000) throws -> (records: [CaptureRecord?], counter: CaptureCounter) {
        let gateway = dataplane.gateway
        let key = ListenerKey(address: IPAddress(vip)!, port: 80, proto: .tcp)
        if try gateway.allListeners()[key] == nil {
            let ids = try setBackends(gateway, backends, snat: node)
            try gateway.setMaglev(listenerID: listenerID, slots: (0..<251).map { ids[$0 % 3] })
            try gateway.resetListenerCounter(listenerID)
        }
        try gateway.setCaptureNames(listenerID: listenerID, CaptureNames(names))
        try gateway.setListener(key, ListenerEntry(id: listenerID, snat: true, maglevSize: 251, idleTimeoutSeconds: 3600, capture: true))
        let ring = try gateway.openCaptureRing()
        var ports: [UInt16] = []
        for (index, segment) in segments.enumerated() {
            let port = firstPort + UInt16(index)
            ports.append(port)
            #expect(try dataplane.testRun(packet: tcp(client, port, to: vip, 80), ingressIfindex: front).verdict == TC_ACT_REDIRECT)
            #expect(try dataplane.testRun(packet: dataSegment(client, port, to: vip, segment), ingressIfindex: front).verdict
                    == TC_ACT_REDIRECT)
        }
        var records: [CaptureRecord] = []
        while try ring.poll(timeoutMilliseconds: 0, { records.append($0) }) > 0 {}
        let byPort = Dictionary(records.map { ($0.clientPort, $0) }, uniquingKeysWith: { first, _ in first })
        return (ports.map { byPort[$0] }, try gateway.captureCounter(listenerID))
    }

    private func request(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// A data segment (PSH, ACK) of the flow from `from`:`port` to port 80.
    func dataSegment(_ from: String, _ port: UInt16, to: String, _ payload: [UInt8]) -> [UInt8] {
        tcp(from, port, to: to, 80, flags: 0x18, payload: payload)
    }

    @Test func theCaptureParserFindsTheListedHeadersInAnyCaseAndOrderAndNothingInWhatIsNotHTTP() throws {
        let names = ["X-User-Role", "X-Region", "User-Agent"]
        let long = String(repeating: "v", count: 300)
        let longPath = "/" + String(repeating: "p", count: 300)
        let cases: [(String, [UInt8])] = [
            ("headers in any case and order",
             request("GET /api/v1/users?id=42 HTTP/1.1\r\nHost: shop\r\nuser-AGENT: curl/8.1\r\nX-REGION:   eu-west \t\r\nx-user-role: admin\r\n\r\n")),
            ("one header absent", request("POST /orders HTTP/1.0\r\nX-Region: us\r\nContent-Length: 0\r\n\r\n")),
            ("a value and a target longer than kept", request("GET \(longPath) HTTP/1.1\r\nX-User-Role: \(long)\r\n\r\n")),
            ("split after the request line", request("PUT /upload HTTP/1.1\r\n")),
            ("split inside a header", request("GET / HTTP/1.1\r\nX-Region: e")),
            ("a repeated header: the first", request("GET / HTTP/1.1\r\nX-Region: a\r\nX-Region: b\r\n\r\n")),
            ("an empty value", request("GET / HTTP/1.1\r\nX-Region:\r\n\r\n")),
            ("not HTTP: TLS", [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03] + Array(repeating: 0x41, count: 40)),
            ("not HTTP: binary with CRLF", [0x00, 0xff, 0x0d, 0x0a, 0x47, 0x45, 0x54, 0x20, 0x2f, 0x0d, 0x0a, 0x0d, 0x0a]),
            ("not HTTP: lowercase method", request("get / HTTP/1.1\r\n\r\n")),
            ("not HTTP: HTTP/2 preface", request("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")),
        ]
        try withGateway { dataplane, front, _ in
            let (records, counter) = try captured(cases.map(\.1), names: names, dataplane: dataplane, front: front)
            for ((what, segment), record) in zip(cases, records) {
                let expected = ReferenceCapture.parse(segment, names: names)
                #expect(record.map(ReferenceCapture.init) == expected, "\(what): \(record.map { "\(ReferenceCapture($0))" } ?? "none") vs \(expected.map { "\($0)" } ?? "none")")
            }
            // Spot checks of the reference itself on the first cases.
            let first = try #require(records[0])
            #expect(String(decoding: first.method, as: UTF8.self) == "GET" && String(decoding: first.path, as: UTF8.self) == "/api/v1/users?id=42")
            #expect(first.values.map { String(decoding: $0.bytes, as: UTF8.self) } == ["admin", "eu-west", "curl/8.1"])
            #expect(first.namesDigest == CaptureNames(names).digest && first.client == IPAddress(client))
            let cut = try #require(records[2])
            #expect(cut.path.count == 256 && cut.isPathCut && cut.values.first?.bytes.count == 128 && cut.values.first?.isCut == true)
            #expect(records[3]?.isHeaderSectionCut == true && records[3]?.values.isEmpty == true)
            #expect(records[5]?.values.map(\.bytes) == [Array("a".utf8)])
            #expect(records[7...].allSatisfy { $0 == nil })
            #expect(counter == CaptureCounter(records: 7, lost: 0, unparsed: 4), "\(counter)")
        }
    }

    @Test func randomSegmentsGiveTheRightRecordOrNone() throws {
        let seed = SplitMix64.seed(for: "randomSegmentsGiveTheRightRecordOrNone", variable: "CAPTURE_FUZZ_SEED")
        var random = SplitMix64(seed: seed)
        let names = ["X-A", "Accept", "X-Long-Header-Name"]
        let valid = Array("GET /a/b?c=d HTTP/1.1\r\nHost: h\r\nX-A: 1 2 3\r\naccept: */*\r\nx-long-header-name:\tv\r\n\r\n".utf8)
        var segments: [[UInt8]] = []
        for index in 0..<100 {
            switch index % 4 {
            case 0:  // random bytes
                segments.append((0..<random.int(in: 1...300)).map { _ in UInt8(random.int(in: 0...255)) })
            case 1:  // random printable bytes with CRLFs
                let alphabet = Array("GET /HTP1.:\r\n aA-x".utf8)
                segments.append((0..<random.int(in: 1...200)).map { _ in alphabet[random.int(in: 0...(alphabet.count - 1))] })
            case 2:  // a valid request with bytes flipped
                var bytes = valid
                for _ in 0..<random.int(in: 1...4) { bytes[random.int(in: 0...(bytes.count - 1))] = UInt8(random.int(in: 0...255)) }
                segments.append(bytes)
            default:  // a valid request cut anywhere, then random bytes
                segments.append(Array(valid.prefix(random.int(in: 1...valid.count)))
                    + (0..<random.int(in: 0...20)).map { _ in UInt8(random.int(in: 0...255)) })
            }
        }
        try withGateway { dataplane, front, _ in
            let (records, counter) = try captured(segments, names: names, dataplane: dataplane, front: front)
            var mismatches = 0
            for (segment, record) in zip(segments, records) {
                let expected = ReferenceCapture.parse(segment, names: names)
                if record.map(ReferenceCapture.init) != expected { mismatches += 1 }
                #expect(record.map(ReferenceCapture.init) == expected,
                        "seed \(seed): \(segment) gave \(record.map { "\(ReferenceCapture($0))" } ?? "none"), expected \(expected.map { "\($0)" } ?? "none")")
            }
            let expectedRecords = UInt64(segments.filter { ReferenceCapture.parse($0, names: names) != nil }.count)
            #expect(counter.records == expectedRecords && counter.unparsed == 100 - expectedRecords, "seed \(seed): \(counter)")
            #expect(expectedRecords > 10, "the mix exercises records too (seed \(seed))")
        }
    }

    /// The parser takes runs of plain bytes a word at a time: requests whose
    /// targets, names and values end at every offset of a word and around
    /// the cuts (256, 128), with blanks, high bytes and odd name characters
    /// in them, against the reference.
    @Test func requestsOfEveryRunLengthGiveTheRightRecord() throws {
        let seed = SplitMix64.seed(for: "requestsOfEveryRunLengthGiveTheRightRecord", variable: "CAPTURE_FUZZ_SEED")
        var random = SplitMix64(seed: seed)
        let names = ["X-A", "Accept", "X-Long-Header-Name"]
        func text(_ count: Int, _ alphabet: [UInt8]) -> [UInt8] {
            (0..<count).map { _ in alphabet[random.int(in: 0...(alphabet.count - 1))] }
        }
        let plain = Array("abcxyzABCXYZ0189-._~/?=&%!*+".utf8)
        let valueBytes = plain + Array("  \t".utf8) + [0x80, 0xc3, 0xa9, 0xff]
        let nameBytes = Array("aAxX-09".utf8) + Array("_!#$%&'*+.^`|~".utf8)
        var segments: [[UInt8]] = []
        for index in 0..<120 {
            // Targets of every length mod 8, and around the cut at 256.
            let targetLength = index < 40 ? 1 + index : random.int(in: 240...270)
            var bytes = Array("GET ".utf8) + text(targetLength, plain) + Array(" HTTP/1.1\r\n".utf8)
            for _ in 0..<random.int(in: 0...5) {
                let name: [UInt8]
                switch random.int(in: 0...3) {
                case 0: name = Array(names[random.int(in: 0...2)].utf8).map { random.int(in: 0...1) == 0 ? $0 : ($0 | 0x20) }
                case 1: name = text(random.int(in: 1...20), nameBytes)
                default: name = text(random.int(in: 1...20), Array("aAxX-09".utf8))
                }
                let valueLength = random.int(in: 0...3) == 0 ? random.int(in: 115...140) : random.int(in: 0...40)
                bytes += name + Array(":".utf8) + text(random.int(in: 0...2), Array(" \t".utf8)) + text(valueLength, valueBytes)
                    + Array("\r\n".utf8)
            }
            if random.int(in: 0...3) > 0 { bytes += Array("\r\n".utf8) }
            segments.append(Array(bytes.prefix(2048)))
        }
        try withGateway { dataplane, front, _ in
            let (records, counter) = try captured(segments, names: names, dataplane: dataplane, front: front)
            for (segment, record) in zip(segments, records) {
                let expected = ReferenceCapture.parse(segment, names: names)
                #expect(record.map(ReferenceCapture.init) == expected,
                        "seed \(seed): \(String(decoding: segment, as: UTF8.self).debugDescription) gave \(record.map { "\(ReferenceCapture($0))" } ?? "none"), expected \(expected.map { "\($0)" } ?? "none")")
            }
            #expect(counter.records == UInt64(segments.count), "seed \(seed): every request line parses: \(counter)")
            #expect(records.contains { $0?.isPathCut == true } && records.contains { $0?.values.contains(where: \.isCut) == true },
                    "the mix reaches both cuts (seed \(seed))")
        }
    }

    @Test func onlyTheFirstDataSegmentIsReadAndNewNamesApplyToTheNextFlowsWithoutAReload() throws {
        try withGateway { dataplane, front, _ in
            let segment = Array("GET / HTTP/1.1\r\nX-One: 1\r\nX-Two: 2\r\n\r\n".utf8)
            let (first, _) = try captured([segment], names: ["X-One"], dataplane: dataplane, front: front)
            #expect(first[0]?.values.map(\.index) == [0])
            // A later segment of a flow that was read: no record, the flag is gone.
            let entries = try dataplane.gateway.conntrackEntries().filter { !$0.isReply }
            let flow = try #require(entries.first)
            let ring = try dataplane.gateway.openCaptureRing()
            #expect(try dataplane.testRun(packet: dataSegment(client, flow.arriving.sourcePort, to: vip, segment), ingressIfindex: front)
                .verdict == TC_ACT_REDIRECT)
            #expect(try ring.poll(timeoutMilliseconds: 0, { _ in }) == 0)
            // New names: the next flow captures them, under the new digest.
            let (second, counter) = try captured([segment], names: ["X-Two", "X-One"], dataplane: dataplane, front: front, firstPort: 30000)
            #expect(second[0]?.values.map { String(decoding: $0.bytes, as: UTF8.self) } == ["2", "1"])
            #expect(second[0]?.namesDigest == CaptureNames(["X-Two", "X-One"]).digest)
            #expect(counter.records == 2)
            // Capture off: the flag gone from the listener, no more records.
            let key = ListenerKey(address: IPAddress(vip)!, port: 80, proto: .tcp)
            try dataplane.gateway.setListener(key, ListenerEntry(id: 5, snat: true, maglevSize: 251, idleTimeoutSeconds: 3600))
            #expect(try dataplane.testRun(packet: tcp(client, 50001, to: vip, 80), ingressIfindex: front).verdict == TC_ACT_REDIRECT)
            #expect(try dataplane.testRun(packet: dataSegment(client, 50001, to: vip, segment), ingressIfindex: front).verdict
                    == TC_ACT_REDIRECT)
            #expect(try ring.poll(timeoutMilliseconds: 0, { _ in }) == 0)
        }
    }

    @Test func anIPv6ListenersFirstSegmentIsCapturedWithTheClientsAddress() throws {
        try withGateway { dataplane, front, _ in
            let gateway = dataplane.gateway
            try gateway.setBackend(9, BackendEntry(address: IPAddress("2001:db8:b::1")!, port: 8080, snatAddress: IPAddress("2001:db8:b::fe")),
                                   isNew: true)
            let key = ListenerKey(address: IPAddress("2001:db8:f::10")!, port: 80, proto: .tcp)
            try gateway.setMaglev(listenerID: 1, slots: [UInt32](repeating: 9, count: 251))
            try gateway.setCaptureNames(listenerID: 1, CaptureNames(["X-Region"]))
            try gateway.setListener(key, ListenerEntry(id: 1, snat: true, maglevSize: 251, idleTimeoutSeconds: 3600, capture: true))
            let ring = try gateway.openCaptureRing()
            #expect(try dataplane.testRun(packet: tcp("2001:db8:c::10", 41000, to: "2001:db8:f::10", 80), ingressIfindex: front).verdict
                    == TC_ACT_REDIRECT)
            let segment = dataSegment("2001:db8:c::10", 41000, to: "2001:db8:f::10", Array("GET /v6 HTTP/1.1\r\nX-Region: eu\r\n\r\n".utf8))
            #expect(try dataplane.testRun(packet: segment, ingressIfindex: front).verdict == TC_ACT_REDIRECT)
            var records: [CaptureRecord] = []
            _ = try ring.poll(timeoutMilliseconds: 0) { records.append($0) }
            let record = try #require(records.first, "one record")
            #expect(record.client == IPAddress("2001:db8:c::10") && record.clientPort == 41000 && record.backendID == 9)
            #expect(String(decoding: record.path, as: UTF8.self) == "/v6" && record.values.map(\.bytes) == [Array("eu".utf8)])
        }
    }

    @Test func recordsAFullRingRefusesAreCountedAsLost() throws {
        let segment = Array("GET / HTTP/1.1\r\nX-One: 1\r\n\r\n".utf8)
        let capacity = Int(RL_CAPTURE_RING_SIZE) / (MemoryLayout<rl_capture_record>.size + 8)
        try withGateway { dataplane, front, _ in
            // Nobody reads the ring while it fills.
            let gateway = dataplane.gateway
            _ = try captured([], names: ["X-One"], dataplane: dataplane, front: front)
            for index in 0..<(capacity + 50) {
                let port = UInt16(1024 + index)
                _ = try dataplane.testRun(packet: tcp(client, port, to: vip, 80), ingressIfindex: front)
                #expect(try dataplane.testRun(packet: dataSegment(client, port, to: vip, segment), ingressIfindex: front).verdict
                        == TC_ACT_REDIRECT)
            }
            let counter = try gateway.captureCounter(5)
            #expect(counter.lost >= 50 && counter.records + counter.lost == UInt64(capacity + 50), "\(counter), capacity \(capacity)")
        }
    }

    /// Records do not wake the reader until the ring is a quarter full:
    /// a few are read after the poll's whole wait; the record that passes
    /// the quarter wakes it at once.
    @Test func theReaderIsWokenOnlyWhenTheRingPassesAQuarter() throws {
        let segment = Array("GET / HTTP/1.1\r\nX-One: 1\r\n\r\n".utf8)
        let quarter = Int(RL_CAPTURE_RING_SIZE) / 4 / (MemoryLayout<rl_capture_record>.size + 8) + 1
        try withGateway { dataplane, front, _ in
            _ = try captured([], names: ["X-One"], dataplane: dataplane, front: front)
            let ring = try dataplane.gateway.openCaptureRing()
            var nextPort: UInt16 = 1024
            func send(_ count: Int) throws {
                for _ in 0..<count {
                    _ = try dataplane.testRun(packet: tcp(client, nextPort, to: vip, 80), ingressIfindex: front)
                    _ = try dataplane.testRun(packet: dataSegment(client, nextPort, to: vip, segment), ingressIfindex: front)
                    nextPort += 1
                }
            }
            try send(10)
            var start = Date()
            #expect(try ring.poll(timeoutMilliseconds: 300, { _ in }) == 10)
            #expect(Date().timeIntervalSince(start) >= 0.25, "no wake-up below a quarter: the poll waited its 300 ms")
            try send(quarter)
            start = Date()
            #expect(try ring.poll(timeoutMilliseconds: 10_000, { _ in }) == quarter)
            #expect(Date().timeIntervalSince(start) < 5, "the record past a quarter woke the reader")
        }
    }

    @Test func theBuildWithoutCaptureServesACaptureListenerOverTheSamePinsAndTheBuildsReplaceEachOther() throws {
        let segment = Array("GET / HTTP/1.1\r\nX-One: 1\r\n\r\n".utf8)
        try withGateway(headerCapture: .off) { dataplane, front, _ in
            let pins = dataplane.pinDirectory
            let ring = "\(pins)/\(GatewayMaps.captureRingName)"
            #expect(!dataplane.capturesHeaders && !FileManager.default.fileExists(atPath: ring))
            #expect(throws: BPFError.self) { try dataplane.gateway.openCaptureRing() }
            // A listener flagged for capture (as an earlier build left it) is served, and nothing is parsed.
            let gateway = dataplane.gateway
            let key = ListenerKey(address: IPAddress(vip)!, port: 80, proto: .tcp)
            let ids = try setBackends(gateway, backends, snat: node)
            try gateway.setMaglev(listenerID: 5, slots: (0..<251).map { ids[$0 % 3] })
            try gateway.resetListenerCounter(5)
            try gateway.setCaptureNames(listenerID: 5, CaptureNames(["X-One"]))
            try gateway.setListener(key, ListenerEntry(id: 5, snat: true, maglevSize: 251, idleTimeoutSeconds: 3600, capture: true))
            #expect(try dataplane.testRun(packet: tcp(client, 20000, to: vip, 80), ingressIfindex: front).verdict == TC_ACT_REDIRECT)
            #expect(try dataplane.testRun(packet: dataSegment(client, 20000, to: vip, segment), ingressIfindex: front).verdict
                    == TC_ACT_REDIRECT)
            #expect(try gateway.captureCounter(5) == .zero)
            let served = try gateway.listenerCounter(5)
            #expect(served.flows == 1 && served.packets == 2, "\(served)")

            // A restart of the same build reuses its program and every map.
            let again = try Dataplane(pinDirectory: pins, headerCapture: .off)
            #expect(again.programID == dataplane.programID && again.restored)
            // The build with capture replaces it over the same maps (the listener stays) and adds the ring...
            let capturing = try Dataplane(pinDirectory: pins)
            #expect(capturing.capturesHeaders && capturing.programID != dataplane.programID && !capturing.restored)
            #expect(FileManager.default.fileExists(atPath: ring))
            #expect(try capturing.gateway.allListeners()[key] != nil)
            #expect(try capturing.attach(ifindex: front) == .attached)
            #expect(try dataplane.attach(ifindex: front) == .replaced)
            // ...and going back removes the ring, which nothing writes any more.
            let without = try Dataplane(pinDirectory: pins, headerCapture: .off)
            #expect(without.programID != capturing.programID && !FileManager.default.fileExists(atPath: ring))
            let reopened = try GatewayMaps.openPinned(directory: pins, router: without.maps)
            #expect(!reopened.hasCaptureRing)
            // What `routelet dump` says of it.
            var report = DataplaneReport(state: try DataplaneState.read(maps: without.maps), abiVersion: UInt32(RL_ABI_VERSION), names: [:])
            report.headerCapture = reopened.hasCaptureRing
            #expect(report.rendered().hasPrefix("routelet data plane (ABI \(RL_ABI_VERSION); header capture off"), "\(report.rendered())")
        }
    }
}
