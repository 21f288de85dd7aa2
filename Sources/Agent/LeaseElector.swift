import Foundation
import JSONValue
import KubeClient
import Logging

/// Leader election on a coordination.k8s.io/v1 Lease, the way client-go
/// does it: the holder renews `spec.renewTime`; another candidate takes
/// over when it has seen no renewal for `leaseDurationSeconds` by its own
/// clock (clocks of different nodes are never compared); every write is
/// conditional on the resourceVersion read, so two candidates cannot both win.
struct LeaseElector {
    let client: KubeClient
    let identity: String
    let namespace: String
    let name: String
    let duration: Duration
    let logger: Logger
    /// A leader that could not renew for this long stops acting as one,
    /// before anybody else may take over (`duration`).
    var renewDeadline: Duration { duration * 2 / 3 }

    /// The last (holder, renewTime) seen, and when this candidate saw it change.
    private var observed: (holder: String, renewTime: String, at: ContinuousClock.Instant)?
    private var lastRenewal: ContinuousClock.Instant?

    init(client: KubeClient, identity: String, namespace: String, name: String = "routelet-aggregator",
         duration: Duration = .seconds(15), logger: Logger) {
        self.client = client
        self.identity = identity
        self.namespace = namespace
        self.name = name
        self.duration = duration
        self.logger = logger
    }

    /// One round: create, renew or take over the lease if possible.
    /// Returns whether this candidate leads now.
    mutating func step() async -> Bool {
        do {
            let leading = try await attempt()
            if leading { lastRenewal = .now }
            return leading
        } catch {
            logger.info("aggregator lease: cannot reach the API", metadata: ["error": "\(error)"])
            // Unreachable API: keep leading only while the lease cannot
            // have lapsed for the others yet.
            guard let lastRenewal else { return false }
            return ContinuousClock.now - lastRenewal < renewDeadline
        }
    }

    private mutating func attempt() async throws -> Bool {
        let now = Self.microTime(Date())
        let lease: JSONValue
        do {
            lease = try await client.get(.leases, name: name, namespace: namespace)
        } catch let error as KubeError where error.isNotFound {
            let created: JSONValue = [
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": ["name": .string(name), "namespace": .string(namespace)],
                "spec": [
                    "holderIdentity": .string(identity), "leaseDurationSeconds": .integer(Int64(duration.components.seconds)),
                    "acquireTime": .string(now), "renewTime": .string(now), "leaseTransitions": 0,
                ],
            ]
            do {
                _ = try await client.create(.leases, created, namespace: namespace)
                return true
            } catch let error as KubeError where error.isConflict {
                return false
            }
        }
        let spec = lease["spec"] ?? [:]
        let holder = spec["holderIdentity"]?.stringValue ?? ""
        let renewTime = spec["renewTime"]?.stringValue ?? ""
        var updated = lease
        var newSpec = spec
        if holder == identity {
            newSpec["renewTime"] = .string(now)
        } else {
            let seconds = spec["leaseDurationSeconds"]?.integerValue.map { Duration.seconds($0) } ?? duration
            if observed?.holder != holder || observed?.renewTime != renewTime {
                observed = (holder, renewTime, .now)
            }
            let lapsed = holder.isEmpty || ContinuousClock.now - observed!.at > seconds
            guard lapsed else { return false }
            newSpec["holderIdentity"] = .string(identity)
            newSpec["acquireTime"] = .string(now)
            newSpec["renewTime"] = .string(now)
            newSpec["leaseDurationSeconds"] = .integer(Int64(duration.components.seconds))
            newSpec["leaseTransitions"] = .integer((spec["leaseTransitions"]?.integerValue ?? 0) + 1)
        }
        updated["spec"] = newSpec
        do {
            _ = try await client.replace(.leases, updated, namespace: namespace)
            return true
        } catch let error as KubeError where error.isConflict {
            return false
        }
    }

    /// Gives the lease up, if this candidate holds it, so that another takes
    /// over at once instead of after a whole lease duration (an agent
    /// stopping for a rolling update). Best effort: a failure only means
    /// the others wait for the lease to lapse.
    func release() async {
        guard var lease = try? await client.get(.leases, name: name, namespace: namespace),
              lease["spec"]?["holderIdentity"]?.stringValue == identity else { return }
        lease["spec"]?["holderIdentity"] = ""
        if (try? await client.replace(.leases, lease, namespace: namespace)) != nil {
            logger.info("aggregator lease released", metadata: ["lease": "\(namespace)/\(name)"])
        }
    }

    /// metav1.MicroTime: RFC 3339 with exactly six fractional digits.
    static func microTime(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let micros = Int((date.timeIntervalSince1970 - seconds) * 1_000_000)
        let whole = Date(timeIntervalSince1970: seconds).ISO8601Format()   // "2026-11-22T05:00:00Z"
        return String(whole.dropLast()) + String(format: ".%06dZ", micros)
    }
}
