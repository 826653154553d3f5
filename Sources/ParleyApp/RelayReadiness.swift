import Metrics
import ParleyAccounts
import ParleyKafka
import ParleyRelay

extension ReadinessCheck {
    /// `relay`: the chat relay can relay now (``ParleyRelay/ChatRelay/health``; the in-process relay always can).
    static func relay(_ relay: any ChatRelay) -> ReadinessCheck {
        ReadinessCheck(name: "relay") {
            switch relay.health {
            case .ready: nil
            case .notReady(let reason): reason
            }
        }
    }
}

/// The relay's state as Prometheus gauges, set at each scrape of `/metrics`:
/// `parley_relay_up` (1 when ready, else 0) and `parley_relay_state{state="…"}` (1 for the current state of
/// ``ParleyKafka/KafkaRelayState``, 0 for the others; the in-process relay is always `running`).
struct RelayGauges: Sendable {
    private let relay: any ChatRelay
    private let up = Gauge(label: "parley_relay_up")
    private let states: [(name: String, gauge: Gauge)]

    /// Gauges for `relay`; create after ``ServeMetrics/bootstrap()``.
    init(relay: any ChatRelay) {
        self.relay = relay
        states = KafkaRelayState.names.map { ($0, Gauge(label: "parley_relay_state", dimensions: [("state", $0)])) }
    }

    /// Reads the relay's state into the gauges.
    func update() {
        up.record(relay.health.isReady ? 1 : 0)
        let current = (relay as? KafkaRelay)?.state.name ?? KafkaRelayState.running.name
        for (name, gauge) in states { gauge.record(name == current ? 1 : 0) }
    }
}
