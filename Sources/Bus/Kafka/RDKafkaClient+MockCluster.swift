import CRdKafka
import Logging

extension RDKafkaClient {
    /// Creates librdkafka's in-process mock cluster, hosted by a bare producer handle.
    static func makeMockCluster(brokers: Int, logger: Logger) throws -> RDKafkaClient {
        try RDKafkaClient(kind: .mockCluster(brokers: brokers), settings: [:], logger: logger)
    }

    private func withMockCluster<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        try self.nonBlocking { _ in
            guard let mockCluster = self.mockCluster else {
                throw KafkaError(code: .mockCluster, message: "not a mock cluster host")
            }
            return try body(mockCluster)
        }
    }

    private static func check(_ result: rd_kafka_resp_err_t, _ what: String) throws {
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw Self.error(.mockCluster, result, "\(what): \(String(cString: rd_kafka_err2str(result)))")
        }
    }

    func mockBootstrapServers() throws -> String {
        try self.withMockCluster { String(cString: rd_kafka_mock_cluster_bootstraps($0)) }
    }

    func mockCreateTopic(_ name: String, partitions: Int32, replicationFactor: Int32) throws {
        try self.withMockCluster { cluster in
            try Self.check(
                rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor),
                "creating topic \(name)"
            )
        }
    }

    func mockSetBroker(_ id: Int32, up: Bool) throws {
        try self.withMockCluster { cluster in
            let result = up ? rd_kafka_mock_broker_set_up(cluster, id) : rd_kafka_mock_broker_set_down(cluster, id)
            try Self.check(result, "setting broker \(id) \(up ? "up" : "down")")
        }
    }

    func mockSetBrokerRoundTripTime(_ id: Int32, milliseconds: Int32) throws {
        try self.withMockCluster { cluster in
            try Self.check(rd_kafka_mock_broker_set_rtt(cluster, id, milliseconds), "setting broker \(id) RTT")
        }
    }

    func mockPushRequestErrors(apiKey: Int16, errors: [Int32]) throws {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        try self.withMockCluster { cluster in
            codes.withUnsafeBufferPointer { codes in
                rd_kafka_mock_push_request_errors_array(cluster, apiKey, codes.count, codes.baseAddress)
            }
        }
    }

    func mockClearRequestErrors(apiKey: Int16) throws {
        try self.withMockCluster { cluster in
            rd_kafka_mock_clear_request_errors(cluster, apiKey)
        }
    }
}
