import DataplaneModel
import NetAddress
import Reconciler
import Testing

/// The data plane as a value: what the maps and filters would hold after
/// each operation. Every filter attached here runs the current program.
struct Model {
    var state = DataplaneState()

    mutating func apply(_ operation: Operation) {
        switch operation {
        case .setGroup(let id, let hops):
            state.groups[id] = hops
            state.damagedGroups.remove(id)
        case .addLocalAddress(let address): state.localAddresses.insert(address)
        case .setRoute(let key, let entry): state.routes[key] = entry
        case .bind(let ifindex, let table, let gateway):
            state.bindings[ifindex] = table
            if gateway { state.gatewayInterfaces.insert(ifindex) } else { state.gatewayInterfaces.remove(ifindex) }
        case .setBackend(let id, let entry, _): state.gateway.backends[id] = entry
        case .setMaglev(let listener, let slots): state.gateway.maglev[listener] = MaglevState(mapID: listener + 1000, slots: slots)
        case .setListener(let key, let entry, _): state.gateway.listeners[key] = entry
        case .removeListener(let key): state.gateway.listeners[key] = nil
        case .addSourceRange(let range): state.gateway.sourceRanges.insert(range)
        case .removeSourceRange(let range): state.gateway.sourceRanges.remove(range)
        case .setCaptureNames(let listener, let names): state.gateway.captureNames[listener] = names
        case .removeCaptureNames(let listener): state.gateway.captureNames[listener] = nil
        case .removeMaglev(let listener): state.gateway.maglev[listener] = nil
        case .removeBackend(let id): state.gateway.backends[id] = nil
        case .attach(let ifindex):
            state.attachments[ifindex] = TCAttachment(ifindex: ifindex, programID: 1)
        case .detach(let ifindex): state.attachments[ifindex] = nil
        case .unbind(let ifindex):
            state.bindings[ifindex] = nil
            state.gatewayInterfaces.remove(ifindex)
        case .removeRoute(let key): state.routes[key] = nil
        case .removeGroup(let id):
            state.groups[id] = nil
            state.damagedGroups.remove(id)
        case .removeCounter(let id): state.routeCounters[id] = nil
        case .removeLocalAddress(let address): state.localAddresses.remove(address)
        case .setGatewayMark(let mark): state.gatewayMark = mark
        case .setLocalDelivery(let settings, let families): state.localDelivery = .installed(settings, families: families)
        case .removeLocalDelivery: state.localDelivery = .absent
        }
    }

    /// Routes whose packets would be handled as the entry says: the group
    /// they point to exists.
    var workingRoutes: [RouteKey: RouteEntry] {
        state.routes.filter { _, entry in
            if case .forward(let group) = entry.action { return !(state.groups[group]?.isEmpty ?? true) }
            return true
        }
    }
}

func randomDesired(_ random: inout SplitMix64) -> DesiredDataplane {
    var desired = DesiredDataplane()
    let tables: [UInt32] = [7, 9]
    for ifindex in UInt32(1)...6 where Bool.random(using: &random) {
        desired.bindings[ifindex] = tables.randomElement(using: &random)!
    }
    let hopChoices = (1...5).map { NextHop(ifindex: UInt32($0), gateway: IPAddress("192.0.2.\($0)"), weight: UInt32($0 % 3 + 1)) }
    for _ in 0..<Int.random(in: 0...24, using: &random) {
        let v4 = Bool.random(using: &random)
        let length = [8, 16, 24, 32, 64].randomElement(using: &random)!
        let prefix = v4
            ? IPAddress.v4(UInt32.random(in: 0...3, using: &random) << 24).masked(to: min(length, 32))
            : IPAddress.v6(UInt64.random(in: 0...3, using: &random) << 48, 0).masked(to: length)
        let key = RouteKey(table: tables.randomElement(using: &random)!, prefix: IPPrefix(address: prefix, length: v4 ? min(length, 32) : length)!)
        switch Int.random(in: 0..<6, using: &random) {
        case 0: desired.routes[key] = .blackhole
        case 1: desired.routes[key] = .local
        default:
            let hops = Array(Set((0..<Int.random(in: 1...3, using: &random)).map { _ in hopChoices.randomElement(using: &random)! })).sorted()
            desired.routes[key] = .forward(hops)
        }
    }
    for index in 0..<Int.random(in: 0...3, using: &random) { desired.localAddresses.insert(IPAddress("198.51.100.\(index)")!) }
    return desired
}

