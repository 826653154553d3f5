@testable import ParleyKafka
import ParleyRelay
import Testing

/// The relay's lifecycle, rebuild and health transitions, without librdkafka (clients are plain objects).
@Suite struct RelayStateMachineTests {
    final class FakeProducer {}
    final class FakeConsumer {}
    typealias Machine = RelayStateMachine<FakeProducer, FakeConsumer>

    static let backoff = RebuildBackoff(initial: .milliseconds(250), maximum: .seconds(2))

    /// A machine running generation 1 with an assigned consumer and an answering broker.
    func running(now: ContinuousClock.Instant = .now) -> (Machine, FakeProducer, FakeConsumer) {
        var machine = Machine(backoff: Self.backoff, consumerStuckAfter: .seconds(10))
        let producer = FakeProducer()
        let consumer = FakeConsumer()
        let generation = machine.beginStart()
        #expect(generation == 1)
        machine.consumerAssignment(generation: 1, assigned: true, now: now)
        let didStart = machine.started(producer: producer, consumer: consumer)
        #expect(didStart)
        _ = machine.brokerProbed(problem: nil, now: now)
        return (machine, producer, consumer)
    }

    @Test func backoffDoublesFromTheInitialDelayUpToTheMaximum() {
        let delays = (0..<6).map { Self.backoff.delay(attempt: $0) }
        #expect(delays == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(2), .seconds(2)])
        #expect(Self.backoff.delay(attempt: 10_000) == .seconds(2))
    }

    @Test func startRunsOnceAndPublishesGoToTheProducer() throws {
        var (machine, producer, _) = running()
        #expect(machine.state == .running)
        #expect(try machine.publishTarget().get() === producer)
        let generation = machine.beginStart()
        #expect(generation == nil, "a second start is refused")
    }

    @Test func publishesBeforeStartOrAfterShutdownFailAsNotRunning() {
        var machine = Machine(backoff: Self.backoff, consumerStuckAfter: .seconds(10))
        #expect(machine.state == .created)
        #expect(throws: ChatRelayError.notRunning) { try machine.publishTarget().get() }
        _ = machine.beginStart()
        #expect(machine.state == .starting)
        #expect(throws: ChatRelayError.notRunning) { try machine.publishTarget().get() }
        machine.startFailed()
        #expect(machine.state == .stopped)
    }

    @Test func shutdownDuringStartRefusesTheClients() {
        var machine = Machine(backoff: Self.backoff, consumerStuckAfter: .seconds(10))
        _ = machine.beginStart()
        let clients = machine.shutdown()
        #expect(clients.producer == nil && clients.consumer == nil)
        let didStart = machine.started(producer: FakeProducer(), consumer: FakeConsumer())
        #expect(!didStart)
        #expect(machine.state == .stopped)
    }

    @Test func aFailedProducerIsRebuiltOnceAndPublishesFailFastMeanwhile() throws {
        var (machine, producer, _) = running()
        let failure = machine.producerFailed(generation: 1, reason: "fenced")
        let plan = try #require(failure)
        #expect(plan.old === producer && plan.generation == 2 && plan.delay == .milliseconds(250))
        #expect(machine.state == .rebuilding(reason: "Kafka producer is being recreated (fenced)"))
        #expect(throws: ChatRelayError.rebuilding) { try machine.publishTarget().get() }
        // The failed producer keeps reporting (every fenced delivery report): no second rebuild.
        let failure2 = machine.producerFailed(generation: 1, reason: "fenced again")
        #expect(failure2 == nil)
        #expect(machine.isRebuilding(.producer, generation: 2))

        let replacement = FakeProducer()
        let installed = machine.rebuilt(producer: replacement, generation: 2)
        #expect(installed)
        #expect(machine.state == .running)
        #expect(try machine.publishTarget().get() === replacement)
        #expect(!machine.isRebuilding(.producer, generation: 2))
    }

    @Test func consecutiveFailuresBackOffUntilAClientWorks() throws {
        var (machine, _, _) = running()
        var generation = 1
        var delays: [Duration] = []
        for _ in 0..<4 {
            let failure = machine.producerFailed(generation: generation, reason: "fatal")
            let plan = try #require(failure)
            delays.append(plan.delay)
            generation = plan.generation
            let installed = machine.rebuilt(producer: FakeProducer(), generation: generation)
            #expect(installed)
        }
        #expect(delays == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2)])
        // An acknowledgement from an older producer changes nothing; one from the current producer resets.
        machine.producerWorked(generation: generation - 1)
        let failure2 = machine.producerFailed(generation: generation, reason: "fatal")
        #expect(failure2?.delay == .seconds(2))
        generation += 1
        let installed2 = machine.rebuilt(producer: FakeProducer(), generation: generation)
        #expect(installed2)
        machine.producerWorked(generation: generation)
        let failure3 = machine.producerFailed(generation: generation, reason: "fatal")
        #expect(failure3?.delay == .milliseconds(250))
    }

