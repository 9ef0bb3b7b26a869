import Testing

@testable import Bus

@Suite("KafkaConfiguration")
struct KafkaConfigurationTests {
    @Test("parses key=value lines, keeping '=' in values and skipping blanks and comments")
    func parseSettings() throws {
        let settings = try KafkaConfiguration.parseSettings([
            "security.protocol = SASL_SSL",
            "",
            "# a comment",
            "sasl.jaas.config=org.example.Login required user=\"a\";",
        ])
        #expect(
            settings == [
                "security.protocol": "SASL_SSL",
                "sasl.jaas.config": "org.example.Login required user=\"a\";",
            ]
        )
    }

    @Test("rejects a line without '=' or with an empty key", arguments: ["acks", "=1"])
    func parseRejects(line: String) {
        let error = #expect(throws: KafkaError.self) { try KafkaConfiguration.parseSettings([line]) }
        #expect(error?.code == .invalidConfiguration)
    }

    @Test("extra settings tune the clients but cannot switch off what the bus relies on")
    func precedence() {
        let configuration = KafkaConfiguration(
            bootstrapServers: "b:9092",
            topic: "events",
            clientID: "relay",
            extra: [
                "enable.idempotence": "false", "acks": "1", "linger.ms": "20",
                "enable.auto.commit": "true", "group.id": "other", "auto.offset.reset": "latest",
            ]
        )
        let producer = configuration.producerSettings()
        #expect(producer["enable.idempotence"] == "true")
        #expect(producer["acks"] == "all")
        #expect(producer["linger.ms"] == "20")
        #expect(producer["bootstrap.servers"] == "b:9092")
        #expect(producer["client.id"] == "relay")

        let consumer = configuration.consumerSettings(groupID: "projectors")
        #expect(consumer["group.id"] == "projectors")
        #expect(consumer["enable.auto.commit"] == "false")
        #expect(consumer["auto.offset.reset"] == "latest")
    }
}