@Suite struct PlannerTests {
    let current: (TCAttachment) -> Bool = { $0.programID == 1 }

    @Test func planningAStateAgainstItselfIsEmpty() {
        var random = SplitMix64(seed: 1)
        for _ in 0..<300 {
            let desired = randomDesired(&random)
            var model = Model()
            Planner.plan(desired: desired, actual: model.state, isCurrent: current).operations.forEach { model.apply($0) }
            let again = Planner.plan(desired: desired, actual: model.state, isCurrent: current)
            #expect(again.operations.isEmpty, "diff(s, s) must be empty, got \(again.operations)")
        }
    }

    @Test func noIntermediateStateLosesARoutePresentBeforeAndAfter() {
        for seed in UInt64(1)...300 {
            var random = SplitMix64(seed: seed)
            let before = randomDesired(&random), after = randomDesired(&random)
            var model = Model()
            Planner.plan(desired: before, actual: model.state, isCurrent: current).operations.forEach { model.apply($0) }
            let start = model.workingRoutes
            let plan = Planner.plan(desired: after, actual: model.state, isCurrent: current)
            let kept = Set(start.keys).intersection(plan.entries.keys)
            let keptBindings = Set(model.state.bindings.keys).intersection(after.bindings.keys)
            for (step, operation) in plan.operations.enumerated() {
                model.apply(operation)
                let working = model.workingRoutes
                for key in kept where working[key] == nil {
                    Issue.record("seed \(seed), step \(step) (\(operation)): \(key) has no working entry")
                }
                for ifindex in keptBindings where model.state.bindings[ifindex] == nil {
                    Issue.record("seed \(seed), step \(step): ifindex \(ifindex) lost its table")
                }
            }
            #expect(model.state.routes == plan.entries, "seed \(seed): the end state is the desired one")
            #expect(Set(model.state.attachments.keys) == Set(after.bindings.keys), "seed \(seed): filters on exactly the bound interfaces")
            #expect(model.state.localAddresses == after.localAddresses)
        }
    }

    @Test func aChangedRouteKeepsItsIDAndIsRewrittenInPlace() {
        let key = RouteKey(table: 7, prefix: IPPrefix("10.0.0.0/8")!)
        var desired = DesiredDataplane()
        desired.routes[key] = .forward([NextHop(ifindex: 1, gateway: nil)])
        var model = Model()
        Planner.plan(desired: desired, actual: model.state, isCurrent: current).operations.forEach { model.apply($0) }
        let id = model.state.routes[key]!.id

        desired.routes[key] = .forward([NextHop(ifindex: 2, gateway: nil)])
        let plan = Planner.plan(desired: desired, actual: model.state, isCurrent: current)
        #expect(plan.entries[key]?.id == id)
        #expect(!plan.operations.contains(.removeRoute(key)), "never delete-then-insert")
        let newGroup = plan.operations.firstIndex { if case .setGroup = $0 { return true } else { return false } }
        let setRoute = plan.operations.firstIndex { if case .setRoute = $0 { return true } else { return false } }
        let removeGroup = plan.operations.firstIndex { if case .removeGroup = $0 { return true } else { return false } }
        #expect(newGroup! < setRoute! && setRoute! < removeGroup!, "new group, then the route, then the old group: \(plan.operations)")
    }

    @Test func nothingIsRemovedBeforeEverySourceHasSynced() throws {
        var random = SplitMix64(seed: 42)
        let desired = randomDesired(&random)
        var model = Model()
        Planner.plan(desired: desired, actual: model.state, isCurrent: current).operations.forEach { model.apply($0) }
        // Something to remove, or the check below holds for nothing.
        try #require(!model.state.routes.isEmpty && !model.state.bindings.isEmpty && !model.state.attachments.isEmpty
                     && !model.state.localAddresses.isEmpty, "seed 42 installs routes, bindings, filters and addresses: \(model.state)")

        let held = Planner.plan(desired: DesiredDataplane(), actual: model.state, isCurrent: current, prune: false)
        #expect(held.operations.allSatisfy { !$0.isRemoval }, "removals before the first full sync: \(held.operations)")

