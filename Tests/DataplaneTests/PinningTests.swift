import Dataplane
import Foundation
import NetAddress
import NetLab
import Testing

/// Pins and filters outlive the process that made them: traffic keeps
/// flowing with nobody holding a descriptor, another process sees the same
/// entries, and a reopening reuses the maps without writing.
/// The part of `routelet dump -o json` these tests read.
struct DumpJSON: Decodable {
    var dataplane: DataplaneReport
}

@Suite(.serialized) struct PinningTests {
    @Test func pinnedStateSurvivesItsCreatorAndIsReusedWithoutWrites() throws {
        let pins = try TestPins()
        defer { pins.remove() }
        let lab = try RouterLab()
        defer { lab.delete() }
        let b = RouterLab.address(host: 2)

        var created: Dataplane? = try lab.router.enter { try Dataplane(pinDirectory: pins.directory) }
        #expect(created?.restored == false)
        let ifindex = try lab.router.enter { try ForwardingTests.programLab(created!) }
        let routesBefore = try created!.maps.routes().routes
        #expect(try Traffic.ping(from: lab.hostA, b.v4, count: 2) == 2)

        // The creator lets go of everything: no descriptor of ours is open.
        created = nil

        // Traffic flows all through what follows.
        let stream = try lab.hostA.start(["ping", "-n", "-q", "-c", "40", "-i", "0.05", "-W", "1", b.v4])

        // A second process reads the same entries through the pins.
        let dump = try Command.run([try routeletExecutable(), "dump", "-o", "json",
                                    "--bpffs-dir", pins.directory, "--netns", lab.router.name])
        let report = try JSONDecoder().decode(DumpJSON.self, from: Data(dump.utf8)).dataplane
        #expect(report.routes.count == routesBefore.count)
        for route in routesBefore {
            let seen = report.routes.first { $0.prefix == route.key.prefix.description && $0.table == route.key.table }
            #expect(seen?.id == route.value.id, "dump shows \(route.key) with its id")
        }
        for name in RouterLab.routerInterfaces {
            let interface = report.interfaces.first { $0.name == name }
            #expect(interface?.table == 1, "\(name) bound to table 1")
            #expect(interface?.filter?.hasPrefix("rl_router") == true, "\(name) still carries the filter")
        }

        // Reopening reuses the maps, finds the program current, writes nothing.
        let reopened = try lab.router.enter { try Dataplane(pinDirectory: pins.directory) }
        #expect(reopened.restored)
        #expect(FileManager.default.fileExists(atPath: "\(pins.directory)/\(Dataplane.programPin)"))
        #expect(try reopened.maps.routes().routes == routesBefore)
        for (name, index) in ifindex {
            #expect(try lab.router.enter { try reopened.attach(ifindex: index) } == .unchanged, "\(name): program not replaced")
        }
        #expect(reopened.maps.writes.value == 0, "a reopening with nothing to change writes nothing")

        let result = stream.wait()
        #expect(result.stdout.contains("40 packets transmitted, 40 received"), "no packet lost: \(result.stdout)")
        try lab.router.enter { try Cleanup.run(pinDirectory: pins.directory) }
        #expect(!FileManager.default.fileExists(atPath: pins.directory), "cleanup removes every pin (maps, program) and the directory")
    }

    @Test func aChangedProgramIsReplacedAtomicallyOnTheSameFilter() throws {
        let pins = try TestPins()
        defer { pins.remove() }
        let lab = try RouterLab()
        defer { lab.delete() }
        let first = try lab.router.enter { try Dataplane(pinDirectory: pins.directory) }
        let ifindex = try lab.router.enter { try ForwardingTests.programLab(first) }
        let ra = ifindex["ra"]!
        let before = try #require(try lab.router.enter { try TC.query(ifindex: ra) })

        // Pins removed behind routelet's back: a new opening makes new maps,
        // so the attached program (over the old maps) is no longer current.
        pins.remove()
        let second = try lab.router.enter { try Dataplane(pinDirectory: pins.directory) }
        #expect(!second.restored)
        #expect(try lab.router.enter { try second.attach(ifindex: ra) } == .replaced)
        let after = try #require(try lab.router.enter { try TC.query(ifindex: ra) })
        #expect(after.programID != before.programID)
        #expect(second.isCurrent(after))
        #expect(try lab.router.enter { try second.attach(ifindex: ra) } == .unchanged)

        // Exactly one routelet filter on the interface, at its handle.
        let filters = try lab.router.run(["tc", "filter", "show", "dev", "ra", "ingress"])
        #expect(filters.components(separatedBy: "handle 0x726c").count - 1 == 1, "one routelet filter: \(filters)")
        try lab.router.enter { try Cleanup.run(pinDirectory: pins.directory) }
    }

    @Test func pinnedMapsOfAnotherABIVersionAreRefused() throws {
        let pins = try TestPins()
        defer { pins.remove() }
        _ = try Dataplane(pinDirectory: pins.directory)
        try Command.run(["bpftool", "map", "update", "pinned", "\(pins.directory)/rl_meta",
                         "key", "0", "0", "0", "0", "value", "99", "0", "0", "0", "0", "0", "0", "0"])
        #expect {
            _ = try Dataplane(pinDirectory: pins.directory)
        } throws: { error in
            "\(error)".contains("ABI version 99") && "\(error)".contains("routelet cleanup")
        }
    }
}