    @Test func aFailedCreationRetriesWithTheNextDelay() throws {
        var (machine, _, _) = running()
        let failure = machine.producerFailed(generation: 1, reason: "fatal")
        let plan = try #require(failure)
        let retry = machine.rebuildAttemptFailed(.producer, generation: plan.generation)
        #expect(retry == .milliseconds(500))
        let retry2 = machine.rebuildAttemptFailed(.producer, generation: plan.generation)
        #expect(retry2 == .seconds(1))
        let retry3 = machine.rebuildAttemptFailed(.producer, generation: 99)
        #expect(retry3 == nil, "not the rebuild in progress")
    }

    @Test func shutdownDuringARebuildDiscardsTheNewClient() throws {
        var (machine, _, consumer) = running()
        let failure = machine.producerFailed(generation: 1, reason: "fatal")
        let plan = try #require(failure)
        let clients = machine.shutdown()
        #expect(clients.producer == nil && clients.consumer === consumer, "the failed producer is the rebuild's to close")
        #expect(!machine.isRebuilding(.producer, generation: plan.generation))
        let installed = machine.rebuilt(producer: FakeProducer(), generation: plan.generation)
        #expect(!installed)
        let retry = machine.rebuildAttemptFailed(.producer, generation: plan.generation)
        #expect(retry == nil)
        #expect(machine.state == .stopped)
    }

    @Test func aFailedConsumerIsRebuiltAndReadyOnlyOnceAssigned() throws {
        let start = ContinuousClock.now
        var (machine, producer, consumer) = running(now: start)
        let failure = machine.consumerFailed(generation: 1, reason: "fatal")
        let plan = try #require(failure)
        #expect(plan.old === consumer && plan.generation == 2)
        #expect(machine.state == .rebuilding(reason: "Kafka consumer is being recreated (fatal)"))
        // Publishing goes on while the consumer is rebuilt.
        #expect(try machine.publishTarget().get() === producer)
        let installed = machine.rebuilt(consumer: FakeConsumer(), generation: 2, now: start)
        #expect(installed)
        #expect(machine.state == .degraded(reason: "Kafka consumer has no partitions assigned (joining its group)"))
        // The old consumer's last "no partitions" is stale.
        machine.consumerAssignment(generation: 1, assigned: true, now: start)
        #expect(machine.state != .running)
        machine.consumerAssignment(generation: 2, assigned: true, now: start)
        #expect(machine.state == .running)
    }

    @Test func aBrokerThatDoesNotAnswerDegradesTheRelayUntilItAnswersAgain() {
        let start = ContinuousClock.now
        var (machine, _, _) = running(now: start)
        let probe = machine.brokerProbed(problem: "Kafka broker not answering", now: start)
        #expect(probe == nil)
        #expect(machine.state == .degraded(reason: "Kafka broker not answering"))
        // Degraded is not rebuilding: publishes still go to the producer and wait for the broker.
        #expect((try? machine.publishTarget().get()) != nil)
        let probe2 = machine.brokerProbed(problem: nil, now: start + .seconds(1))
        #expect(probe2 == nil)
        #expect(machine.state == .running)
    }

    @Test func rebuildingOutranksABrokerProblemWhichOutranksAMissingAssignment() throws {
        let start = ContinuousClock.now
        var (machine, _, _) = running(now: start)
        machine.consumerAssignment(generation: 1, assigned: false, now: start)
        #expect(machine.state == .degraded(reason: "Kafka consumer has no partitions assigned (joining its group)"))
        _ = machine.brokerProbed(problem: "broker down", now: start)
        #expect(machine.state == .degraded(reason: "broker down"))
        let failure = machine.producerFailed(generation: 1, reason: "fatal")
        _ = try #require(failure)
        #expect(machine.state.name == "rebuilding")
    }

    @Test func aConsumerWithoutPartitionsWhileTheBrokerAnswersIsRebuiltAfterTheStuckTimeout() throws {
        let start = ContinuousClock.now
        var (machine, _, consumer) = running(now: start)
        // Partitions lost while the broker was frozen: the clock starts only once the broker answers again.
        _ = machine.brokerProbed(problem: "broker down", now: start)
        machine.consumerAssignment(generation: 1, assigned: false, now: start)
        let probe = machine.brokerProbed(problem: "broker down", now: start + .seconds(60))
        #expect(probe == nil)
        let probe2 = machine.brokerProbed(problem: nil, now: start + .seconds(61))
        #expect(probe2 == nil)
        let probe3 = machine.brokerProbed(problem: nil, now: start + .seconds(70))
        #expect(probe3 == nil)
        let probe4 = machine.brokerProbed(problem: nil, now: start + .seconds(71))
        let plan = try #require(probe4)
        #expect(plan.old === consumer && plan.generation == 2)
        #expect(plan.reason.contains("no partitions"))
        // A consumer that got its partitions back in time is left alone.
        var (healthy, _, _) = running(now: start)
        healthy.consumerAssignment(generation: 1, assigned: false, now: start)
        _ = healthy.brokerProbed(problem: nil, now: start + .seconds(5))
        healthy.consumerAssignment(generation: 1, assigned: true, now: start + .seconds(6))
        let probe5 = healthy.brokerProbed(problem: nil, now: start + .seconds(30))
        #expect(probe5 == nil)
    }
}