        // The same case once every source has synced removes it all.
        let pruned = Planner.plan(desired: DesiredDataplane(), actual: model.state, isCurrent: current, prune: true)
        #expect(pruned.operations.contains { $0.isRemoval }, "nothing removed with prune: \(pruned.operations)")
        pruned.operations.forEach { model.apply($0) }
        #expect(model.state.routes.isEmpty && model.state.groups.isEmpty && model.state.bindings.isEmpty
                && model.state.attachments.isEmpty && model.state.localAddresses.isEmpty,
                "left after pruning to an empty desired state: \(model.state)")
    }

    @Test func aStaleProgramIsReplacedAndForeignEntriesAreRemoved() {
        var desired = DesiredDataplane()
        desired.bindings[3] = 7
        var actual = DataplaneState()
        actual.bindings[3] = 7
        actual.attachments[3] = TCAttachment(ifindex: 3, programID: 9)
        let planted = RouteKey(table: 7, prefix: IPPrefix("10.66.0.0/16")!)
        actual.routes[planted] = RouteEntry(id: 5, action: .blackhole)
        let plan = Planner.plan(desired: desired, actual: actual, isCurrent: current)
        #expect(plan.operations == [.attach(ifindex: 3), .removeRoute(planted)])
    }

    @Test func aGroupWhoseBucketsWereChangedIsRewrittenInPlaceAndOnlyIt() {
        var desired = DesiredDataplane()
        let three = [1, 2, 3].map { NextHop(ifindex: UInt32($0), gateway: nil) }
        desired.routes[RouteKey(table: 7, prefix: IPPrefix("10.0.0.0/8")!)] = .forward(three)
        desired.routes[RouteKey(table: 7, prefix: IPPrefix("10.1.0.0/16")!)] = .forward(three)
        desired.routes[RouteKey(table: 7, prefix: IPPrefix("10.2.0.0/16")!)] = .forward([three[0]])
        var model = Model()
        Planner.plan(desired: desired, actual: model.state, isCurrent: current).operations.forEach { model.apply($0) }
        let shared = model.state.groups.first { $0.value == three }!.key

        model.state.damagedGroups = [shared]
        let plan = Planner.plan(desired: desired, actual: model.state, isCurrent: current)
        #expect(plan.operations == [.setGroup(id: shared, nexthops: three)], "\(plan.operations)")
        plan.operations.forEach { model.apply($0) }
        #expect(Planner.plan(desired: desired, actual: model.state, isCurrent: current).operations.isEmpty)

        // A damaged group no route uses any more is removed, not rewritten.
        model.state.damagedGroups = [shared]
        desired.routes = desired.routes.filter { $0.key.prefix.length == 16 && $0.value == .forward([three[0]]) }
        let removal = Planner.plan(desired: desired, actual: model.state, isCurrent: current)
        #expect(removal.operations.contains(.removeGroup(id: shared)) && !removal.operations.contains(.setGroup(id: shared, nexthops: three)),
                "\(removal.operations)")
    }

    @Test func routeIDsSurviveAndStayUniqueWhenHashesCollide() {
        // Two keys whose preferred id is taken by an existing route keep distinct ids.
        var desired = DesiredDataplane()
        var actual = DataplaneState()
        let existing = RouteKey(table: 1, prefix: IPPrefix("10.0.0.0/8")!)
        let fresh = RouteKey(table: 1, prefix: IPPrefix("10.1.0.0/16")!)
        actual.routes[existing] = RouteEntry(id: 777, action: .blackhole)
        actual.routeCounters[777] = Counter(packets: 5, bytes: 500)
        desired.routes[existing] = .blackhole
        desired.routes[fresh] = .blackhole
        let plan = Planner.plan(desired: desired, actual: actual, isCurrent: current)
        #expect(plan.entries[existing]?.id == 777)
        #expect(plan.entries[fresh]?.id != 777)
        #expect(!plan.operations.contains(.removeCounter(routeID: 777)))
    }
}

/// HTTP/HTTPS listeners: an entry each, no Maglev table, and the local
/// delivery (mark, rules, routes) before them and gone after the last.
@Suite struct LocalListenerPlannerTests {
    let web = ListenerKey(address: IPAddress("198.51.100.10")!, port: 80, proto: .tcp)
    let web6 = ListenerKey(address: IPAddress("2001:db8::10")!, port: 443, proto: .tcp)
    let settings = LocalDeliverySettings.default

    func desired(_ listeners: [ListenerKey: DesiredListener]) -> DesiredDataplane {
        var desired = DesiredDataplane()
        desired.listeners = listeners
        desired.gatewayInterfaces = listeners.isEmpty ? [] : [11]
        return desired
    }

