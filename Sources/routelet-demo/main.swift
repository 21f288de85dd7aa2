import Dataplane
import Foundation
import NetAddress
import NetLab

// `make demo`: a router namespace between three hosts, kernel forwarding
// off, routes programmed into routelet's eBPF data plane; pings and a TCP
// transfer cross it, and `routelet dump` shows what was forwarded.
// Everything is removed on exit, Ctrl-C included.

func step(_ text: String) { print("\n==> \(text)") }

let pinDirectory = "/sys/fs/bpf/routelet-demo"
let routelet = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("routelet").path

step("Building the lab: namespaces A, B, C around a router (kernel forwarding off)")
let lab = try RouterLab()
let cleanup = {
    step("Cleaning up: filters, pins, namespaces")
    _ = try? lab.router.enter { try Cleanup.run(pinDirectory: pinDirectory) }
    lab.delete()
}
let signalSources = [SIGINT, SIGTERM].map { signalNumber in
    signal(signalNumber, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
    source.setEventHandler { cleanup(); exit(130) }
    source.resume()
    return source
}

do {
    print("router: \(lab.router.name), hosts: \(lab.hostA.name), \(lab.hostB.name), \(lab.hostC.name)")
    let b = RouterLab.address(host: 2)
    step("Before routelet: ping A -> B \(b.v4) (the kernel does not forward)")
    print("replies: \(try Traffic.ping(from: lab.hostA, b.v4, count: 2))/2")

    step("Loading routelet's router program and programming one table on ra, rb, rc")
    let dataplane = try lab.router.enter { try Dataplane(pinDirectory: pinDirectory) }
    try lab.router.enter {
        var ifindex: [String: UInt32] = [:]
        for name in RouterLab.routerInterfaces { ifindex[name] = Interfaces.index(of: name)! }
        let maps = dataplane.maps
        for (index, name) in RouterLab.routerInterfaces.enumerated() {
            let link = index + 1
            try maps.bind(ifindex: ifindex[name]!, table: 1)
            try maps.setGroup(UInt32(link), [NextHop(ifindex: ifindex[name]!, gateway: nil)])
            for (offset, prefix) in [(0, "198.18.\(link).0/24"), (10, "2001:db8:\(link)::/64")] {
                let id = UInt32(link + offset)
                try maps.createCounter(routeID: id)
                try maps.setRoute(RouteKey(table: 1, prefix: IPPrefix(prefix)!), RouteEntry(id: id, action: .forward(group: UInt32(link))))
            }
            let router = RouterLab.routerAddress(link: link)
            try maps.addLocalAddress(IPAddress(router.v4)!)
            try maps.addLocalAddress(IPAddress(router.v6)!)
            print("\(name): \(try dataplane.attach(ifindex: ifindex[name]!))")
        }
        // ECMP to the anycast service on B and C, and a blackhole.
        try maps.setGroup(50, [NextHop(ifindex: ifindex["rb"]!, gateway: IPAddress(b.v4)),
                               NextHop(ifindex: ifindex["rc"]!, gateway: IPAddress(RouterLab.address(host: 3).v4))])
        try maps.setRoute(RouteKey(table: 1, prefix: IPPrefix("198.19.0.0/24")!), RouteEntry(id: 50, action: .forward(group: 50)))
        try maps.setRoute(RouteKey(table: 1, prefix: IPPrefix("198.18.66.0/24")!), RouteEntry(id: 66, action: .blackhole))
    }

    step("Traffic through routelet")
    for address in [b.v4, b.v6, RouterLab.address(host: 3).v4, RouterLab.address(host: 3).v6] {
        print("ping A -> \(address): \(try Traffic.ping(from: lab.hostA, address))/3 replies")
    }
    let transfer = try Traffic.tcpTransfer(from: lab.hostA, to: lab.hostB, address: b.v4)
    print("TCP 1 MiB A -> B: sent \(transfer.sent.prefix(20))…, received \(transfer.received.prefix(20))… \(transfer.sent == transfer.received ? "(intact)" : "(MISMATCH)")")
    print("ping A -> 198.18.66.1 (blackholed): \(try Traffic.ping(from: lab.hostA, "198.18.66.1", count: 2))/2 replies")
    try Traffic.udpFlows(from: lab.hostA, to: RouterLab.serviceV4, flows: 32, packetsPerFlow: 3)
    print("32 UDP flows A -> \(RouterLab.serviceV4) (ECMP over B and C)")

    step("routelet dump --netns \(lab.router.name) --bpffs-dir \(pinDirectory)")
    print(try Command.run([routelet, "dump", "--netns", lab.router.name, "--bpffs-dir", pinDirectory]))

    step("The same state through standard tools")
    print("$ tc filter show dev ra ingress")
    print(try lab.router.run(["tc", "filter", "show", "dev", "ra", "ingress"]))
    print("$ bpftool map dump pinned \(pinDirectory)/rl_ifaces")
    print(try Command.run(["bpftool", "map", "dump", "pinned", "\(pinDirectory)/rl_ifaces"]))
} catch {
    print("demo failed: \(error)")
    cleanup()
    exit(1)
}
cleanup()