    /// A node that has read its mark and its (absent) rules.
    func freshModel() -> Model {
        var model = Model()
        model.state.gatewayMark = settings.gatewayMark
        model.state.localDelivery = .absent
        return model
    }

    func index(_ operations: [Operation], _ match: (Operation) -> Bool) -> Int? { operations.firstIndex(where: match) }

    @Test func theLocalDeliveryComesBeforeTheListenersThatNeedItAndAPassOverTheResultIsEmpty() throws {
        var model = freshModel()
        let want = desired([web: .local(owner: "shop/web"), web6: .local(owner: "shop/web6")])
        let operations = Planner.plan(desired: want, actual: model.state, isCurrent: { _ in true }).operations
        let delivery = try #require(index(operations) { $0 == .setLocalDelivery(settings, families: [.v4, .v6]) }, "\(operations)")
        let listener = try #require(index(operations) { if case .setListener = $0 { true } else { false } })
        #expect(delivery < listener, "rules and routes first: \(operations)")
        #expect(!operations.contains { if case .setMaglev = $0 { true } else { false } }, "no Maglev table for a local listener")
        #expect(!operations.contains { if case .setGatewayMark = $0 { true } else { false } }, "the mark is already the default")
        for operation in operations { model.apply(operation) }
        #expect(model.state.gateway.listeners[web] == .local(id: 0) || model.state.gateway.listeners[web] == .local(id: 1))
        #expect(Planner.plan(desired: want, actual: model.state, isCurrent: { _ in true }).operations.isEmpty)

        // Drift: rules removed by hand, or another mark in rl_config.
        model.state.localDelivery = .inconsistent("rule without its route")
        model.state.gatewayMark = GatewayMark(mark: 0x100, mask: 0x100)
        let repair = Planner.plan(desired: want, actual: model.state, isCurrent: { _ in true }).operations
        #expect(repair == [.setGatewayMark(settings.gatewayMark), .setLocalDelivery(settings, families: [.v4, .v6])], "\(repair)")
    }

    @Test func theLastLocalListenerTakesTheLocalDeliveryWithItOnceSynced() {
        var model = freshModel()
        let want = desired([web: .local(owner: "shop/web")])
        for operation in Planner.plan(desired: want, actual: model.state, isCurrent: { _ in true }).operations { model.apply(operation) }
        #expect(model.state.localDelivery == .installed(settings, families: [.v4]), "IPv4 only: \(String(describing: model.state.localDelivery))")

        let none = desired([:])
        let early = Planner.plan(desired: none, actual: model.state, isCurrent: { _ in true }, prune: false).operations
        #expect(!early.contains { if case .removeLocalDelivery = $0 { true } else { false } }, "nothing is removed before the sync")
        let late = Planner.plan(desired: none, actual: model.state, isCurrent: { _ in true }).operations
        let listenerGone = index(late) { $0 == .removeListener(web) }
        let deliveryGone = index(late) { $0 == .removeLocalDelivery(table: settings.table) }
        #expect(listenerGone != nil && deliveryGone != nil && listenerGone! < deliveryGone!, "the listener goes first: \(late)")

        // Not read (a caller without rtnetlink): left alone either way.
        model.state.localDelivery = nil
        #expect(!Planner.plan(desired: none, actual: model.state, isCurrent: { _ in true }).operations
            .contains { if case .removeLocalDelivery = $0 { true } else { false } })
        #expect(!Planner.plan(desired: want, actual: model.state, isCurrent: { _ in true }).operations
            .contains { if case .setLocalDelivery = $0 { true } else { false } })
    }

    @Test func aTCPListenerTurnedHTTPKeepsItsIDAndLosesItsTableAfterTheEntryChanged() {
        var model = freshModel()
        model.state.gateway.listeners[web] = ListenerEntry(id: 4, snat: true, maglevSize: 251, idleTimeoutSeconds: 60)
        model.state.gateway.maglev[4] = MaglevState(mapID: 99, slots: [UInt32](repeating: 1, count: 251))
        let operations = Planner.plan(desired: desired([web: .local(owner: "shop/web")]), actual: model.state,
                                      isCurrent: { _ in true }).operations
        let entry = index(operations) { $0 == .setListener(web, .local(id: 4), isNew: false) }
        let table = index(operations) { $0 == .removeMaglev(listenerID: 4) }
        #expect(entry != nil && table != nil && entry! < table!, "\(operations)")
    }
}

/// sourceRanges: the order of entries and the listener entry that turns them on.
@Suite struct SourceRangePlannerTests {
    let web = ListenerKey(address: IPAddress("198.51.100.10")!, port: 80, proto: .tcp)
    let api = ListenerKey(address: IPAddress("198.51.100.11")!, port: 80, proto: .tcp)
    let backend = DesiredBackend(endpoint: BackendEntry(address: IPAddress("192.0.2.21")!, port: 8080, snatAddress: nil), weight: 1)

    func listener(_ ranges: DesiredSourceRanges, rate: FlowRateLimit? = nil) -> DesiredListener {
        DesiredListener(owner: "shop/web", snat: false, maglevSize: 13, idleTimeoutSeconds: 60, backends: [backend],
                        sourceRanges: ranges, rateLimit: rate)
    }

    func plan(_ listeners: [ListenerKey: DesiredListener], _ model: Model) -> [Operation] {
        var desired = DesiredDataplane()
        desired.listeners = listeners
        desired.gatewayInterfaces = [11]
        return Planner.plan(desired: desired, actual: model.state, isCurrent: { _ in true }).operations
    }

    func position(_ operations: [Operation], _ match: (Operation) -> Bool) -> Int? { operations.firstIndex(where: match) }
    func isSetListener(_ operation: Operation) -> Bool { if case .setListener = operation { true } else { false } }

    @Test func entriesAreWrittenBeforeTheListenerTurnsThemOnAndRemovedAfterItTurnsThemOff() throws {
        var model = Model()
        let allow = DesiredSourceRanges(allow: [IPPrefix("203.0.113.0/24")!], deny: [IPPrefix("203.0.113.66/32")!])
        let first = plan([web: listener(allow, rate: FlowRateLimit(perSecond: 5, burst: 10))], model)
        let listenerAt = try #require(position(first, isSetListener))
        let adds = first.indices.filter { if case .addSourceRange = first[$0] { true } else { false } }
        #expect(adds.count == 2)
        #expect(adds.allSatisfy { $0 < listenerAt }, "an allow list never refuses everyone while it fills: \(first)")
        for operation in first { model.apply(operation) }
        let entry = try #require(model.state.gateway.listeners[web])
        #expect(entry.allowList && entry.denyList && entry.rateLimit == FlowRateLimit(perSecond: 5, burst: 10))
        #expect(plan([web: listener(allow, rate: FlowRateLimit(perSecond: 5, burst: 10))], model).isEmpty, "a second pass writes nothing")

        // Every source again: the listener stops consulting the lists before they go.
        let open = plan([web: listener(.everySource)], model)
        let flagsOff = try #require(position(open, isSetListener))
        let removals = open.indices.filter { if case .removeSourceRange = open[$0] { true } else { false } }
        #expect(removals.count == 2 && removals.allSatisfy { $0 > flagsOff }, "\(open)")
        for operation in open { model.apply(operation) }
        #expect(model.state.gateway.sourceRanges.isEmpty)
        #expect(model.state.gateway.listeners[web]?.allowList == false)
    }

    @Test func anIDGivenToAnotherListenerLosesTheOldAllowEntriesBeforeTheNewListenerIsWritten() throws {
        var model = Model()
        let wide = DesiredSourceRanges(allow: [IPPrefix("0.0.0.0/0")!])
        for operation in plan([web: listener(wide)], model) { model.apply(operation) }
        let oldID = try #require(model.state.gateway.listeners[web]?.id)
        // web goes, api (a new key) takes its id with a narrow allow list.
        let narrow = DesiredSourceRanges(allow: [IPPrefix("203.0.113.0/24")!])
        let operations = plan([api: listener(narrow)], model)
        #expect(operations.contains { if case .setListener(_, let entry, _) = $0 { entry.id == oldID } else { false } }, "\(operations)")
        let wideGone = try #require(position(operations) { $0 == .removeSourceRange(SourceRange(listenerID: oldID, list: .allow, prefix: IPPrefix("0.0.0.0/0")!)) })
        let apiSet = try #require(position(operations) { if case .setListener(let key, _, _) = $0 { key == api } else { false } })
        #expect(wideGone < apiSet, "the old 0.0.0.0/0 must not let everyone through the new listener: \(operations)")
    }
}
